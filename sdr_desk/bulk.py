"""A big, realistic data set made set-based on PostgreSQL (``manage.py seed_bulk``), for reports and benches.

A million leads cannot go through the services one by one (``seed_demo`` does that for 300), so this
writes the rows the services would have left, with ``INSERT ... SELECT`` over ``generate_series``,
in one transaction. Every random choice is a hash of (``--seed``, row id, a salt) (``pg_temp.u``), so
the same seed on the same ids gives the same rows and nothing depends on the order rows are made in.

What each lead gets, and the rules it follows (the services' own):

- an account (company email) or none (free mail); a name, title, country, state, time zone;
- 1-4 conversions (``Submission`` processed + ``Activity`` form_submit with its attribution + a
  ``created`` / ``submission`` timeline entry); the first sets ``Lead.source``/campaign/UTM, the last
  ``last_form_type``/``last_asset``/``last_converted_at``. A repeat conversion never raises the lead's
  tier, so the clock that started on arrival is its only clock;
- page views, pricing-page views, webinar attendance and trial milestones (``Activity`` without a
  submission and without a timeline entry: the one shortcut, to keep 10 M rows cheap);
- a ``LeadScore`` (fit and intent from the default rules, without decay; grade; tier; hot);
- a ``LeadAssignment`` routed to its region's team: ``sla_started_at`` = arrival, ``routed_at`` a few
  seconds later (after hours: at the team's next opening, where it waited in the queue), the SLA
  deadline and warning in the team's business hours, escalation to the backup rep (level 1) and the
  manager queue (level 2), claims in claim-mode teams, ``first_touch_at`` and the response times;
- 2-6 ``Touch`` rows when touched (the first ``is_first`` at ``first_touch_at``), a connect on some calls;
- a ``Disposition`` for most worked leads, checklist ``Answer`` rows for qualified ones, a ``Handoff``
  for most qualified ones with the AE's verdict and the meeting; a rejected handoff returns the lead;
- some ``Enrollment`` rows with their ``StepRun`` rows (active, completed, stopped).

Business time is the desk's own: the open ranges of each team's calendar come from
``sdr_desk.routing.business_hours`` (holidays included) and are loaded into a table with the open
seconds before each range, so "business seconds between" and "add business seconds" are index
lookups in SQL that give what ``business_seconds_between`` and ``add_business_seconds`` give.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from sdr_desk.bulk_setup import SOURCES, US_WEST_STATES, Setup, desk_setup
from sdr_desk.routing.business_hours import _ranges
from sdr_desk.routing.clock import team_calendar

# --- shapes ---------------------------------------------------------------------------------------

# First conversions, as inbound teams report them; "" is a trade-show list import (no form: tier none).
FIRST_FORM_TYPES = (("demo_request", 14), ("pricing", 9), ("trial_signup", 10), ("contact", 5),
                    ("content_download", 34), ("webinar", 15), ("newsletter", 8), ("", 5))
# Repeat conversions, by the first one's tier: never a higher tier than the first.
REPEAT_FORM_TYPES = {
    "hand_raiser": (("demo_request", 25), ("pricing", 20), ("trial_signup", 10), ("content_download", 25),
                    ("webinar", 15), ("contact", 5)),
    "researcher": (("content_download", 55), ("webinar", 35), ("newsletter", 10)),
    "light": (("newsletter", 1),),
}
TIER_OF = {"demo_request": "hand_raiser", "pricing": "hand_raiser", "trial_signup": "hand_raiser",
           "contact": "hand_raiser", "content_download": "researcher", "webinar": "researcher",
           "newsletter": "light", "": "none"}
INTENT_POINTS = {"demo_request": 40, "pricing": 35, "trial_signup": 30, "contact": 30, "content_download": 10,
                 "webinar": 8, "newsletter": 3, "": 0}
SIGNAL_LABEL = {"demo_request": "Demo request", "pricing": "Pricing request", "trial_signup": "Trial signup",
                "contact": "Contact request", "content_download": "Content download",
                "webinar": "Webinar registration", "newsletter": "Newsletter signup"}
FORM_LABEL = {"demo_request": "Demo request", "pricing": "Pricing request", "trial_signup": "Trial signup",
              "contact": "Contact us", "content_download": "Content download", "webinar": "Webinar registration",
              "newsletter": "Newsletter signup", "": "a list import"}
ASSETS = {
    "demo_request": ("Product demo",),
    "pricing": ("Pricing: Growth plan", "Pricing: Enterprise plan"),
    "trial_signup": ("14-day free trial",),
    "contact": ("",),
    "content_download": ("State of RevOps 2026", "The Speed-to-Lead Playbook", "Inbound Qualification Checklist",
                         "SDR Compensation Benchmark 2026", "Lead Routing 101"),
    "webinar": ("Webinar: Building a 5-minute speed-to-lead motion",
                "Webinar: Routing inbound leads without round-robin chaos",
                "Webinar: RevOps roundtable on pipeline quality"),
    "newsletter": ("The Inbound Weekly",),
    "": ("RevOps Summit 2026 booth",),
}
FORM_PAGES = {"demo_request": "/demo", "pricing": "/pricing", "trial_signup": "/signup", "contact": "/contact",
              "content_download": "/resources", "webinar": "/webinars", "newsletter": "/blog", "": ""}


@dataclass(frozen=True)
class Attribution:
    source: str
    weight: int
    form_types: tuple[str, ...]
    utm_source: str = ""
    utm_medium: str = ""
    campaigns: tuple[str, ...] = ("",)
    terms: tuple[str, ...] = ("",)
    referrer: str = ""


WEB = ("demo_request", "pricing", "trial_signup", "contact", "content_download", "webinar", "newsletter")
ATTRIBUTIONS = (
    Attribution("Website", 14, WEB, referrer="https://www.google.com/"),  # organic search
    Attribution("Website", 10, WEB),  # direct
    Attribution("Website", 8, ("content_download", "webinar", "demo_request", "newsletter"), "newsletter", "email",
                ("inbound-weekly-118", "inbound-weekly-119", "inbound-weekly-120")),
    Attribution("Google Ads", 20, ("demo_request", "pricing", "trial_signup", "content_download"), "google", "cpc",
                ("lead-routing-search", "speed-to-lead-brand", "competitor-alternatives"),
                ("lead routing software", "speed to lead", "inbound sdr tool"), "https://www.google.com/"),
    Attribution("LinkedIn Ads", 14, ("content_download", "webinar", "demo_request"), "linkedin", "paid-social",
                ("revops-ebook-q2", "webinar-promo", "demo-retargeting"), referrer="https://www.linkedin.com/"),
    Attribution("Live chat", 5, ("contact", "demo_request", "pricing"), "website", "chat", ("chat-pricing-page",)),
    Attribution("Free trial", 12, ("trial_signup",), "product", "signup", ("trial-2026",)),
    Attribution("G2 Reviews", 8, ("demo_request", "pricing", "content_download", "contact"), "g2", "referral",
                ("g2-category-lead-routing", "g2-compare"), referrer="https://www.g2.com/categories/lead-routing"),
    Attribution("Capterra", 5, ("demo_request", "pricing", "content_download"), "capterra", "referral",
                ("capterra-lead-management",), referrer="https://www.capterra.com/"),
    Attribution("Partner: Northwind", 5, ("demo_request", "contact", "trial_signup"), "northwind", "partner",
                ("northwind-referral-program",)),
    Attribution("Customer referral", 4, ("demo_request", "contact"), "referral", "word-of-mouth",
                ("customer-referral-2026",)),
    Attribution("Webinar platform", 30, ("webinar",), "webinar-platform", "event",
                ("speed-to-lead-live", "revops-roundtable")),
    Attribution("Trade show import", 1, ("",), "revops-summit", "event", ("RevOps Summit 2026 booth",)),
)

# Regions: 1 Americas, 2 EMEA, 3 APAC; the zone whose clock their buyers keep, for the arrival pattern.
REGION_ZONES = {1: "America/Chicago", 2: "Europe/Berlin", 3: "Australia/Sydney"}
REGION_SHARE = (0.55, 0.90)  # cumulative: Americas, EMEA, then APAC
COUNTRIES = {
    1: ["US"] * 14 + ["CA"] * 3 + ["MX", "BR"],
    2: ["GB"] * 5 + ["DE"] * 3 + ["FR", "FR", "NL", "NL", "IE", "SE", "ES", "IT", "AT", "CH", "PL", "DK", "ZA", "AE"],
    3: ["AU", "AU", "AU", "SG", "SG", "IN", "IN", "IN", "JP", "NZ"],
}
US_EAST_STATES = ("NY", "MA", "FL", "GA", "NC", "IL", "TX", "PA", "VA", "NJ", "OH")
ZONE_OF_COUNTRY = {"US": "America/New_York", "CA": "America/Toronto", "MX": "America/Mexico_City",
                   "BR": "America/Sao_Paulo", "GB": "Europe/London", "DE": "Europe/Berlin", "FR": "Europe/Paris",
                   "NL": "Europe/Amsterdam", "IE": "Europe/Dublin", "SE": "Europe/Stockholm", "ES": "Europe/Madrid",
                   "IT": "Europe/Rome", "AT": "Europe/Vienna", "CH": "Europe/Zurich", "PL": "Europe/Warsaw",
                   "DK": "Europe/Copenhagen", "ZA": "Africa/Johannesburg", "AE": "Asia/Dubai",
                   "AU": "Australia/Sydney", "SG": "Asia/Singapore", "IN": "Asia/Kolkata", "JP": "Asia/Tokyo",
                   "NZ": "Pacific/Auckland"}
WEST_ZONE = "America/Los_Angeles"
TLD_OF_COUNTRY = {"GB": "co.uk", "DE": "de", "FR": "fr", "NL": "nl", "AU": "com.au", "IN": "in", "SG": "com.sg",
                  "CA": "ca", "IE": "ie", "CH": "ch", "AT": "at", "SE": "se", "JP": "jp", "NZ": "co.nz"}
INDUSTRIES = ("Software", "Software", "SaaS", "SaaS", "Fintech", "Financial Services", "E-commerce", "Marketing",
              "Healthcare", "Manufacturing", "Logistics", "Education", "Insurance", "Retail",
              "Professional Services", "Telecommunications", "Real Estate")
TARGET_INDUSTRIES = ("Software", "SaaS", "Fintech", "Financial Services", "Marketing", "E-commerce")
SERVED = ("US", "CA", "GB", "IE", "DE", "AT", "CH", "BE", "NL", "LU", "SE", "NO", "DK", "FI", "IS", "FR", "AU", "NZ")
WORDS_A = ("Bright", "Blue", "North", "Silver", "Cedar", "Harbor", "Summit", "Quanta", "Iron", "Maple", "Copper",
           "Granite", "Lumen", "Nova", "Pine", "River", "Stone", "Swift", "Tide", "Vertex", "Orbit", "Kestrel",
           "Ledger", "Pinnacle", "Cobalt", "Meridian", "Alder", "Falcon", "Juniper", "Oak")
WORDS_B = ("wave", "loop", "line", "peak", "field", "stack", "forge", "works", "labs", "path", "bridge", "point",
           "grid", "scale", "logic", "crest", "gate", "ridge", "view", "yard")
WORDS_C = ("Analytics", "Software", "Systems", "Health", "Logistics", "Capital", "Media", "Group", "Cloud",
           "Robotics", "Payments", "Consulting", "Commerce", "Security", "Insurance", "Learning")
FREE_MAIL = ("gmail.com", "gmail.com", "gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com",
             "proton.me", "gmx.de", "web.de")
FIRST_NAMES = ("Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Sophia", "Lucas", "Mia", "Mason", "Priya",
               "Arjun", "Ananya", "Rohan", "Wei", "Mei", "Hiroshi", "Yuki", "Fatima", "Omar", "Leila", "Carlos",
               "Sofia", "Mateo", "Valentina", "Lukas", "Hannah", "Jonas", "Lea", "Felix", "Chloe", "Louis",
               "Camille", "Hugo", "Sven", "Ingrid", "Niamh", "Conor", "Aoife", "Tom", "Charlotte", "Harry",
               "Amelia", "Jack", "Isla", "Grace", "Daniel", "Rachel", "Marcus", "Jasmine", "Tyler", "Brianna",
               "Kevin", "Laura", "Ben", "Zoe", "Diego", "Elena", "Ravi", "Nadia", "Sam", "Alex")
LAST_NAMES = ("Smith", "Johnson", "Williams", "Brown", "Garcia", "Martinez", "Nguyen", "Patel", "Sharma", "Iyer",
              "Chen", "Wang", "Kim", "Tanaka", "Sato", "Mueller", "Schmidt", "Schneider", "Fischer", "Weber",
              "Dubois", "Moreau", "Laurent", "de Vries", "van Dijk", "Jansen", "Bakker", "OBrien", "Murphy",
              "Kelly", "Walsh", "Taylor", "Davies", "Evans", "Thompson", "Wright", "Robinson", "Hughes", "Clarke",
              "Andersson", "Johansson", "Rossi", "Silva", "Costa", "Okafor", "Adeyemi", "Mensah", "Cohen",
              "Kowalski", "Novak", "MacDonald", "Campbell", "Singh", "Reddy", "Khan", "Lindqvist", "Ferreira")
# (title, senior buyer, revenue role, student or job seeker), as the default fit rules read titles.
TITLES = (("VP of Sales", True, True, False), ("Head of Revenue Operations", True, True, False),
          ("Director of Demand Generation", True, True, False), ("Chief Revenue Officer", True, True, False),
          ("Founder", True, False, False), ("CEO", True, False, False), ("Head of Growth", True, True, False),
          ("Sales Development Manager", False, True, False), ("RevOps Analyst", False, True, False),
          ("Marketing Manager", False, True, False), ("Growth Marketer", False, True, False),
          ("Account Executive", False, True, False), ("Sales Operations Specialist", False, True, False),
          ("Sales Operations Specialist", False, True, False), ("Marketing Manager", False, True, False),
          ("Software Engineer", False, False, False), ("IT Manager", False, False, False),
          ("Operations Manager", False, False, False), ("Consultant", False, False, False),
          ("Student", False, False, True), ("", False, False, False))
PAGES = (("/", "Inbound SDR desk: answer every lead in minutes"), ("/product/routing", "Lead routing"),
         ("/product/live-board", "The live board"), ("/product/sequences", "Sequences"),
         ("/customers", "Customer stories"), ("/integrations/salesforce", "Salesforce integration"),
         ("/integrations/hubspot", "HubSpot integration"), ("/blog/speed-to-lead-benchmarks",
                                                            "Speed-to-lead benchmarks 2026"),
         ("/blog/inbound-qualification-checklist", "The inbound qualification checklist"),
         ("/blog/sdr-handoff-to-ae", "A clean SDR-to-AE handoff"), ("/security", "Security and compliance"),
         ("/docs/api", "API reference"))
TRIAL_MILESTONES = ("Workspace created", "Invited a teammate", "Connected Salesforce", "Connected HubSpot",
                    "Routed first 10 leads", "Built a first sequence", "Active on trial day 7")
# Arrivals: weekday and local hour weights (buyers' own clock), and 50% growth over the period.
WEEKDAY_WEIGHT = (1.0, 1.05, 1.0, 0.95, 0.8, 0.18, 0.14)
HOUR_WEIGHT = (0.06, 0.04, 0.03, 0.03, 0.04, 0.08, 0.15, 0.35, 0.7, 1.0, 1.0, 1.0, 0.8, 0.95, 1.0, 0.95, 0.85, 0.6,
               0.4, 0.3, 0.28, 0.25, 0.15, 0.1)
GROWTH = 0.5

# Response: per tier, the share of each bucket (under 5 min, 5-30, 30-60, 1-24 h, over 24 h) and never, in
# business time from routing; bounds of each bucket in seconds (log-uniform inside it).
RESPONSE_BUCKETS = {
    "hand_raiser": (0.40, 0.25, 0.10, 0.13, 0.05),  # 7% never
    "researcher": (0.10, 0.15, 0.10, 0.40, 0.15),  # 10% never
    "light": (0.03, 0.07, 0.05, 0.30, 0.30),  # 25% never
    "none": (0.02, 0.05, 0.05, 0.28, 0.30),  # 30% never
}
BUCKET_BOUNDS = ((20, 300), (300, 1800), (1800, 3600), (3600, 86400), (86400, 10 * 86400))
CONNECT_BY_BUCKET = (0.55, 0.35, 0.25, 0.18, 0.10)
QUALIFY_BY_TIER = {"hand_raiser": 0.45, "researcher": 0.25, "light": 0.10, "none": 0.10}
QUALIFY_BY_BUCKET = (1.0, 0.6, 0.45, 0.35, 0.25)

CODES_CONNECTED = (("nurture", 40), ("bad-fit", 40), ("no-response", 5), ("duplicate", 5), ("spam", 2))
CODES_NOT_CONNECTED = (("no-response", 60), ("bad-fit", 15), ("nurture", 15), ("spam", 5), ("duplicate", 5))
CODE_SLUGS = {"nurture": "not-ready-nurture", "bad-fit": "bad-fit", "no-response": "no-response",
              "duplicate": "duplicate", "spam": "spam-or-invalid", "meeting-set": "qualified-meeting-set",
              "handed": "qualified-handed-to-ae"}
CHECKLIST_ANSWERS = {
    "role": "Runs RevOps; decides on tooling with the VP Sales.",
    "pain": "Inbound leads wait hours for a first touch; demo requests go cold.",
    "timeline": "Evaluating this quarter; wants a decision before the next planning cycle.",
}


def _pick_sql(u: str, weights: Sequence[tuple[str, float]]) -> str:
    """A CASE picking a value by weight with the uniform ``u``; the values are this module's constants."""
    if len(weights) == 1:
        return _lit(weights[0][0])
    total = sum(weight for _, weight in weights)
    parts, running = [], 0.0
    for value, weight in weights[:-1]:
        running += weight / total
        parts.append(f"WHEN {u} < {running!r} THEN {_lit(value)}")
    return f"(CASE {' '.join(parts)} ELSE {_lit(weights[-1][0])} END)"


def _lit(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _arr(values: Sequence[object], kind: str = "text") -> str:
    return f"ARRAY[{', '.join(_lit(v) for v in values)}]::{kind}[]"


def _nth(values: Sequence[object], u: str, kind: str = "text") -> str:
    """The element of a constant array picked by the uniform ``u``."""
    return f"({_arr(values, kind)})[1 + floor({u} * {len(values)})::int]"


# --- the run ------------------------------------------------------------------------------------------


@dataclass
class Result:
    leads: int
    seconds: float
    stages: list[tuple[str, float]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class BulkRefused(Exception):
    pass


def bulk_seed(*, leads: int, days: int = 365, seed: int = 1, now: datetime | None = None,
              log: Callable[[str], None] = lambda line: None) -> Result:
    """Add ``leads`` leads over the last ``days`` days, with everything the desk would have done with them."""
    if connection.vendor != "postgresql":
        raise BulkRefused(f"seed_bulk writes with PostgreSQL's SQL (generate_series, hash functions); this "
                          f"database is {connection.vendor}. Point DATABASE_URL at PostgreSQL.")
    if leads < 1:
        raise BulkRefused("--leads must be at least 1.")
    if days < 7:
        raise BulkRefused("--days must be at least 7.")
    now = (now or timezone.now()).astimezone(UTC).replace(microsecond=0)
    start = now - timedelta(days=days)
    run = _Run(leads=leads, days=days, seed=seed, now=now, start=start, log=log)
    with transaction.atomic():
        run.go()
    return run.result


class _Run:
    def __init__(self, *, leads: int, days: int, seed: int, now: datetime, start: datetime,
                 log: Callable[[str], None]) -> None:
        self.n, self.days, self.seed, self.now, self.start, self.log = leads, days, seed, now, start, log
        self.result = Result(leads=leads, seconds=0.0)
        self.began = time.monotonic()
        self.setup: Setup | None = None
        self.params: dict[str, Any] = {"now": now, "start": start}

    # helpers

    def sql(self, label: str, statement: str, params: dict[str, Any] | None = None) -> int:
        began = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(statement, {**self.params, **(params or {})} if "%(" in statement else None)
            rows = cursor.rowcount
        took = time.monotonic() - began
        self.result.stages.append((label, took))
        self.log(f"  {label}: {rows if rows >= 0 else ''} rows in {took:.1f}s")
        return rows

    def value(self, statement: str) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchone()[0]

    def copy(self, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join("\\N" if v is None else (v.isoformat() if isinstance(v, datetime) else str(v))
                                   for v in row) + "\n")
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            copy.write(buffer.getvalue())

    def base(self, table: str) -> int:
        """The highest id in use or handed out by the table's sequence: new ids start above it."""
        sequence = self.value(f"SELECT pg_get_serial_sequence('{table}', 'id')")
        last, called = 0, False
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
            last, called = cursor.fetchone()
        highest = self.value(f"SELECT coalesce(max(id), 0) FROM {table}")
        return max(highest, last if called else last - 1)

    def go(self) -> None:
        self.log(f"seed_bulk: {self.n:,} leads over {self.days} days (seed {self.seed})")
        tables = ("inbound_account", "inbound_lead", "inbound_submission", "inbound_activity",
                  "inbound_timelineentry", "sdr_desk_touch", "sdr_desk_leadassignment",
                  "dispositions_disposition", "handoff_handoff", "sequences_enrollment", "sequences_steprun",
                  "qualification_answer", "scoring_leadscore")
        # Nobody else writes these tables meanwhile, so the id blocks taken below stay ours.
        self.sql("lock", f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE")
        self.setup = desk_setup(first_year=self.start.year, last_year=self.now.year + 1)
        self.result.stages.append(("setup", 0.0))
        self._lookups()
        self._accounts_and_leads()
        self._intake()
        self._score()
        self._route()
        self._touches()
        self._outcomes()
        self._sequences()
        self._finish()
        self.result.seconds = time.monotonic() - self.began

    # --- lookups ---------------------------------------------------------------------------------

    def _lookups(self) -> None:
        setup = self.setup
        assert setup is not None
        seed = int(self.seed)
        statements = [
            "DROP TABLE IF EXISTS bulk_hours, bulk_slot, bulk_attr, bulk_acct, bulk_lead, bulk_conv, bulk_asg, "
            "bulk_touch, bulk_out, bulk_out2, bulk_handoff, bulk_enrol, bulk_team, bulk_ae",
            "CREATE TEMP TABLE bulk_hours (team_id int, opens timestamptz, closes timestamptz, cum float8, "
            "len float8)",
            "CREATE TEMP TABLE bulk_slot (region int, cum_hi float8, hour_start timestamptz)",
            "CREATE TEMP TABLE bulk_attr (form_type text, cum_hi float8, source_id int, utm_source text, "
            "utm_medium text, campaign text, term text, referrer text)",
        ]
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        # The open ranges of every team's calendar, from the desk's own business-hours code.
        rows = []
        span = (self.now - self.start).days + 120
        for row in [*setup.teams.values(), *setup.ae_teams.values()]:
            calendar = team_calendar(row.team)
            cum = 0.0
            for opens, closes in _ranges(calendar, self.start - timedelta(days=3), span):
                length = (closes - opens).total_seconds()
                rows.append((row.team.pk, opens, closes, cum, length))
                cum += length
        self.copy("bulk_hours", "team_id, opens, closes, cum, len", rows)
        # Arrival slots: every hour of the period, weighted in each region's own clock.
        rows = []
        first = self.start.replace(minute=0, second=0) + timedelta(hours=1)
        hours = int((self.now - first).total_seconds() // 3600)
        for region, zone_name in REGION_ZONES.items():
            zone = ZoneInfo(zone_name)
            weights = []
            for h in range(hours):
                moment = first + timedelta(hours=h)
                local = moment.astimezone(zone)
                weights.append(WEEKDAY_WEIGHT[local.weekday()] * HOUR_WEIGHT[local.hour]
                               * (1 + GROWTH * h / hours))
            total, running = sum(weights), 0.0
            for h, weight in enumerate(weights):
                running += weight / total
                rows.append((region, running if h < hours - 1 else 1.0, first + timedelta(hours=h)))
        self.copy("bulk_slot", "region, cum_hi, hour_start", rows)
        # Attribution, per form type: (source, UTM, campaign, term) by weight.
        rows = []
        for form_type in TIER_OF:
            options = []
            for attribution in ATTRIBUTIONS:
                if form_type not in attribution.form_types:
                    continue
                combos = [(c, t) for c in attribution.campaigns for t in attribution.terms]
                for campaign, term in combos:
                    options.append((attribution, campaign, term, attribution.weight / len(combos)))
            total, running = sum(o[3] for o in options), 0.0
            for n, (attribution, campaign, term, weight) in enumerate(options):
                running += weight / total
                rows.append((form_type, running if n < len(options) - 1 else 1.0, setup.sources[attribution.source],
                             attribution.utm_source, attribution.utm_medium, campaign, term, attribution.referrer))
        self.copy("bulk_attr", "form_type, cum_hi, source_id, utm_source, utm_medium, campaign, term, referrer",
                  [tuple("" if v is None else v for v in row) for row in rows])
        statements = [
            "CREATE INDEX ON bulk_hours (team_id, opens)",
            "CREATE INDEX ON bulk_hours (team_id, closes)",
            "CREATE INDEX ON bulk_hours (team_id, cum)",
            "CREATE INDEX ON bulk_slot (region, cum_hi)",
            "CREATE INDEX ON bulk_attr (form_type, cum_hi)",
            "ANALYZE bulk_hours, bulk_slot, bulk_attr",
            # A uniform [0, 1) from (row id, salt), fixed by --seed: inlined by the planner.
            f"CREATE OR REPLACE FUNCTION pg_temp.u(bigint, int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE "
            f"AS $$ SELECT (hashint8extended($1, $2::bigint * 1000003 + {seed}) & 2147483647)::float8 "
            f"/ 2147483648.0 $$",
            # Business seconds from the table's start to the moment: between(a, b) = pos(b) - pos(a).
            "CREATE OR REPLACE FUNCTION pg_temp.pos(int, timestamptz) RETURNS float8 LANGUAGE sql STABLE AS $$ "
            "SELECT coalesce((SELECT h.cum + least(extract(epoch FROM $2 - h.opens)::float8, h.len) "
            "FROM bulk_hours h WHERE h.team_id = $1 AND h.opens <= $2 ORDER BY h.opens DESC LIMIT 1), 0) $$",
            # The moment a business-seconds position is reached; ends exactly at a close answer the close.
            "CREATE OR REPLACE FUNCTION pg_temp.at(int, float8) RETURNS timestamptz LANGUAGE sql STABLE AS $$ "
            "SELECT h.opens + make_interval(secs => $2 - h.cum) FROM bulk_hours h "
            "WHERE h.team_id = $1 AND h.cum + h.len >= $2 ORDER BY h.cum LIMIT 1 $$",
            # The moment itself when open, else the next opening.
            "CREATE OR REPLACE FUNCTION pg_temp.opening(int, timestamptz) RETURNS timestamptz LANGUAGE sql STABLE "
            "AS $$ SELECT greatest(h.opens, $2) FROM bulk_hours h WHERE h.team_id = $1 AND h.closes > $2 "
            "ORDER BY h.closes LIMIT 1 $$",
        ]
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.params.update({
            "team_nae": setup.teams["nae"].team.pk, "team_naw": setup.teams["naw"].team.pk,
            "team_emea": setup.teams["emea"].team.pk, "team_dach": setup.teams["dach"].team.pk,
            "team_apac": setup.teams["apac"].team.pk,
        })

    # --- accounts and leads --------------------------------------------------------------------------

    def _accounts_and_leads(self) -> None:
        n = self.n
        accounts = max(1, n // 3)
        acct0, lead0 = self.base("inbound_account"), self.base("inbound_lead")
        self.params.update({"acct_lo": acct0 + 1, "acct_hi": acct0 + accounts, "accounts": accounts,
                            "lead_lo": lead0 + 1, "lead_hi": lead0 + n})
        country = "CASE r.region " + " ".join(
            f"WHEN {region} THEN {_nth(values, 'pg_temp.u(g, 2)')}" for region, values in COUNTRIES.items()) + " END"
        tld = "CASE c.country " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in TLD_OF_COUNTRY.items()) \
              + " ELSE (CASE WHEN pg_temp.u(g, 7) < 0.3 THEN 'io' ELSE 'com' END) END"
        state = (f"CASE WHEN c.country <> 'US' THEN '' WHEN pg_temp.u(g, 3) < 0.4 THEN "
                 f"{_nth(US_WEST_STATES, 'pg_temp.u(g, 4)')} ELSE {_nth(US_EAST_STATES, 'pg_temp.u(g, 4)')} END")
        self.sql("accounts staged", f"""
            CREATE TEMP TABLE bulk_acct AS
            SELECT g AS id, r.region, c.country, s.state, w.name,
                   lower(replace(w.a || w.b, ' ', '')) || '-' || g || '.' || ({tld}) AS domain,
                   {_nth(INDUSTRIES, 'pg_temp.u(g, 5)')} AS industry,
                   floor(exp(ln(3) + pg_temp.u(g, 6) * ln(30000.0 / 3)))::int AS employee_count
            FROM generate_series(%(acct_lo)s::bigint, %(acct_hi)s::bigint) g
            CROSS JOIN LATERAL (SELECT CASE WHEN pg_temp.u(g, 1) < {REGION_SHARE[0]} THEN 1
                                            WHEN pg_temp.u(g, 1) < {REGION_SHARE[1]} THEN 2 ELSE 3 END AS region) r
            CROSS JOIN LATERAL (SELECT {country} AS country) c
            CROSS JOIN LATERAL (SELECT {state} AS state) s
            CROSS JOIN LATERAL (SELECT {_nth(WORDS_A, 'pg_temp.u(g, 8)')} AS a, {_nth(WORDS_B, 'pg_temp.u(g, 9)')} AS b,
                                       {_nth(WORDS_A, 'pg_temp.u(g, 8)')} || {_nth(WORDS_B, 'pg_temp.u(g, 9)')}
                                       || ' ' || {_nth(WORDS_C, 'pg_temp.u(g, 10)')} AS name) w
        """)
        self.sql("accounts staged index", "ALTER TABLE bulk_acct ADD PRIMARY KEY (id)")
        # Leads: 13% free mail; the others at an account, a few accounts busy (skewed pick).
        own_country = country.replace("pg_temp.u(g, 2)", "pg_temp.u(g, 22)")
        own_state = state.replace("pg_temp.u(g, 3)", "pg_temp.u(g, 23)").replace("pg_temp.u(g, 4)",
                                                                                 "pg_temp.u(g, 24)")
        title = "pg_temp.u(g, 14)"
        team = ("CASE WHEN p.region = 1 AND p.state IN (" + ", ".join(_lit(s) for s in US_WEST_STATES)
                + ") THEN %(team_naw)s WHEN p.region = 1 THEN %(team_nae)s "
                  "WHEN p.country IN ('DE', 'AT', 'CH') THEN %(team_dach)s WHEN p.region = 2 THEN %(team_emea)s "
                  "ELSE %(team_apac)s END")
        zone = ("CASE WHEN p.country = 'US' AND p.state IN (" + ", ".join(_lit(s) for s in US_WEST_STATES)
                + f") THEN {_lit(WEST_ZONE)} ELSE (CASE p.country "
                + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in ZONE_OF_COUNTRY.items()) + " ELSE '' END) END")
        self.sql("leads staged", f"""
            CREATE TEMP TABLE bulk_lead AS
            SELECT g AS id, p.personal, p.account_id, p.region, p.country, p.state, p.company, p.industry,
                   p.employee_count, p.first_name, p.last_name,
                   lower(p.first_name || '.' || replace(p.last_name, ' ', '') || '.' || g || '@' || p.domain) AS email,
                   {_nth([t[0] for t in TITLES], title)} AS job_title,
                   {_nth([t[1] for t in TITLES], title, 'bool')} AS senior,
                   {_nth([t[2] for t in TITLES], title, 'bool')} AS revenue_role,
                   {_nth([t[3] for t in TITLES], title, 'bool')} AS student,
                   ({team}) AS team_id, ({zone}) AS time_zone,
                   s.hour_start + make_interval(secs => floor(pg_temp.u(g, 16) * 3600)) AS arrival
            FROM generate_series(%(lead_lo)s::bigint, %(lead_hi)s::bigint) g
            CROSS JOIN LATERAL (
                SELECT pg_temp.u(g, 11) < 0.13 AS personal,
                       %(acct_lo)s + floor(power(pg_temp.u(g, 12), 1.6) * %(accounts)s)::bigint AS pick) k
            LEFT JOIN bulk_acct a ON NOT k.personal AND a.id = k.pick
            CROSS JOIN LATERAL (SELECT CASE WHEN pg_temp.u(g, 21) < {REGION_SHARE[0]} THEN 1
                                            WHEN pg_temp.u(g, 21) < {REGION_SHARE[1]} THEN 2 ELSE 3 END AS region) r
            CROSS JOIN LATERAL (SELECT {own_country} AS country) c
            CROSS JOIN LATERAL (SELECT {own_state} AS state) s0
            CROSS JOIN LATERAL (
                SELECT k.personal, a.id AS account_id, coalesce(a.region, r.region) AS region,
                       coalesce(a.country, c.country) AS country, coalesce(a.state, s0.state) AS state,
                       coalesce(a.name, '') AS company, coalesce(a.industry, '') AS industry,
                       a.employee_count,
                       coalesce(a.domain, {_nth(FREE_MAIL, 'pg_temp.u(g, 15)')}) AS domain,
                       {_nth(FIRST_NAMES, 'pg_temp.u(g, 13)')} AS first_name,
                       {_nth(LAST_NAMES, 'pg_temp.u(g, 17)')} AS last_name) p
            CROSS JOIN LATERAL (SELECT sl.hour_start FROM bulk_slot sl
                                WHERE sl.region = p.region AND sl.cum_hi > pg_temp.u(g, 18)
                                ORDER BY sl.cum_hi LIMIT 1) s
        """)
        self.sql("leads staged index", "ALTER TABLE bulk_lead ADD PRIMARY KEY (id)")

    # --- intake: conversions, submissions, activities, the lead rows -----------------------------------

    def _intake(self) -> None:
        first = _pick_sql("pg_temp.u(l.id, 30)", FIRST_FORM_TYPES)
        self.sql("conversion plan", f"""
            ALTER TABLE bulk_lead ADD COLUMN ft1 text, ADD COLUMN tier text, ADD COLUMN conversions int,
                ADD COLUMN gap_days float8, ADD COLUMN page_views int, ADD COLUMN pricing_views int,
                ADD COLUMN milestones int, ADD COLUMN attended bool;
            UPDATE bulk_lead l SET ft1 = f.ft, tier = CASE f.ft {' '.join(f"WHEN {_lit(k)} THEN {_lit(v)}"
                                                                           for k, v in TIER_OF.items())} END,
                conversions = CASE WHEN f.ft = '' THEN 1 ELSE
                    least(CASE WHEN pg_temp.u(l.id, 31) < 0.6 THEN 1 WHEN pg_temp.u(l.id, 31) < 0.85 THEN 2
                               WHEN pg_temp.u(l.id, 31) < 0.95 THEN 3 ELSE 4 END,
                          1 + floor(extract(epoch FROM %(now)s - l.arrival) / 86400
                                    / (1 + 20 * pg_temp.u(l.id, 32)))::int) END,
                gap_days = 1 + 20 * pg_temp.u(l.id, 32),
                page_views = CASE WHEN f.ft = '' THEN floor(pg_temp.u(l.id, 33) * 3)::int
                                  ELSE floor(-ln(1 - pg_temp.u(l.id, 33)) * 7.5)::int END,
                pricing_views = CASE WHEN f.ft IN ('demo_request', 'pricing', 'trial_signup', 'contact')
                                     THEN floor(pg_temp.u(l.id, 34) * 3)::int ELSE 0 END,
                milestones = CASE WHEN f.ft = 'trial_signup' THEN floor(pg_temp.u(l.id, 35) * 5)::int ELSE 0 END,
                attended = f.ft = 'webinar' AND pg_temp.u(l.id, 36) < 0.5
            FROM (SELECT id, {first.replace('l.id', 'id')} AS ft FROM bulk_lead) f WHERE f.id = l.id
        """)
        repeat = "CASE l.tier " + " ".join(
            f"WHEN {_lit(tier)} THEN {_pick_sql('pg_temp.u(c.id, 41)', weights)}"
            for tier, weights in REPEAT_FORM_TYPES.items()) + " ELSE '' END"
        assets = "CASE x.form_type " + " ".join(
            f"WHEN {_lit(k)} THEN {_nth(v, 'pg_temp.u(c.id, 42)')}" for k, v in ASSETS.items()) + " END"
        sub0 = self.base("inbound_submission")
        self.params["sub0"] = sub0
        # One row per conversion: its time, form, asset and attribution; id = its submission's id.
        self.sql("conversions staged", f"""
            CREATE TEMP TABLE bulk_conv AS
            SELECT %(sub0)s + row_number() OVER (ORDER BY c.lead_id, c.n) AS id, c.lead_id, c.n, c.at,
                   x.form_type, ({assets}) AS asset, a.source_id, a.utm_source, a.utm_medium, a.campaign, a.term,
                   a.referrer
            FROM (SELECT l.id AS lead_id, g AS n, l.id * 8 + g AS id,
                         l.arrival + make_interval(secs => (g - 1) * l.gap_days * 86400
                                                           + (g > 1)::int * pg_temp.u(l.id * 8 + g, 43) * 3600) AS at
                  FROM bulk_lead l CROSS JOIN LATERAL generate_series(1, l.conversions) g) c
            JOIN bulk_lead l ON l.id = c.lead_id
            CROSS JOIN LATERAL (SELECT CASE WHEN c.n = 1 THEN l.ft1 ELSE {repeat} END AS form_type) x
            CROSS JOIN LATERAL (SELECT * FROM bulk_attr b WHERE b.form_type = x.form_type
                                AND b.cum_hi > pg_temp.u(c.id, 44) ORDER BY b.cum_hi LIMIT 1) a
            WHERE c.at < %(now)s
        """)
        self.sql("conversions staged index", "CREATE INDEX ON bulk_conv (lead_id, n); ANALYZE bulk_conv, bulk_lead")
        self.sql("leads", """
            INSERT INTO inbound_account (id, domain, name, website, industry, employee_count, country, created_at)
            SELECT a.id, a.domain, a.name, 'https://' || a.domain, a.industry, a.employee_count, a.country,
                   coalesce(min(l.arrival), %(now)s)
            FROM bulk_acct a LEFT JOIN bulk_lead l ON l.account_id = a.id
            GROUP BY a.id, a.domain, a.name, a.industry, a.employee_count, a.country;
            INSERT INTO inbound_lead (id, email, first_name, last_name, phone, job_title, company, website,
                employee_count, employee_range, industry, country, state, city, time_zone, consent, custom,
                account_id, is_personal_email, status, source_id, campaign, utm_source, utm_medium, utm_campaign,
                utm_term, utm_content, referrer, landing_page, last_form_type, last_asset, last_converted_at,
                conversion_count, merged_into_id, created_at, updated_at)
            SELECT l.id, l.email, l.first_name, l.last_name,
                   '+1555' || lpad((l.id %% 10000000)::text, 7, '0'), l.job_title, l.company,
                   CASE WHEN l.personal THEN '' ELSE 'https://' || split_part(l.email, '@', 2) END,
                   l.employee_count, '', l.industry, l.country, l.state, '', l.time_zone,
                   CASE WHEN f.form_type = '' THEN NULL ELSE true END, '{}'::jsonb,
                   l.account_id, l.personal, 'new', f.source_id, f.campaign, f.utm_source, f.utm_medium,
                   f.campaign, f.term, '', f.referrer, '', la.form_type, la.asset, la.at, k.conversions,
                   NULL, l.arrival, la.at
            FROM bulk_lead l
            JOIN bulk_conv f ON f.lead_id = l.id AND f.n = 1
            JOIN (SELECT c.lead_id, count(*)::int AS conversions, max(n) AS last FROM bulk_conv c
                  GROUP BY c.lead_id) k ON k.lead_id = l.id
            JOIN bulk_conv la ON la.lead_id = l.id AND la.n = k.last
        """)
        self.sql("submissions", """
            INSERT INTO inbound_submission (id, kind, channel, source_id, api_key_id, hosted_form_id, import_job_id,
                row_number, payload, remote_addr, user_agent, received_at, status, error, attempts, processed_at,
                lead_id, created_lead)
            SELECT c.id, 'lead', CASE WHEN c.form_type = '' THEN 'csv' WHEN c.source_id = %(website)s THEN 'form'
                                     ELSE 'api' END,
                   c.source_id, NULL, NULL, NULL, NULL,
                   jsonb_strip_nulls(jsonb_build_object('email', l.email, 'first_name', l.first_name,
                       'last_name', l.last_name, 'company', nullif(l.company, ''),
                       'job_title', nullif(l.job_title, ''), 'country', l.country,
                       'form_type', nullif(c.form_type, ''), 'asset', nullif(c.asset, ''),
                       'campaign', nullif(c.campaign, ''), 'utm_source', nullif(c.utm_source, ''),
                       'utm_medium', nullif(c.utm_medium, ''), 'utm_campaign', nullif(c.campaign, ''),
                       'utm_term', nullif(c.term, ''))),
                   NULL, '', c.at, 'processed', '', 1, c.at, c.lead_id, c.n = 1
            FROM bulk_conv c JOIN bulk_lead l ON l.id = c.lead_id
        """, {"website": self.setup.sources["Website"]})
        labels = "CASE c.form_type " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in FORM_LABEL.items()) \
                 + " END"
        pages = "CASE c.form_type " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in FORM_PAGES.items()) \
                + " END"
        self.sql("activities: conversions", f"""
            INSERT INTO inbound_activity (lead_id, type, form_type, name, url, title, occurred_at, source_id,
                submission_id, attribution, pending_visitor_id, pending_email)
            SELECT c.lead_id, 'form_submit', c.form_type, c.asset,
                   CASE WHEN ({pages}) = '' THEN '' ELSE 'https://www.example.com' || ({pages}) END, '',
                   c.at, c.source_id, c.id,
                   jsonb_strip_nulls(jsonb_build_object('campaign', nullif(c.campaign, ''),
                       'utm_source', nullif(c.utm_source, ''), 'utm_medium', nullif(c.utm_medium, ''),
                       'utm_campaign', nullif(c.campaign, ''), 'utm_term', nullif(c.term, ''),
                       'referrer', nullif(c.referrer, ''))), '', ''
            FROM bulk_conv c
        """)
        self.sql("timeline: conversions", f"""
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT c.lead_id, c.at, CASE WHEN c.n = 1 THEN 'created' ELSE 'submission' END,
                   CASE WHEN c.n = 1 THEN 'Lead created from ' ELSE 'Converted again: ' END || ({labels})
                   || CASE WHEN c.asset = '' THEN '' ELSE ' (' || c.asset || ')' END || ' via ' || s.name,
                   NULL, s.name || CASE WHEN c.form_type = '' THEN ' import' ELSE ' API' END,
                   jsonb_build_object('submission', c.id) || CASE WHEN c.n = 1 THEN '{{}}'::jsonb
                                                                 ELSE '{{"conflicts": {{}}}}'::jsonb END
            FROM bulk_conv c JOIN inbound_source s ON s.id = c.source_id
        """)
        page_url = _nth([p[0] for p in PAGES], "pg_temp.u(l.id * 64 + g, 51)")
        page_title = _nth([p[1] for p in PAGES], "pg_temp.u(l.id * 64 + g, 51)")
        self.sql("activities: behaviour", f"""
            INSERT INTO inbound_activity (lead_id, type, form_type, name, url, title, occurred_at, source_id,
                submission_id, attribution, pending_visitor_id, pending_email)
            SELECT l.id, 'page_view', '', '', 'https://www.example.com' || {page_url}, {page_title},
                   least(%(now)s - interval '1 second',
                         CASE WHEN pg_temp.u(l.id * 64 + g, 52) < 0.55
                              THEN l.arrival - make_interval(secs => pg_temp.u(l.id * 64 + g, 53) * 21 * 86400)
                              ELSE l.arrival + make_interval(secs => pg_temp.u(l.id * 64 + g, 53)
                                   * least(extract(epoch FROM %(now)s - l.arrival), 60 * 86400)) END),
                   %(website)s, NULL, '{{}}'::jsonb, '', ''
            FROM bulk_lead l CROSS JOIN LATERAL generate_series(1, l.page_views) g;
            INSERT INTO inbound_activity (lead_id, type, form_type, name, url, title, occurred_at, source_id,
                submission_id, attribution, pending_visitor_id, pending_email)
            SELECT l.id, 'pricing_page_view', '', '', 'https://www.example.com/pricing', 'Pricing',
                   least(%(now)s - interval '1 second',
                         l.arrival + make_interval(secs => (g - 0.5) * 2 * 86400 * pg_temp.u(l.id * 8 + g, 54))),
                   %(website)s, NULL, '{{}}'::jsonb, '', ''
            FROM bulk_lead l CROSS JOIN LATERAL generate_series(1, l.pricing_views) g;
            INSERT INTO inbound_activity (lead_id, type, form_type, name, url, title, occurred_at, source_id,
                submission_id, attribution, pending_visitor_id, pending_email)
            SELECT l.id, 'trial_milestone', '', ({_arr(TRIAL_MILESTONES)})[g], '', '',
                   least(%(now)s - interval '1 second', l.arrival + make_interval(secs => g * 86400 * 1.3)),
                   %(trial)s, NULL, '{{}}'::jsonb, '', ''
            FROM bulk_lead l CROSS JOIN LATERAL generate_series(1, l.milestones) g;
            INSERT INTO inbound_activity (lead_id, type, form_type, name, url, title, occurred_at, source_id,
                submission_id, attribution, pending_visitor_id, pending_email)
            SELECT l.id, 'webinar_attended', '', c.asset, '', '',
                   least(%(now)s - interval '1 second', l.arrival + interval '6 days'), %(webinar)s, NULL,
                   '{{}}'::jsonb, '', ''
            FROM bulk_lead l JOIN bulk_conv c ON c.lead_id = l.id AND c.n = 1 WHERE l.attended
        """, {"website": self.setup.sources["Website"], "trial": self.setup.sources["Free trial"],
              "webinar": self.setup.sources["Webinar platform"]})

    # --- scoring ---------------------------------------------------------------------------------------

    def _score(self) -> None:
        version = self.value("SELECT coalesce(max(number), 0) FROM scoring_rulesetversion")
        points = "CASE c.form_type " + " ".join(f"WHEN {_lit(k)} THEN {v}" for k, v in INTENT_POINTS.items()) + " END"
        labels = "CASE l.ft1 " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in SIGNAL_LABEL.items()) \
                 + " ELSE '' END"
        served = ", ".join(_lit(c) for c in SERVED)
        target = ", ".join(_lit(i) for i in TARGET_INDUSTRIES)
        self.sql("scores staged", f"""
            ALTER TABLE bulk_lead ADD COLUMN fit int, ADD COLUMN intent int, ADD COLUMN hot bool,
                ADD COLUMN reasons jsonb, ADD COLUMN last_at timestamptz;
            UPDATE bulk_lead l SET
                fit = f.industry + f.size + f.region + f.senior + f.revenue + f.personal + f.student,
                intent = least(i.conv, 80) + least(l.page_views, 10) + least(10 * l.pricing_views, 25)
                         + least(15 * l.milestones, 45) + CASE WHEN l.attended THEN 12 ELSE 0 END,
                last_at = i.last_at,
                reasons = to_jsonb(array_remove(ARRAY[
                    CASE WHEN l.ft1 <> '' THEN jsonb_build_object('rule', {labels}, 'points', least(i.conv, 80),
                        'because', i.n || ' × ' || lower({labels}), 'part', 'intent') END,
                    CASE WHEN f.industry > 0 THEN jsonb_build_object('rule', 'Target industry', 'points', 15,
                        'because', 'industry ' || l.industry, 'part', 'fit') END,
                    CASE WHEN f.size <> 0 THEN jsonb_build_object('rule', 'Company size', 'points', f.size,
                        'because', l.employee_count || ' employees', 'part', 'fit') END,
                    CASE WHEN f.senior > 0 THEN jsonb_build_object('rule', 'Senior buyer', 'points', 20,
                        'because', 'title ' || l.job_title, 'part', 'fit') END,
                    CASE WHEN f.personal < 0 THEN jsonb_build_object('rule', 'Personal email', 'points', -10,
                        'because', 'free-mail address', 'part', 'fit') END,
                    CASE WHEN l.page_views > 0 THEN jsonb_build_object('rule', 'Page view',
                        'points', least(l.page_views, 10), 'because', l.page_views || ' × page view', 'part',
                        'intent') END
                ], NULL))
            FROM (SELECT id,
                    CASE WHEN industry IN ({target}) THEN 15 ELSE 0 END AS industry,
                    CASE WHEN employee_count BETWEEN 51 AND 1000 THEN 20 WHEN employee_count >= 1001 THEN 15
                         WHEN employee_count <= 10 THEN -10 ELSE 0 END AS size,
                    CASE WHEN country IN ({served}) THEN 10 ELSE 0 END AS region,
                    CASE WHEN senior THEN 20 ELSE 0 END AS senior,
                    CASE WHEN revenue_role THEN 10 ELSE 0 END AS revenue,
                    CASE WHEN personal THEN -10 ELSE 0 END AS personal,
                    CASE WHEN student THEN -30 ELSE 0 END AS student
                  FROM bulk_lead) f,
                 (SELECT c.lead_id, sum({points})::int AS conv, count(*) AS n, max(c.at) AS last_at
                  FROM bulk_conv c GROUP BY c.lead_id) i
            WHERE f.id = l.id AND i.lead_id = l.id;
            UPDATE bulk_lead SET hot = ft1 IN ('demo_request', 'pricing', 'trial_signup') OR fit + intent >= 50
                OR milestones > 0
        """)
        self.sql("scores", f"""
            INSERT INTO scoring_leadscore (lead_id, fit, intent, total, grade, tier, is_hot, hot_since, reasons,
                missed, hot_because, version, computed_at)
            SELECT l.id, l.fit, l.intent, l.fit + l.intent,
                   CASE WHEN l.fit >= 40 THEN 'A' WHEN l.fit >= 25 THEN 'B' WHEN l.fit >= 10 THEN 'C' ELSE 'D' END,
                   l.tier, l.hot, CASE WHEN l.hot THEN l.arrival END, l.reasons, '[]'::jsonb,
                   CASE WHEN NOT l.hot THEN '[]'::jsonb
                        WHEN l.ft1 IN ('demo_request', 'pricing', 'trial_signup')
                        THEN jsonb_build_array(replace(l.ft1, '_', ' ') || ' form')
                        ELSE jsonb_build_array('score ' || (l.fit + l.intent) || ' ≥ 50') END,
                   {int(version)}, l.last_at
            FROM bulk_lead l
        """)

    # --- routing and the clock ------------------------------------------------------------------------

    def _route(self) -> None:
        setup = self.setup
        assert setup is not None
        teams = list(setup.teams.values())
        team_rows = ", ".join(
            f"({row.team.pk}, {_lit(row.team.visibility)}, {_lit(row.team.escalation_path)}, "
            f"{row.team.backup_rep_id or 'NULL'}, {row.team.manager_id or 'NULL'}, {_arr(row.reps, 'int')}, "
            f"{row.team.sla_hand_raiser_seconds or 'NULL'}, {row.team.sla_researcher_seconds or 'NULL'}, "
            f"{row.team.warn_fraction!r})" for row in teams)
        buckets = {tier: shares for tier, shares in RESPONSE_BUCKETS.items()}
        bucket = "CASE a.tier " + " ".join(
            f"WHEN {_lit(tier)} THEN (CASE " + " ".join(
                f"WHEN pg_temp.u(a.id, 61) < {sum(shares[:k + 1])!r} THEN {k}" for k in range(5)) + " ELSE 5 END)"
            for tier, shares in buckets.items()) + " END"
        delay = "CASE a.bucket " + " ".join(
            f"WHEN {k} THEN exp(ln({lo}) + pg_temp.u(a.id, 62) * ln({hi / lo!r}))"
            for k, (lo, hi) in enumerate(BUCKET_BOUNDS)) + " END"
        self.sql("assignments staged", f"""
            CREATE TEMP TABLE bulk_team (team_id int PRIMARY KEY, visibility text, path text, backup int,
                manager int, reps int[], sla_hr int, sla_res int, warn float8);
            INSERT INTO bulk_team VALUES {team_rows};
            CREATE TEMP TABLE bulk_asg AS
            SELECT l.id, l.team_id, l.tier, l.hot, l.arrival, t.visibility, t.path, t.backup, t.manager, t.reps,
                   CASE l.tier WHEN 'hand_raiser' THEN t.sla_hr WHEN 'researcher' THEN t.sla_res END AS sla,
                   t.warn, pg_temp.opening(l.team_id, l.arrival) AS opening,
                   pg_temp.pos(l.team_id, l.arrival) AS pos_arrival,
                   t.reps[1 + floor(pg_temp.u(l.id, 63) * cardinality(t.reps))::int] AS rr_rep,
                   t.reps[1 + floor(pg_temp.u(l.id, 64) * cardinality(t.reps))::int] AS claimer
            FROM bulk_lead l JOIN bulk_team t ON t.team_id = l.team_id;
            ALTER TABLE bulk_asg ADD COLUMN routed_at timestamptz, ADD COLUMN queued bool, ADD COLUMN bucket int,
                ADD COLUMN first_touch timestamptz, ADD COLUMN due timestamptz, ADD COLUMN warn_at timestamptz;
            UPDATE bulk_asg a SET
                queued = a.opening > %(now)s,
                routed_at = CASE WHEN a.opening > %(now)s OR a.opening IS NULL THEN a.arrival
                                 WHEN a.opening = a.arrival THEN a.arrival + make_interval(secs => 1 + 29 *
                                                                                   pg_temp.u(a.id, 65))
                                 ELSE a.opening + make_interval(secs => 5 + 600 * pg_temp.u(a.id, 65)) END,
                due = CASE WHEN a.sla IS NOT NULL THEN pg_temp.at(a.team_id, a.pos_arrival + a.sla) END,
                warn_at = CASE WHEN a.sla IS NOT NULL THEN pg_temp.at(a.team_id, a.pos_arrival + a.sla * a.warn) END;
            UPDATE bulk_asg a SET bucket = {bucket};
            UPDATE bulk_asg a SET first_touch = CASE
                WHEN a.bucket = 5 OR a.queued THEN NULL
                -- 3 in 100 reps answer out of hours, on the wall clock; the rest in the team's business time.
                WHEN pg_temp.u(a.id, 66) < 0.03 THEN a.routed_at + make_interval(secs => {delay})
                ELSE pg_temp.at(a.team_id, pg_temp.pos(a.team_id, a.routed_at) + {delay}) END;
            UPDATE bulk_asg SET first_touch = NULL WHERE first_touch >= %(now)s
        """)
        # Escalations: a deadline that passed untouched goes to the backup rep (level 1, with a new
        # deadline from then) or the manager queue (level 2); a rep claims an escalated lead later.
        self.sql("escalations", """
            ALTER TABLE bulk_asg ADD COLUMN level int DEFAULT 0, ADD COLUMN due1 timestamptz,
                ADD COLUMN owner int, ADD COLUMN owned_since timestamptz, ADD COLUMN state text,
                ADD COLUMN claimed_at timestamptz, ADD COLUMN escalated_at timestamptz,
                ADD COLUMN escalated2_at timestamptz;
            UPDATE bulk_asg a SET level = CASE
                    WHEN a.due IS NULL OR a.due >= coalesce(a.first_touch, %(now)s) THEN 0
                    WHEN a.path = 'backup_then_manager' AND a.backup IS NOT NULL THEN 1 ELSE 2 END,
                escalated_at = CASE WHEN a.due < coalesce(a.first_touch, %(now)s) THEN a.due END;
            UPDATE bulk_asg a SET due1 = pg_temp.at(a.team_id, pg_temp.pos(a.team_id, a.due) + a.sla)
            WHERE a.level = 1;
            UPDATE bulk_asg a SET level = 2, escalated2_at = a.due1
            WHERE a.level = 1 AND a.due1 < coalesce(a.first_touch, %(now)s);
            UPDATE bulk_asg a SET escalated2_at = a.due WHERE a.level = 2 AND a.escalated2_at IS NULL;
            -- Who holds it in the end, since when, and its state.
            UPDATE bulk_asg a SET
                owner = CASE
                    WHEN a.level = 2 THEN CASE WHEN a.first_touch IS NOT NULL THEN a.claimer END
                    WHEN a.level = 1 THEN a.backup
                    WHEN a.queued THEN NULL
                    WHEN a.visibility = 'claim' AND a.hot THEN CASE WHEN a.first_touch IS NOT NULL THEN a.claimer END
                    ELSE a.rr_rep END,
                claimed_at = CASE
                    WHEN a.first_touch IS NULL THEN NULL
                    WHEN a.level = 2 THEN greatest(a.escalated2_at + interval '1 second',
                                                   a.first_touch - make_interval(secs => 10 + 140 * pg_temp.u(a.id, 67)))
                    WHEN a.level = 0 AND a.visibility = 'claim' AND a.hot
                    THEN greatest(a.routed_at + interval '5 seconds',
                                  a.first_touch - make_interval(secs => 10 + 140 * pg_temp.u(a.id, 67))) END;
            UPDATE bulk_asg a SET claimed_at = least(claimed_at, first_touch) WHERE claimed_at IS NOT NULL;
            UPDATE bulk_asg a SET
                owned_since = CASE WHEN a.owner IS NULL THEN NULL WHEN a.claimed_at IS NOT NULL THEN a.claimed_at
                                   WHEN a.level = 1 THEN a.due ELSE a.routed_at END,
                state = CASE WHEN a.first_touch IS NOT NULL THEN 'working'
                             WHEN a.level = 2 THEN 'escalated'
                             WHEN a.owner IS NOT NULL THEN 'assigned'
                             WHEN a.queued THEN 'queued' ELSE 'offered' END
        """)
        self.sql("assignments staged index", "ALTER TABLE bulk_asg ADD PRIMARY KEY (id); ANALYZE bulk_asg")

    # --- touches -------------------------------------------------------------------------------------

    def _touches(self) -> None:
        touch0 = self.base("sdr_desk_touch")
        self.params["touch0"] = touch0
        first_channel = {
            "hand_raiser": (("call", 65), ("email", 25), ("linkedin", 10)),
            "researcher": (("email", 55), ("linkedin", 25), ("call", 20)),
            "light": (("email", 60), ("linkedin", 25), ("call", 15)),
            "none": (("email", 60), ("linkedin", 25), ("call", 15)),
        }
        channel_first = "CASE a.tier " + " ".join(
            f"WHEN {_lit(t)} THEN {_pick_sql('pg_temp.u(a.id * 8 + g, 71)', w)}" for t, w in first_channel.items()) \
            + " END"
        channel_next = _pick_sql("pg_temp.u(a.id * 8 + g, 71)", (("email", 45), ("call", 40), ("linkedin", 10),
                                                                  ("sms", 5)))
        outcome = _pick_sql("pg_temp.u(a.id * 8 + g, 72)", (("voicemail", 45), ("no_answer", 45),
                                                            ("wrong_number", 5), ("voicemail", 5)))
        connect = "(ARRAY[" + ", ".join(repr(p) for p in CONNECT_BY_BUCKET) + "])[a.bucket + 1]"
        self.sql("touches staged", f"""
            ALTER TABLE bulk_asg ADD COLUMN touches int, ADD COLUMN connect_at int;
            UPDATE bulk_asg a SET touches = 2 + floor(pg_temp.u(a.id, 73) * 5)::int,
                connect_at = CASE WHEN pg_temp.u(a.id, 74) < {connect}
                                  THEN 1 + floor(pg_temp.u(a.id, 75) * (2 + floor(pg_temp.u(a.id, 73) * 5)))::int END
            WHERE a.first_touch IS NOT NULL;
            CREATE TEMP TABLE bulk_touch AS
            SELECT %(touch0)s + row_number() OVER (ORDER BY t.lead_id, t.n) AS id, t.*
            FROM (
                SELECT a.id AS lead_id, g AS n, a.owner AS rep,
                       CASE WHEN g = 1 THEN a.first_touch
                            ELSE a.first_touch + make_interval(secs => (g - 1) * (7200 + 2.5 * 86400
                                                                        * pg_temp.u(a.id * 8 + g, 76))) END AS at,
                       CASE WHEN g = a.connect_at THEN 'call' WHEN g = 1 THEN {channel_first}
                            ELSE {channel_next} END AS channel,
                       g = a.connect_at AS connected
                FROM bulk_asg a CROSS JOIN LATERAL generate_series(1, a.touches) g
                WHERE a.first_touch IS NOT NULL) t
            WHERE t.at < %(now)s;
            ALTER TABLE bulk_touch ADD COLUMN outcome text;
            UPDATE bulk_touch t SET outcome = CASE WHEN t.connected THEN 'connected' WHEN t.channel <> 'call' THEN ''
                ELSE {outcome.replace('a.id * 8 + g', 't.lead_id * 8 + t.n')} END;
            -- A connect that never happened (its touch lies in the future) is no connect. NOT EXISTS, an anti
            -- join: NOT IN over a subquery too big for work_mem is re-scanned for every row (quadratic at 1 M).
            CREATE INDEX ON bulk_touch (lead_id, n);
            UPDATE bulk_asg a SET connect_at = NULL WHERE connect_at IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM bulk_touch t WHERE t.lead_id = a.id AND t.connected);
            ANALYZE bulk_touch
        """)
        self.sql("touches", """
            INSERT INTO sdr_desk_touch (id, lead_id, rep_id, channel, outcome, notes, occurred_at, is_first)
            SELECT id, lead_id, rep, channel, outcome, '', at, n = 1 FROM bulk_touch
        """)

    # --- dispositions, answers, handoffs ---------------------------------------------------------------

    def _outcomes(self) -> None:
        codes = dict(self._rows("SELECT slug, id FROM dispositions_dispositioncode"))
        missing = sorted(set(CODE_SLUGS.values()) - set(codes))
        if missing:
            raise BulkRefused(f"The disposition codes {', '.join(missing)} are missing; seed_bulk writes the "
                              f"default codes' outcomes (sdr_desk/dispositions/defaults.py).")
        names = dict(self._rows("SELECT slug, name FROM dispositions_dispositioncode"))
        # Django hands jsonb back as text on a bare cursor.
        reasons = {slug: json.loads(value) if isinstance(value, str) else value
                   for slug, value in self._rows("SELECT slug, reasons FROM dispositions_dispositioncode")}
        rejections = [name for (name,) in self._rows(
            "SELECT name FROM handoff_rejectionreason WHERE is_active ORDER BY position, name")]
        if not rejections:
            raise BulkRefused("There are no active handoff rejection reasons.")
        self.params.update({f"code_{key.replace('-', '_')}": codes[slug] for key, slug in CODE_SLUGS.items()})
        qualify = "(CASE a.tier " + " ".join(f"WHEN {_lit(t)} THEN {p!r}" for t, p in QUALIFY_BY_TIER.items()) \
                  + " END) * (ARRAY[" + ", ".join(repr(p) for p in QUALIFY_BY_BUCKET) + "])[a.bucket + 1]"
        code_connected = _pick_sql("pg_temp.u(a.id, 82)", CODES_CONNECTED)
        code_silent = _pick_sql("pg_temp.u(a.id, 82)", CODES_NOT_CONNECTED)

        def reason_of(key: str) -> str:
            options = reasons.get(CODE_SLUGS[key]) or [""]
            return _nth(options, "pg_temp.u(o.id, 84)")

        reason = ("CASE o.code " + " ".join(f"WHEN {_lit(k)} THEN {reason_of(k)}" for k in
                                            ("nurture", "bad-fit", "spam"))
                  + f" WHEN 'no-response' THEN CASE WHEN pg_temp.u(o.id, 84) < 0.7 THEN {_lit(reason_of_first(reasons))}"
                    " ELSE '' END ELSE '' END")
        disp0 = self.base("dispositions_disposition")
        self.params["disp0"] = disp0
        self.sql("dispositions staged", f"""
            CREATE TEMP TABLE bulk_out0 AS
            SELECT a.id, a.team_id, a.owner, a.manager, a.tier, a.bucket, a.first_touch, lt.last_at,
                   coalesce(a.escalated2_at, a.escalated_at, a.routed_at) AS waiting_since,
                   CASE
                     WHEN a.first_touch IS NOT NULL THEN
                       CASE WHEN lt.last_at > %(now)s - interval '2 days' OR pg_temp.u(a.id, 80) >= 0.85 THEN NULL
                            WHEN a.connect_at IS NOT NULL AND pg_temp.u(a.id, 81) < {qualify}
                            THEN CASE WHEN pg_temp.u(a.id, 83) < 0.4 THEN 'meeting-set' ELSE 'handed' END
                            WHEN a.connect_at IS NOT NULL THEN {code_connected}
                            ELSE {code_silent} END
                     -- Spam and duplicates a manager closes untouched (the clock stops at the disposition).
                     WHEN a.arrival < %(now)s - interval '7 days' AND pg_temp.u(a.id, 80) < 0.04
                     THEN CASE WHEN pg_temp.u(a.id, 82) < 0.6 THEN 'spam' ELSE 'duplicate' END
                   END AS code
            FROM bulk_asg a
            LEFT JOIN (SELECT t.lead_id, max(t.at) AS last_at FROM bulk_touch t GROUP BY t.lead_id) lt
                ON lt.lead_id = a.id;
            CREATE TEMP TABLE bulk_out AS
            SELECT o.id, o.team_id, o.owner, o.manager, o.tier, o.bucket, o.first_touch, o.last_at, o.code,
                   %(disp0)s + row_number() OVER (ORDER BY o.id) AS disp_id,
                   least(%(now)s - interval '1 minute',
                         CASE WHEN o.first_touch IS NULL
                              THEN o.waiting_since + make_interval(secs => 3600 + 5 * 86400 * pg_temp.u(o.id, 85))
                              ELSE o.last_at + make_interval(secs => 600 + 2 * 86400 * pg_temp.u(o.id, 85)) END)
                       AS recorded_at,
                   {reason} AS reason,
                   CASE WHEN o.first_touch IS NULL OR o.owner IS NULL THEN o.manager ELSE o.owner END AS recorded_by
            FROM bulk_out0 o WHERE o.code IS NOT NULL;
            DROP TABLE bulk_out0;
            ALTER TABLE bulk_out ADD PRIMARY KEY (id);
            ANALYZE bulk_out
        """)
        self.params["rejections"] = rejections
        handoff0 = self.base("handoff_handoff")
        self.params["handoff0"] = handoff0
        ae_rows = ", ".join(
            f"({row.team.pk}, {setup_ae.team.pk}, {_arr(setup_ae.reps, 'int')})"
            for key, row in self.setup.teams.items()
            for setup_ae in [self.setup.ae_teams[_ae_key(key)]])
        # Handoffs: every "handed to AE" (recorded by lead_handoff itself), 60% of "meeting set" later.
        self.sql("handoffs staged", f"""
            CREATE TEMP TABLE bulk_ae (team_id int, ae_team int, aes int[]);
            INSERT INTO bulk_ae VALUES {ae_rows};
            CREATE TEMP TABLE bulk_handoff AS
            SELECT %(handoff0)s + row_number() OVER (ORDER BY o.id) AS id, o.id AS lead_id, o.owner AS sdr,
                   o.team_id AS sdr_team, e.ae_team, e.aes[1 + floor(pg_temp.u(o.id, 91) * cardinality(e.aes))::int] AS ae,
                   CASE WHEN o.code = 'handed' THEN o.recorded_at
                        ELSE o.recorded_at + make_interval(secs => 1800 + 86400 * pg_temp.u(o.id, 92)) END AS handed_at
            FROM bulk_out o JOIN bulk_ae e ON e.team_id = o.team_id
            WHERE o.owner IS NOT NULL AND (o.code = 'handed' OR (o.code = 'meeting-set' AND pg_temp.u(o.id, 93) < 0.6));
            DELETE FROM bulk_handoff WHERE handed_at >= %(now)s;
            ALTER TABLE bulk_handoff ADD COLUMN due_at timestamptz, ADD COLUMN meeting_at timestamptz,
                ADD COLUMN status text, ADD COLUMN verdict_at timestamptz, ADD COLUMN reason text,
                ADD COLUMN meeting_status text, ADD COLUMN meeting_outcome_at timestamptz,
                ADD COLUMN escalated_at timestamptz;
            UPDATE bulk_handoff h SET
                due_at = pg_temp.at(h.ae_team, pg_temp.pos(h.ae_team, h.handed_at) + 24 * 3600),
                meeting_at = CASE WHEN pg_temp.u(h.lead_id, 94) < 0.85
                                  THEN date_trunc('hour', h.handed_at) + make_interval(
                                       hours => 24 + floor(pg_temp.u(h.lead_id, 95) * 5 * 24)::int) END,
                verdict_at = h.handed_at + make_interval(secs => 1800 + 40 * 3600 * pg_temp.u(h.lead_id, 96));
            UPDATE bulk_handoff h SET status = CASE
                    WHEN h.verdict_at >= %(now)s OR pg_temp.u(h.lead_id, 97) < 0.05 THEN 'pending'
                    WHEN pg_temp.u(h.lead_id, 98) < 0.78 THEN 'accepted' ELSE 'rejected' END;
            UPDATE bulk_handoff h SET verdict_at = NULL WHERE status = 'pending';
            UPDATE bulk_handoff h SET
                reason = CASE WHEN h.status = 'rejected'
                              THEN (%(rejections)s::text[])[1 + floor(pg_temp.u(h.lead_id, 99)
                                                                    * cardinality(%(rejections)s::text[]))::int]
                              ELSE '' END,
                escalated_at = CASE WHEN h.due_at < coalesce(h.verdict_at, %(now)s) THEN h.due_at END,
                meeting_status = CASE
                    WHEN h.meeting_at IS NULL THEN 'none'
                    WHEN h.status = 'rejected' THEN 'cancelled'
                    WHEN h.status = 'accepted' AND h.meeting_at + interval '35 minutes' < %(now)s
                    THEN {_pick_sql('pg_temp.u(h.lead_id, 100)', (('held', 72), ('no_show', 20), ('cancelled', 8)))}
                    ELSE 'scheduled' END;
            UPDATE bulk_handoff h SET meeting_outcome_at = CASE
                    WHEN h.meeting_status IN ('held', 'no_show') THEN h.meeting_at + interval '35 minutes'
                    WHEN h.meeting_status = 'cancelled' AND h.status = 'rejected' THEN h.verdict_at
                    WHEN h.meeting_status = 'cancelled'
                    THEN greatest(h.verdict_at, h.meeting_at - interval '3 hours') END;
            CREATE INDEX ON bulk_handoff (lead_id);
            ANALYZE bulk_handoff
        """)
        # A rejected handoff returns the lead (its disposition retired, status back to new); some of those
        # are dispositioned again later.
        second = _pick_sql("pg_temp.u(h.lead_id, 102)", (("nurture", 50), ("bad-fit", 35), ("no-response", 15)))
        self.sql("second dispositions staged", f"""
            CREATE TEMP TABLE bulk_out2 AS
            SELECT h.lead_id AS id, {second} AS code,
                   h.verdict_at + make_interval(secs => 3600 + 10 * 86400 * pg_temp.u(h.lead_id, 103)) AS recorded_at
            FROM bulk_handoff h WHERE h.status = 'rejected' AND pg_temp.u(h.lead_id, 101) < 0.4;
            DELETE FROM bulk_out2 WHERE recorded_at >= %(now)s;
            ALTER TABLE bulk_out2 ADD COLUMN disp_id bigint, ADD COLUMN reason text;
            UPDATE bulk_out2 o SET disp_id = x.rn + %(disp0)s + (SELECT count(*) FROM bulk_out),
                reason = CASE o.code {' '.join(f"WHEN {_lit(k)} THEN {reason_of(k)}" for k in ('nurture', 'bad-fit'))}
                         WHEN 'no-response' THEN {_lit(reason_of_first(reasons))} ELSE '' END
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM bulk_out2) x WHERE x.id = o.id
        """)
        slug_of = "CASE {c} " + " ".join(f"WHEN {_lit(k)} THEN %(code_{k.replace('-', '_')})s" for k in CODE_SLUGS) + " END"
        outcome_of = {"nurture": "nurture", "bad-fit": "disqualified", "spam": "disqualified",
                      "no-response": "closed", "duplicate": "closed", "meeting-set": "qualified", "handed": "qualified"}
        status_of = "CASE {c} " + " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in outcome_of.items()) + " END"
        reengage = ("CASE WHEN {c} = 'nurture' THEN (({t}) AT TIME ZONE 'UTC')::date "
                    "+ 30 + floor(pg_temp.u({i}, 104) * 150)::int END")
        self.sql("dispositions", f"""
            INSERT INTO dispositions_disposition (id, lead_id, code_id, reason, note, reengage_on, rep_id, team_id,
                recorded_by_id, recorded_at, is_current)
            SELECT o.disp_id, o.id, {slug_of.format(c='o.code')}, o.reason, '',
                   {reengage.format(c='o.code', t='o.recorded_at', i='o.id')}, o.owner, o.team_id, o.recorded_by,
                   o.recorded_at,
                   NOT EXISTS (SELECT 1 FROM bulk_handoff h WHERE h.lead_id = o.id AND h.status = 'rejected')
            FROM bulk_out o;
            INSERT INTO dispositions_disposition (id, lead_id, code_id, reason, note, reengage_on, rep_id, team_id,
                recorded_by_id, recorded_at, is_current)
            SELECT o2.disp_id, o2.id, {slug_of.format(c='o2.code')}, o2.reason, '',
                   {reengage.format(c='o2.code', t='o2.recorded_at', i='o2.id')}, o.owner, o.team_id, o.owner,
                   o2.recorded_at, true
            FROM bulk_out2 o2 JOIN bulk_out o ON o.id = o2.id;
            INSERT INTO qualification_answer (lead_id, item_id, text, answered_by_id, answered_at)
            SELECT o.id, i.id, CASE i.key {' '.join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in
                                                    CHECKLIST_ANSWERS.items())} ELSE 'Covered on the call.' END,
                   o.owner, o.recorded_at - interval '2 minutes'
            FROM bulk_out o JOIN qualification_checklistitem i ON i.team_id = o.team_id AND i.required AND i.is_active
            WHERE o.code IN ('meeting-set', 'handed');
            INSERT INTO handoff_handoff (id, lead_id, sdr_id, sdr_team_id, ae_id, ae_team_id, status, note, meeting_at,
                meeting_status, meeting_outcome_at, ics_uid, ics_sequence, handed_at, due_at, verdict_at,
                verdict_reason, escalated, escalated_at, routed_by, rule_set_version, routing_trace, cancel_reason)
            SELECT h.id, h.lead_id, h.sdr, h.sdr_team, h.ae, h.ae_team, h.status, '', h.meeting_at, h.meeting_status,
                   h.meeting_outcome_at, 'handoff-bulk-' || h.id || '@desk.example.com',
                   CASE WHEN h.meeting_status = 'cancelled' THEN 1 ELSE 0 END, h.handed_at, h.due_at, h.verdict_at,
                   h.reason, h.escalated_at IS NOT NULL, h.escalated_at,
                   'territory: ' || t.name, 'territory-' || t.id || '.v' || coalesce(s.version, 1), '{{}}'::jsonb, ''
            FROM bulk_handoff h JOIN sdr_desk_team t ON t.id = h.ae_team
            LEFT JOIN handoff_handoffsettings s ON s.team_id = h.ae_team
        """)
        # The timeline of all of it, and the lead's status and assignment as the services leave them.
        self.sql("timeline: desk", """
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT a.id, a.routed_at, 'owner',
                   CASE WHEN a.queued THEN 'In the ' || t.name || ' queue: nobody eligible: the team queue'
                        WHEN a.visibility = 'claim' AND a.hot THEN 'Offered to ' || t.name
                             || ': claim mode: offered to every eligible rep'
                        ELSE 'Assigned to ' || coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''),
                                                        u.username) || ' (' || t.name || '): round robin' END,
                   NULL, 'desk',
                   jsonb_build_object('change', CASE WHEN a.queued THEN 'queued' WHEN a.visibility = 'claim' AND a.hot
                                                     THEN 'offered' ELSE 'assigned' END, 'seeded', true)
            FROM bulk_asg a JOIN sdr_desk_team t ON t.id = a.team_id LEFT JOIN auth_user u ON u.id = a.rr_rep;
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT a.id, a.escalated_at, 'owner',
                   CASE WHEN a.level = 1 OR (a.level = 2 AND a.escalated2_at > a.escalated_at)
                        THEN 'Escalated to the backup rep: SLA missed; to the backup rep'
                        ELSE 'Escalated to the ' || t.name || ' manager queue: SLA missed; to the manager queue' END,
                   NULL, 'desk', '{"change": "escalated"}'::jsonb
            FROM bulk_asg a JOIN sdr_desk_team t ON t.id = a.team_id WHERE a.level > 0;
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT a.id, a.escalated2_at, 'owner',
                   'Escalated to the ' || t.name || ' manager queue: SLA missed; to the manager queue',
                   NULL, 'desk', '{"change": "escalated"}'::jsonb
            FROM bulk_asg a JOIN sdr_desk_team t ON t.id = a.team_id
            WHERE a.level = 2 AND a.escalated2_at > a.escalated_at;
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT a.id, a.claimed_at, 'owner', 'Claimed by ' || trim(u.first_name || ' ' || u.last_name)
                   || ': first to claim', a.owner, '', '{"change": "claimed"}'::jsonb
            FROM bulk_asg a JOIN auth_user u ON u.id = a.owner WHERE a.claimed_at IS NOT NULL;
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT t.lead_id, t.at, 'touch',
                   initcap(CASE t.channel WHEN 'sms' THEN 'SMS' WHEN 'linkedin' THEN 'LinkedIn' ELSE t.channel END)
                   || CASE WHEN t.outcome = '' THEN '' ELSE ': ' || replace(t.outcome, '_', ' ') END
                   || CASE WHEN t.n = 1 THEN ' (first touch)' ELSE '' END,
                   t.rep, '', jsonb_build_object('touch', t.id, 'channel', t.channel, 'outcome', t.outcome,
                                                 'notes', '')
            FROM bulk_touch t;
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT d.lead_id, d.recorded_at, 'disposition',
                   'Disposition: ' || c.name || CASE WHEN d.reason = '' THEN '' ELSE ' (' || d.reason || ')' END,
                   d.recorded_by_id, '', jsonb_build_object('disposition', d.id, 'code', c.slug, 'outcome', c.outcome,
                                                            'reason', d.reason)
            FROM dispositions_disposition d JOIN dispositions_dispositioncode c ON c.id = d.code_id
            WHERE d.id > %(disp0)s;
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT h.lead_id, h.handed_at, 'handoff', 'Handed off to ' || trim(u.first_name || ' ' || u.last_name)
                   || ' (' || t.name || '): territory: ' || t.name, h.sdr, '',
                   jsonb_build_object('handoff', h.id, 'change', 'handed_off')
            FROM bulk_handoff h JOIN auth_user u ON u.id = h.ae JOIN sdr_desk_team t ON t.id = h.ae_team;
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT h.lead_id, h.verdict_at, 'handoff_verdict',
                   CASE WHEN h.status = 'accepted' THEN 'Handoff accepted by ' ELSE 'Handoff rejected by ' END
                   || trim(u.first_name || ' ' || u.last_name)
                   || CASE WHEN h.status = 'rejected' THEN ': ' || h.reason ELSE '' END, h.ae, '',
                   jsonb_build_object('handoff', h.id, 'verdict', h.status, 'reason', h.reason)
            FROM bulk_handoff h JOIN auth_user u ON u.id = h.ae WHERE h.status IN ('accepted', 'rejected');
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT h.lead_id, h.meeting_outcome_at, 'meeting',
                   CASE h.meeting_status WHEN 'held' THEN 'Meeting held' WHEN 'no_show'
                        THEN 'Meeting: the lead did not show' ELSE 'Meeting cancelled' END, h.ae, '',
                   jsonb_build_object('handoff', h.id, 'after', jsonb_build_object('meeting_status', h.meeting_status))
            FROM bulk_handoff h WHERE h.meeting_outcome_at IS NOT NULL;
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT h.lead_id, h.verdict_at, 'owner', 'Back with ' || trim(u.first_name || ' ' || u.last_name)
                   || ': handoff rejected', h.ae, '', '{"change": "returned"}'::jsonb
            FROM bulk_handoff h JOIN auth_user u ON u.id = h.sdr WHERE h.status = 'rejected';
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT h.lead_id, h.verdict_at, 'status', 'Back on the desk: status Qualified → New', NULL, 'desk',
                   '{"before": {"status": "qualified"}, "after": {"status": "new"}}'::jsonb
            FROM bulk_handoff h WHERE h.status = 'rejected'
        """)
        self._names = names
        self.status_of = status_of

    def _rows(self, statement: str) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall()

    # --- sequences ----------------------------------------------------------------------------------

    def _sequences(self) -> None:
        templates = {tier: (pk, steps) for tier, pk, steps in self._rows(
            "SELECT t.tier, t.id, array_agg(s.id ORDER BY s.position) FROM sequences_sequencetemplate t "
            "JOIN sequences_step s ON s.template_id = t.id WHERE t.is_active AND t.tier IN ('hand_raiser', "
            "'researcher') GROUP BY t.tier, t.id ORDER BY t.id")}
        if not templates:
            self.log("  no active sequence templates: no enrolments")
            return
        enrol0 = self.base("sequences_enrollment")
        self.params["enrol0"] = enrol0
        template = "CASE a.tier " + " ".join(f"WHEN {_lit(t)} THEN {pk}" for t, (pk, _) in templates.items()) + " END"
        steps = "CASE e.template_id " + " ".join(f"WHEN {pk} THEN {_arr(s, 'int')}"
                                                 for pk, s in templates.values()) + " END"
        self.sql("enrolments staged", f"""
            CREATE TEMP TABLE bulk_enrol AS
            SELECT %(enrol0)s + row_number() OVER (ORDER BY a.id) AS id, a.id AS lead_id, {template} AS template_id,
                   a.owner AS enrolled_by, a.owned_since AS started_at,
                   a.owned_since + make_interval(secs => (9 + 4 * pg_temp.u(a.id, 111)) * 86400) AS completes_at,
                   c.at AS connected_at,
                   o.recorded_at AS closed_at, o.code
            FROM bulk_asg a
            LEFT JOIN bulk_out o ON o.id = a.id
            LEFT JOIN bulk_touch c ON c.lead_id = a.id AND c.connected
            WHERE a.owner IS NOT NULL AND a.owned_since IS NOT NULL AND a.tier IN ('hand_raiser', 'researcher')
              AND pg_temp.u(a.id, 110) < 0.35;
            DELETE FROM bulk_enrol WHERE template_id IS NULL;
            -- A lead closed before its enrolment would have refused it; a disposition stops the sequence (a
            -- rejected handoff's lead was stopped at its first one).
            DELETE FROM bulk_enrol WHERE closed_at <= started_at;
            ALTER TABLE bulk_enrol ADD COLUMN status text, ADD COLUMN ended_at timestamptz, ADD COLUMN stop_reason text,
                ADD COLUMN steps int[], ADD COLUMN done int;
            UPDATE bulk_enrol e SET
                ended_at = least(e.completes_at, e.connected_at, e.closed_at),
                steps = {steps};
            UPDATE bulk_enrol e SET
                status = CASE WHEN e.ended_at >= %(now)s THEN 'active'
                              WHEN e.ended_at = e.completes_at THEN 'completed' ELSE 'stopped' END;
            UPDATE bulk_enrol e SET
                ended_at = CASE WHEN e.status = 'active' THEN NULL ELSE e.ended_at END,
                stop_reason = CASE WHEN e.status <> 'stopped' THEN ''
                                   WHEN e.ended_at = e.connected_at THEN 'connected call'
                                   ELSE 'disposition (' || ({self._names_sql('e.code')}) || ')' END,
                done = least(cardinality(e.steps), floor(cardinality(e.steps)
                       * extract(epoch FROM least(e.ended_at, %(now)s) - e.started_at)
                       / extract(epoch FROM e.completes_at - e.started_at))::int)
        """)
        self.sql("enrolments", """
            INSERT INTO sequences_enrollment (id, lead_id, template_id, status, stop_reason, pause_reason, paused_at,
                enrolled_by_id, started_at, ended_at)
            SELECT id, lead_id, template_id, status, stop_reason, '', NULL, enrolled_by, started_at, ended_at
            FROM bulk_enrol;
            INSERT INTO sequences_steprun (enrollment_id, step_id, due_at, status, note, done_at, done_by_id)
            SELECT e.id, e.steps[g],
                   e.started_at + (e.completes_at - e.started_at) * ((g - 1)::float8 / cardinality(e.steps)),
                   CASE WHEN g <= e.done THEN 'done' WHEN e.status = 'active' THEN 'pending' ELSE 'skipped' END,
                   CASE WHEN g <= e.done OR e.status = 'active' THEN '' ELSE left('Stopped: ' || e.stop_reason, 200) END,
                   CASE WHEN g <= e.done THEN e.started_at + (e.completes_at - e.started_at)
                        * ((g - 1)::float8 / cardinality(e.steps)) + interval '20 minutes'
                        WHEN e.status = 'stopped' THEN e.ended_at END,
                   CASE WHEN g <= e.done THEN e.enrolled_by END
            FROM bulk_enrol e
            CROSS JOIN LATERAL generate_series(1, least(cardinality(e.steps),
                                                        e.done + CASE WHEN e.status = 'completed' THEN 0 ELSE 1 END)) g;
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT e.lead_id, e.started_at, 'sequence', 'Enrolled in the sequence ' || t.name || ' by hand',
                   e.enrolled_by, '', jsonb_build_object('enrollment', e.id, 'change', 'started')
            FROM bulk_enrol e JOIN sequences_sequencetemplate t ON t.id = e.template_id;
            INSERT INTO inbound_timelineentry (lead_id, occurred_at, kind, summary, actor_id, actor_label, data)
            SELECT e.lead_id, e.ended_at, 'sequence',
                   'Sequence ' || t.name || CASE WHEN e.status = 'completed' THEN ' completed: every step done'
                                                 ELSE ' stopped: ' || e.stop_reason END,
                   NULL, 'sequence', jsonb_build_object('enrollment', e.id, 'change', e.status)
            FROM bulk_enrol e JOIN sequences_sequencetemplate t ON t.id = e.template_id WHERE e.ended_at IS NOT NULL
        """)

    def _names_sql(self, column: str) -> str:
        return "CASE " + column + " " + " ".join(
            f"WHEN {_lit(k)} THEN {_lit(self._names[CODE_SLUGS[k]])}" for k in CODE_SLUGS) + " END"

    # --- the assignment rows, statuses, owners, sequences ------------------------------------------

    def _finish(self) -> None:
        self.sql("assignments", """
            INSERT INTO sdr_desk_leadassignment (lead_id, team_id, owner_id, state, is_hot, tier, routing_trace,
                routed_at, owned_since, claim_expires_at, sla_started_at, sla_due_at, sla_warn_at, sla_warned,
                first_touch_at, response_seconds, response_business_seconds, escalation_level, next_step_at,
                next_step, version, updated_at)
            SELECT a.id, a.team_id,
                   CASE WHEN h.status = 'rejected' THEN h.sdr ELSE a.owner END,
                   CASE WHEN o2.id IS NOT NULL THEN 'closed'
                        WHEN h.status = 'rejected' THEN 'working'
                        WHEN o.id IS NOT NULL THEN 'closed' ELSE a.state END,
                   a.hot, a.tier,
                   jsonb_build_object('at', a.routed_at, 'team', t.name, 'seeded', true,
                                      'result', CASE WHEN a.queued THEN 'nobody eligible: the team queue'
                                                     WHEN a.visibility = 'claim' AND a.hot
                                                     THEN 'claim mode: offered to every eligible rep'
                                                     ELSE 'round robin' END),
                   a.routed_at, a.owned_since, NULL, a.arrival,
                   CASE WHEN a.level = 0 THEN a.due
                        -- a claimed escalated lead got the tier's target again from the claim
                        WHEN a.level = 2 AND a.claimed_at IS NOT NULL
                        THEN pg_temp.at(a.team_id, pg_temp.pos(a.team_id, a.claimed_at) + a.sla)
                        WHEN a.level = 1 THEN a.due1 ELSE a.due1 END,
                   CASE WHEN a.level = 0 THEN a.warn_at END,
                   CASE WHEN a.level > 0 THEN true
                        ELSE a.warn_at IS NOT NULL AND a.warn_at <= coalesce(a.first_touch, o.recorded_at, %(now)s) END,
                   f.at, extract(epoch FROM f.at - a.arrival),
                   CASE WHEN f.at IS NOT NULL THEN pg_temp.pos(a.team_id, f.at) - a.pos_arrival END,
                   a.level, NULL, '', 1 + a.level + (a.claimed_at IS NOT NULL)::int
                       + coalesce(n.touches, 0)::int,
                   greatest(a.routed_at, coalesce(o2.recorded_at, h.verdict_at, o.recorded_at, a.routed_at))
            FROM bulk_asg a
            JOIN sdr_desk_team t ON t.id = a.team_id
            LEFT JOIN bulk_out o ON o.id = a.id
            LEFT JOIN bulk_out2 o2 ON o2.id = a.id
            LEFT JOIN bulk_handoff h ON h.lead_id = a.id
            LEFT JOIN (SELECT lead_id, count(*) AS touches FROM bulk_touch GROUP BY lead_id) n ON n.lead_id = a.id
            -- The clock stops at the first touch, or at a disposition recorded before any touch.
            CROSS JOIN LATERAL (SELECT coalesce(a.first_touch, o.recorded_at) AS at) f
        """)
        # sla_due_at for a level-2 lead never claimed: the deadline it missed last (due1 when the backup had it).
        self.sql("assignments: missed deadlines", """
            UPDATE sdr_desk_leadassignment x SET sla_due_at = a.due
            FROM bulk_asg a WHERE x.lead_id = a.id AND a.level = 2 AND a.due1 IS NULL AND a.claimed_at IS NULL
        """)
        status = self.status_of
        self.sql("lead statuses", f"""
            UPDATE inbound_lead l SET status = CASE
                    WHEN o2.id IS NOT NULL THEN {status.format(c='o2.code')}
                    WHEN h.status = 'rejected' THEN 'new'
                    WHEN o.id IS NOT NULL THEN {status.format(c='o.code')}
                    WHEN a.first_touch IS NOT NULL THEN 'working' ELSE 'new' END,
                updated_at = greatest(l.updated_at, coalesce(o2.recorded_at, h.verdict_at, o.recorded_at,
                                                              a.first_touch, l.updated_at))
            FROM bulk_asg a
            LEFT JOIN bulk_out o ON o.id = a.id
            LEFT JOIN bulk_out2 o2 ON o2.id = a.id
            LEFT JOIN bulk_handoff h ON h.lead_id = a.id
            WHERE l.id = a.id
        """)
        self.sql("account owners", """
            INSERT INTO sdr_desk_accountowner (account_id, owner_id, since)
            SELECT DISTINCT ON (l.account_id) l.account_id, a.owner, a.owned_since
            FROM bulk_lead l JOIN bulk_asg a ON a.id = l.id
            WHERE l.account_id IS NOT NULL AND a.owner IS NOT NULL
            ORDER BY l.account_id, a.owned_since
            ON CONFLICT (account_id) DO NOTHING
        """)
        self.sql("rep round robin", """
            UPDATE sdr_desk_rep r SET routed_count = r.routed_count + x.n, last_routed_at = greatest(r.last_routed_at,
                                                                                                    x.last)
            FROM (SELECT rr_rep AS user_id, count(*) AS n, max(routed_at) AS last FROM bulk_asg
                  WHERE NOT queued AND NOT (visibility = 'claim' AND hot) GROUP BY rr_rep) x
            WHERE r.user_id = x.user_id
        """)
        for table in ("inbound_account", "inbound_lead", "inbound_submission", "sdr_desk_touch",
                      "dispositions_disposition", "handoff_handoff", "sequences_enrollment"):
            self.value(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                       f"greatest((SELECT max(id) FROM {table}), 1))")
        self.result.counts = {
            "leads": self.n,
            "accounts": self.value("SELECT count(*) FROM bulk_acct"),
            "conversions": self.value("SELECT count(*) FROM bulk_conv"),
            "touches": self.value("SELECT count(*) FROM bulk_touch"),
            "dispositions": self.value("SELECT count(*) FROM bulk_out") + self.value("SELECT count(*) FROM bulk_out2"),
            "handoffs": self.value("SELECT count(*) FROM bulk_handoff"),
            "enrolments": self.value("SELECT count(*) FROM bulk_enrol")
            if self.value("SELECT to_regclass('pg_temp.bulk_enrol') IS NOT NULL") else 0,
        }
        self.sql("drop staging", "DROP TABLE IF EXISTS bulk_hours, bulk_slot, bulk_attr, bulk_acct, bulk_lead, "
                                 "bulk_conv, bulk_asg, bulk_touch, bulk_out, bulk_out2, bulk_handoff, bulk_enrol, "
                                 "bulk_team, bulk_ae")


def _ae_key(sdr_key: str) -> str:
    from sdr_desk.bulk_setup import AE_TEAM_OF

    return AE_TEAM_OF[sdr_key]


def reason_of_first(reasons: dict[str, list[str]]) -> str:
    options = reasons.get("no-response") or []
    return options[0] if options else ""


__all__ = ["SOURCES", "BulkRefused", "Result", "bulk_seed"]
