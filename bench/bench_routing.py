"""Routing benchmark: routing decisions per second with 50 reps and 100 rules, and how long after an SLA
deadline the Django-Q schedule escalates the lead.

    /work/venv/bin/python bench/bench_routing.py [--leads 2000] [--escalations 20] [--keep] [--no-probe]

Runs against a throwaway PostgreSQL database (``sdr_bench_routing`` on
127.0.0.1:5432 unless BENCH_PG_URL names another server), created, migrated
(which also creates the Django-Q schedules, "SLA watch" every minute) and
dropped by this script (``--keep`` keeps it). Django runs in this process with
DEBUG off (DEBUG keeps every query in memory: not what production does).

Setup (not measured): 5 teams x 10 reps, always open, capacity that is never
reached; NA, EMEA, LATAM and APAC own their leads (weighted round robin),
Global is a claim-mode team (hot leads are offered to every rep). 100 active
routing rules: 95 specific ones (each a country/region or industry condition
plus two or three of: industries, employee range, form types, tiers, grades,
US states, sources; three name a rep) which a typical lead fails, so most
leads try them all, then 4 regional catch-alls and one that takes everyone.
``--leads`` leads with varied facts, one form submission each, scored with
the project's default scoring rules. Every team's SLA is a day, so nothing
routed here falls due by itself during the run.

1. Routing, each figure beside a baseline measured in the same run:

   - ``route_decide(lead, rules=rules_load())`` over every lead (the decision
     only, rules loaded once, the lead already in memory; writes nothing);
   - ``lead_route(lead_id)`` over every lead (read the lead, decide, take the
     round-robin slot under the lock, write the assignment, start the clock,
     timeline entry, board push after commit); each call alternates with
   - baseline: read the same lead with its score (``select_related("account",
     "score")``, the query ``lead_route`` uses) and update one row, in a
     transaction.

   Then the queries of ``lead_route`` per call (CaptureQueriesContext) for
   the same leads with 100 active rules and with 10 (90 deactivated): the
   count must not grow with the number of rules.

2. The sweep's own cost (the baseline for escalation): ``sla_sweep`` with
   nothing due, and over ``--escalations`` due leads, per lead.

3. Escalation latency under the schedule as configured: a real
   ``manage.py qcluster`` subprocess (DEBUG=1, Q_WORKERS=2, the bench
   database). Measuring starts once the cluster's first ``sla_watch`` run has
   been taken by a worker (its OrmQ row is locked): Django-Q2 1.11 runs the
   scheduler only every 60 guard cycles of 0.5 s (``django_q/cluster.py``,
   ``Sentinel.guard``: ``counter += cycle; if counter >= 30``), so a fresh
   cluster enqueues its first task ~30 s after it starts, and that start-up
   gap is not what the goal is about. ``--escalations`` hot leads are routed
   to the claim-mode team (state "offered"), then their ``sla_due_at`` is
   UPDATEd straight to staggered moments 10 s to 100 s ahead (simpler than a
   per-lead SLA on the team, and the sweep only looks at ``sla_due_at``). The
   script polls until each assignment has ``escalation_level > 0``; latency =
   the "escalated" timeline entry's ``occurred_at`` (the ``now`` of the sweep
   that escalated it, taken when that sweep began) minus ``sla_due_at``.
   Goal: every lead escalated within 30 s of its deadline.

   With the probe (default; ``--no-probe`` turns it off) the script keeps one
   one-off Django-Q schedule (``time.time``, due at once) in the table and
   notes when the scheduler consumes it: that times every scheduler pass. It
   adds one trivial task per pass.

Everything is written to ``bench/results/routing-<timestamp>.json``; the
cluster's log to ``bench/results/routing-<timestamp>-qcluster.log``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
DB = "sdr_bench_routing"
RESULTS_DIR = ROOT / "bench" / "results"
SECRET = os.environ.get("SECRET_KEY") or "bench-only-not-secret-" + "x" * 40
GOAL_ESCALATION_S = 30.0
ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
DAY = 86400
SLA_WATCH = "sdr_desk.routing.tasks.sla_watch"
PROBE = "bench routing: scheduler probe"
EMAIL_ESCALATE = "escalate"
EMAIL_SWEEP = "sweep"


# --- database and Django ------------------------------------------------------------------------


def database_reset() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")


def database_drop() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def django_setup() -> None:
    os.environ["DATABASE_URL"] = f"{PG}/{DB}"
    os.environ["DEBUG"] = "0"  # DEBUG keeps every query in memory: not what production does
    os.environ["SECRET_KEY"] = SECRET  # the same key as the cluster's: OrmQ payloads are signed with it
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "sdr_desk.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    return {"n": len(seconds), "mean_ms": statistics.fmean(seconds) * 1000,
            "p50_ms": statistics.median(seconds) * 1000, "p99_ms": percentile(seconds, 0.99) * 1000,
            "per_s": len(seconds) / sum(seconds)}


# --- setup -----------------------------------------------------------------------------------------


TEAMS = [("NA", "owned"), ("EMEA", "owned"), ("LATAM", "owned"), ("APAC", "owned"), ("Global", "claim")]

LEAD_COUNTRIES = (["US"] * 28 + ["CA"] * 5 + ["GB"] * 10 + ["DE"] * 8 + ["FR"] * 6 + ["NL"] * 4 + ["SE"] * 2
                  + ["IN"] * 7 + ["JP"] * 3 + ["AU"] * 4 + ["SG"] * 2 + ["BR"] * 6 + ["MX"] * 3 + ["ZA"] * 2
                  + [""] * 10)
US_STATES = ["CA", "NY", "TX", "WA", "MA", "IL", ""]
LEAD_INDUSTRIES = (["Software"] * 25 + ["Fintech"] * 10 + ["Retail"] * 10 + ["Manufacturing"] * 10
                   + ["Healthcare"] * 10 + ["Education"] * 5 + ["Media"] * 5 + ["Logistics"] * 5 + [""] * 20)
LEAD_EMPLOYEES = [None, None, 5, 25, 80, 300, 900, 3000, 12000]
LEAD_FORMS = (["demo_request"] * 20 + ["pricing"] * 10 + ["trial_signup"] * 10 + ["content_download"] * 20
              + ["webinar"] * 15 + ["newsletter"] * 15 + ["contact"] * 10)

RULE_COUNTRIES = ["US", "CA", "GB", "DE", "FR", "NL", "IN", "BR", "AU", "JP", "MX", "SE", "ES", "IT", "SG", "ZA",
                  "AE", "KR", "DACH", "NORDICS", "BENELUX", "ANZ", "MENA", "UKI"]
RULE_INDUSTRIES = ["Software", "Fintech", "Retail", "Manufacturing", "Healthcare", "Education", "Media",
                   "Logistics", "Energy", "Government", "Legal", "Aerospace", "Insurance", "Telecom"]
RULE_EMPLOYEES = [(1, 10), (11, 50), (51, 200), (201, 1000), (1001, 5000), (5001, None), (None, 50), (500, None)]
RULE_FORMS = ["demo_request", "pricing", "trial_signup", "content_download", "webinar", "newsletter", "contact"]
RULE_TIERS = ["hand_raiser", "researcher", "light", "none"]
SPECIFIC_RULES = 95
KEPT_WHEN_TEN = set(range(5)) | set(range(SPECIFIC_RULES, SPECIFIC_RULES + 5))  # positions active in the 10-rule run


def rules_make(rng: random.Random, teams: dict[str, Any], named_reps: list[Any], partner: Any) -> None:
    """95 specific rules a typical lead fails, then the regional catch-alls and one for everyone.

    Every specific rule has a country/region or an industry condition, so a lead with neither
    (the escalation leads) always falls through to the last catch-all, the claim-mode Global team.
    """
    from sdr_desk.routing.models import RoutingRule

    rules, with_source = [], []
    for position in range(SPECIFIC_RULES):
        fields: dict[str, Any] = {}
        if rng.random() < 0.7:
            fields["countries"] = rng.sample(RULE_COUNTRIES, rng.choice([1, 1, 2]))
        else:
            fields["industries"] = rng.sample(RULE_INDUSTRIES, rng.choice([1, 2]))
        extras = ["industries", "employees", "form_types", "tiers", "grades", "states", "source"]
        for extra in rng.sample(extras, rng.choice([2, 3])):
            if extra == "industries" and "industries" not in fields:
                fields["industries"] = rng.sample(RULE_INDUSTRIES, rng.choice([1, 2]))
            elif extra == "employees":
                fields["employee_min"], fields["employee_max"] = rng.choice(RULE_EMPLOYEES)
            elif extra == "form_types":
                fields["form_types"] = rng.sample(RULE_FORMS, rng.choice([1, 2]))
            elif extra == "tiers":
                fields["tiers"] = [rng.choice(RULE_TIERS)]
            elif extra == "grades":
                fields["grades"] = rng.sample("ABCD", rng.choice([1, 2]))
            elif extra == "states" and fields.get("countries") == ["US"]:
                fields["states"] = rng.sample(US_STATES[:-1], 2)
            elif extra == "source":
                with_source.append(position)
        if position in (7, 41, 77):  # a few rules name a rep rather than a team
            fields["target_rep"] = named_reps[position % len(named_reps)]
        else:
            fields["target_team"] = teams[rng.choice(["NA", "EMEA", "LATAM", "APAC", "Global"])]
        rules.append(RoutingRule(name=f"Specific {position:02d}", position=position, **fields))
    for offset, (name, countries) in enumerate([("NA", ["NA"]), ("EMEA", ["EMEA"]), ("LATAM", ["LATAM"]),
                                                 ("APAC", ["APAC"]), ("Global", [])]):
        rules.append(RoutingRule(name=f"Catch-all {name}", position=SPECIFIC_RULES + offset, countries=countries,
                                 target_team=teams[name]))
    for rule in rules:
        rule.full_clean(exclude=["sources"])
    RoutingRule.objects.bulk_create(rules)
    for rule in RoutingRule.objects.filter(position__in=with_source):
        rule.sources.add(partner)


def leads_make(rng: random.Random, prefix: str, count: int, sources: list[Any], *,
               anonymous: bool = False) -> list[int]:
    """Leads with one form submission each (and a page view or two), scored; ``anonymous``: no country,
    industry or size, a demo request (hot, hand-raiser), so they fall through to the Global catch-all."""
    from django.utils import timezone

    from inbound.models import Activity, Lead
    from scoring.services import leads_rescore_bulk

    now = timezone.now()
    leads = []
    for i in range(count):
        if anonymous:
            country, state, industry, employees, form = "", "", "", None, "demo_request"
        else:
            country = rng.choice(LEAD_COUNTRIES)
            state = rng.choice(US_STATES) if country == "US" else ""
            industry, employees, form = rng.choice(LEAD_INDUSTRIES), rng.choice(LEAD_EMPLOYEES), rng.choice(
                LEAD_FORMS)
        leads.append(Lead(email=f"{prefix}{i}@company{i % 700}.example", country=country, state=state,
                          industry=industry, employee_count=employees, last_form_type=form,
                          job_title=rng.choice(["VP Sales", "Head of RevOps", "Marketing Manager", "CEO", ""]),
                          source=sources[0] if rng.random() < 0.9 else sources[1],
                          last_converted_at=now - timedelta(minutes=rng.uniform(1, 120))))
    Lead.objects.bulk_create(leads, batch_size=2000)
    activities = []
    for lead in leads:
        activities.append(Activity(lead=lead, type="form_submit", form_type=lead.last_form_type,
                                   occurred_at=lead.last_converted_at, source=lead.source))
        for _ in range(rng.randint(0, 2)):
            activities.append(Activity(lead=lead, type="page_view", url="/pricing", name="m",
                                       occurred_at=now - timedelta(hours=rng.uniform(1, 48))))
    Activity.objects.bulk_create(activities, batch_size=5000)
    ids = [lead.pk for lead in leads]
    leads_rescore_bulk(lead_ids=ids, open_only=False, trigger="bench")
    return ids


def desk_make(n_leads: int, n_escalations: int) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from inbound.models import Source
    from sdr_desk.routing.models import Rep, Team

    rng = random.Random(11)
    User = get_user_model()
    teams = {name: Team.objects.create(name=name, visibility=visibility, is_default=(name == "Global"),
                                       business_hours=ALWAYS, sla_hand_raiser_seconds=DAY,
                                       sla_researcher_seconds=DAY)
             for name, visibility in TEAMS}
    unusable = make_password(None)
    users = User.objects.bulk_create([User(username=f"{name.lower()}-rep{i:02d}", first_name=f"{name} {i}",
                                           password=unusable)
                                      for name, _ in TEAMS for i in range(10)])
    Rep.objects.bulk_create([Rep(user=user, team=teams[TEAMS[n // 10][0]], working_hours=ALWAYS,
                                 capacity=1_000_000, weight=rng.choice([1, 1, 1, 2, 3]))
                             for n, user in enumerate(users)])
    web, partner = Source.objects.create(name="Bench web"), Source.objects.create(name="Bench partner")
    rules_make(rng, teams, [users[3], users[15], users[27]], partner)
    return {
        "teams": teams,
        "routing_ids": leads_make(rng, "lead", n_leads, [web, partner]),
        "sweep_ids": leads_make(rng, EMAIL_SWEEP, n_escalations, [web, partner], anonymous=True),
        "escalation_ids": leads_make(rng, EMAIL_ESCALATE, n_escalations, [web, partner], anonymous=True),
    }


# --- 1. routing ------------------------------------------------------------------------------------


def bench_decide(ids: list[int]) -> dict[str, Any]:
    from inbound.models import Lead
    from sdr_desk.routing.engine import facts_for, route_decide, rules_load

    load_times = []
    for _ in range(20):
        started = time.perf_counter()
        rules = rules_load()
        load_times.append(time.perf_counter() - started)
    leads = list(Lead.objects.select_related("account", "score").filter(pk__in=ids).order_by("pk"))
    for lead in leads[:20]:  # warm up
        route_decide(lead, rules=rules)
    decide, baseline, tried, outcomes, teams = [], [], [], Counter(), Counter()
    catch_all_owned: list[int] = []
    for lead in leads:  # each decision alternates with the baseline, so machine noise hits both alike
        started = time.perf_counter()
        baseline_once(lead.pk)
        baseline.append(time.perf_counter() - started)
        started = time.perf_counter()
        decision = route_decide(lead, rules=rules)
        decide.append(time.perf_counter() - started)
        n = len(decision.trace["rules"])
        tried.append(n)
        outcomes[str(decision.state)] += 1
        teams[decision.team.name if decision.team else None] += 1
        if n > SPECIFIC_RULES and decision.team is not None and decision.team.name in ("NA", "EMEA"):
            catch_all_owned.append(lead.pk)
    # the rule matching alone (facts, then first match over the compiled rules), no database
    matching = []
    for lead in leads:
        started = time.perf_counter()
        facts = facts_for(lead)
        for compiled in rules:
            if compiled.check(facts)[0]:
                break
        matching.append(time.perf_counter() - started)
    return {
        "rules": len(rules),
        "rules_load_ms_p50": statistics.median(load_times) * 1000,
        "route_decide": summary_ms(decide),
        "baseline": summary_ms(baseline),
        "rule_matching_only": summary_ms(matching),
        "rules_tried_mean": statistics.fmean(tried),
        "share_trying_all_specific_rules": sum(1 for n in tried if n > SPECIFIC_RULES) / len(tried),
        "decisions_by_state": dict(outcomes),
        "decisions_by_team": dict(teams),
        "_catch_all_owned_ids": catch_all_owned,
    }


def baseline_once(pk: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from inbound.models import Lead

    with transaction.atomic():
        Lead.objects.select_related("account", "score").get(pk=pk)
        Lead.objects.filter(pk=pk).update(updated_at=timezone.now())


def bench_route(ids: list[int]) -> dict[str, Any]:
    from sdr_desk.routing.engine import lead_route
    from sdr_desk.routing.models import LeadAssignment, Rep

    for pk in ids[:10]:  # warm up (routed again below: a re-route costs the same queries)
        baseline_once(pk)
        lead_route(pk)
    route, baseline = [], []
    for pk in ids:
        started = time.perf_counter()
        baseline_once(pk)
        baseline.append(time.perf_counter() - started)
        started = time.perf_counter()
        lead_route(pk)
        route.append(time.perf_counter() - started)
    states = Counter(LeadAssignment.objects.filter(lead_id__in=ids).values_list("state", flat=True))
    counts = sorted(Rep.objects.filter(team__visibility="owned").values_list("routed_count", "weight"),
                    key=lambda row: row[0])
    return {"lead_route": summary_ms(route), "baseline": summary_ms(baseline), "states": dict(states),
            "round_robin_per_weight_min_max": [min(c / w for c, w in counts), max(c / w for c, w in counts)]}


def queries_per_call(sample: list[int]) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sdr_desk.routing.engine import lead_route
    from sdr_desk.routing.models import RoutingRule

    def capture() -> tuple[list[int], list[str]]:
        counts, first = [], []
        for pk in sample:
            with CaptureQueriesContext(connection) as ctx:
                lead_route(pk)
            counts.append(len(ctx.captured_queries))
            if not first:
                first = [q["sql"][:110] for q in ctx.captured_queries]
        return counts, first

    hundred, statements = capture()
    RoutingRule.objects.exclude(position__in=KEPT_WHEN_TEN).update(is_active=False)
    try:
        assert RoutingRule.objects.filter(is_active=True).count() == 10
        ten, _ = capture()
    finally:
        RoutingRule.objects.update(is_active=True)
    return {"leads": sample, "with_100_rules": hundred, "with_10_rules": ten,
            "constant": hundred == ten, "statements_one_call": statements}


def time_by_rule_count(ids: list[int]) -> dict[str, Any]:
    """lead_route with 100 and with 10 active rules, alternating lead by lead (the switch is not timed):
    the queries stay the same, but every call loads and decodes all active rules again."""
    from sdr_desk.routing.engine import lead_route, rules_load
    from sdr_desk.routing.models import RoutingRule

    times: dict[int, list[float]] = {100: [], 10: []}
    loads: dict[int, list[float]] = {100: [], 10: []}
    try:
        for pk in ids:
            for count in (100, 10):
                if count == 100:
                    RoutingRule.objects.update(is_active=True)
                else:
                    RoutingRule.objects.exclude(position__in=KEPT_WHEN_TEN).update(is_active=False)
                started = time.perf_counter()
                rules_load()
                loads[count].append(time.perf_counter() - started)
                started = time.perf_counter()
                lead_route(pk)
                times[count].append(time.perf_counter() - started)
    finally:
        RoutingRule.objects.update(is_active=True)
    return {"leads": len(ids), **{f"lead_route_{n}_rules": summary_ms(t) for n, t in times.items()},
            **{f"rules_load_{n}_rules": summary_ms(t) for n, t in loads.items()}}


# --- 2. the sweep's own cost ---------------------------------------------------------------------


def bench_sweep(sweep_ids: list[int], team: Any) -> dict[str, Any]:
    from django.utils import timezone

    from sdr_desk.routing.engine import lead_route
    from sdr_desk.routing.models import LeadAssignment
    from sdr_desk.routing.sla import sla_sweep

    for pk in sweep_ids:
        lead_route(pk)
    assert LeadAssignment.objects.filter(lead_id__in=sweep_ids, team=team, state="offered").count() == len(sweep_ids)
    idle = []
    for _ in range(10):
        started = time.perf_counter()
        counts = sla_sweep(now=timezone.now())
        idle.append(time.perf_counter() - started)
        assert counts == {"warned": 0, "escalated": 0, "released": 0}, counts
    LeadAssignment.objects.filter(lead_id__in=sweep_ids).update(sla_due_at=timezone.now() - timedelta(seconds=1),
                                                                 sla_warn_at=None)
    started = time.perf_counter()
    counts = sla_sweep(now=timezone.now())
    busy = time.perf_counter() - started
    assert counts["escalated"] == len(sweep_ids), counts
    return {"idle_sweep_ms_p50": statistics.median(idle) * 1000, "due": len(sweep_ids),
            "sweep_over_due_s": busy, "per_lead_ms": busy / len(sweep_ids) * 1000}


# --- 3. escalation under the real schedule -------------------------------------------------------


class Cluster:
    """``manage.py qcluster`` in its own process group, killed as a group."""

    def __init__(self, log_path: Path) -> None:
        env = dict(os.environ)
        env.update(DATABASE_URL=f"{PG}/{DB}", DEBUG="1", Q_WORKERS="2", SECRET_KEY=SECRET, LOG_LEVEL="INFO",
                   DJANGO_SETTINGS_MODULE="sdr_desk.settings")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
        self.log = open(log_path, "wb")
        self.started = datetime.now(UTC)
        self.process = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "qcluster"], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        try:  # workers left behind by a SIGTERM'd sentinel are still in the group
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()


class Watcher:
    """One poll of everything the escalation phase follows (every 0.25 s)."""

    def __init__(self, probe: bool) -> None:
        self.probe = probe
        self.runs: dict[str, dict[str, Any]] = {}  # sla_watch task id -> enqueued/started/stopped
        self.scheduler_passes: list[datetime] = []  # when the probe schedule was consumed
        self.next_runs: list[tuple[datetime, datetime]] = []  # (seen at, SLA watch next_run)
        if probe:
            self.probe_put()

    def probe_put(self) -> None:
        from django.utils import timezone
        from django_q.models import Schedule

        Schedule.objects.create(name=PROBE, func="time.time", schedule_type=Schedule.ONCE, repeats=-1,
                                next_run=timezone.now() - timedelta(seconds=1))

    def poll(self) -> None:
        from django.conf import settings
        from django.utils import timezone
        from django_q.models import OrmQ, Schedule

        now = timezone.now()
        if self.probe and not Schedule.objects.filter(name=PROBE).exists():
            self.scheduler_passes.append(now)  # consumed by a pass between the last poll and now
            self.probe_put()
        next_run = Schedule.objects.filter(name="SLA watch").values_list("next_run", flat=True).first()
        if not self.next_runs or self.next_runs[-1][1] != next_run:
            self.next_runs.append((now, next_run))
        retry = timedelta(seconds=settings.Q_CLUSTER["retry"])
        for row in OrmQ.objects.all():
            if row.func() != SLA_WATCH:
                continue
            run = self.runs.setdefault(row.task_id(), {})
            run.setdefault("name", row.name())
            if row.lock <= now:  # enqueued, not taken yet: the lock is still the enqueue time
                run.setdefault("enqueued", row.lock)
            else:  # taken by the pusher: lock = taken + retry
                run.setdefault("taken", row.lock - retry)

    def first_run_taken(self) -> bool:
        return any("taken" in run for run in self.runs.values())

    def finish(self, log_path: Path) -> None:
        """Add what the Task table (finished runs) and the cluster's log (when a worker began each run) say.

        Django-Q's ``Task.started`` is set by ``async_task``, so it is the enqueue time, not the start.
        """
        from django_q.models import Task

        for task in Task.objects.filter(func=SLA_WATCH):
            run = self.runs.setdefault(task.id, {})
            run.setdefault("enqueued", task.started)
            run.update(name=task.name, stopped=task.stopped, result=task.result, success=task.success)
        processing = {}
        for line in log_path.read_text(errors="replace").splitlines():
            # "2026-11-23 20:53:04,026 INFO django-q Process-... processing <name> 'sdr_desk.routing.tasks.sla_watch' ..."
            if f"'{SLA_WATCH}'" in line and " processing " in line:
                name = line.split(" processing ", 1)[1].split()[0]
                local = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
                processing[name] = local.astimezone(UTC)  # the log's asctime is the local time
        for run in self.runs.values():
            if run.get("name") in processing:
                run["worker_started"] = processing[run["name"]]


def bench_escalation(escalation_ids: list[int], team: Any, log_path: Path, *, probe: bool) -> dict[str, Any]:
    from django.utils import timezone

    from inbound.models import TimelineEntry
    from sdr_desk.routing.engine import lead_route
    from sdr_desk.routing.models import LeadAssignment

    for pk in escalation_ids:  # routed now; their deadlines (a day away) are moved below
        lead_route(pk)
    assert LeadAssignment.objects.filter(lead_id__in=escalation_ids, team=team, state="offered").count() == len(
        escalation_ids)

    cluster = Cluster(log_path)
    watcher = Watcher(probe)
    result: dict[str, Any] = {"cluster_started": cluster.started.isoformat()}
    try:
        deadline = time.monotonic() + 180
        while not watcher.first_run_taken():
            if not cluster.alive():
                raise RuntimeError(f"qcluster exited with {cluster.process.returncode}; see {log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no sla_watch run within 180 s of the cluster start; see {log_path}")
            watcher.poll()
            time.sleep(0.25)
        first_taken = min(run["taken"] for run in watcher.runs.values() if "taken" in run)
        result["first_sla_watch_taken_after_start_s"] = (first_taken - cluster.started).total_seconds()
        print(f"  first sla_watch run taken {result['first_sla_watch_taken_after_start_s']:.1f} s after the "
              f"cluster started; deadlines from now on")

        # Staggered deadlines: UPDATE sla_due_at directly (the sweep only reads sla_due_at), 10 s to 100 s ahead,
        # a spacing that is not a multiple of the sweep's 5 s so the deadlines sample every phase of the cycle.
        t0 = timezone.now()
        spacing = 90.0 / max(len(escalation_ids) - 1, 1)
        due = {pk: t0 + timedelta(seconds=10 + i * spacing) for i, pk in enumerate(escalation_ids)}
        for pk, at in due.items():
            LeadAssignment.objects.filter(lead_id=pk).update(sla_due_at=at, sla_warn_at=None)
        last_due = max(due.values())
        seen: dict[int, datetime] = {}
        stop_at = last_due + timedelta(seconds=150)  # two and a half schedule periods after the last deadline
        while len(seen) < len(due) and timezone.now() < stop_at:
            if not cluster.alive():
                raise RuntimeError(f"qcluster exited with {cluster.process.returncode}; see {log_path}")
            watcher.poll()
            now = timezone.now()
            for pk in LeadAssignment.objects.filter(lead_id__in=list(due), escalation_level__gt=0) \
                    .values_list("lead_id", flat=True):
                seen.setdefault(pk, now)
            time.sleep(0.25)
        watcher.poll()
    finally:
        cluster.stop()
    watcher.finish(log_path)

    escalated_at: dict[int, datetime] = {}
    for entry in TimelineEntry.objects.filter(lead_id__in=list(due), kind="owner").order_by("occurred_at"):
        if entry.data.get("change") == "escalated":
            escalated_at.setdefault(entry.lead_id, entry.occurred_at)
    rows = []
    for pk, at in sorted(due.items(), key=lambda item: item[1]):
        sweep_at = escalated_at.get(pk)
        rows.append({"lead": pk, "due_in_s": (at - t0).total_seconds(), "due": at.isoformat(),
                     "escalated": sweep_at.isoformat() if sweep_at else None,
                     "latency_s": (sweep_at - at).total_seconds() if sweep_at else None,
                     "seen_by_poll_s": (seen[pk] - at).total_seconds() if pk in seen else None})
    latencies = [r["latency_s"] for r in rows if r["latency_s"] is not None]
    runs = sorted(({"task": task, **{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in run.items()}}
                   for task, run in watcher.runs.items()),
                  key=lambda run: run.get("worker_started") or run.get("taken") or run.get("enqueued") or "")
    started_runs = [run for run in runs if run.get("worker_started") or run.get("taken")]
    starts = [datetime.fromisoformat(run.get("worker_started") or run["taken"]) for run in started_runs]
    # A hole: from the end of one run (its last sweep) to the start of the next, nothing sweeps; a deadline
    # just after a run's last sweep waits the whole hole. Runs that overlap leave no hole (negative).
    holes = [(datetime.fromisoformat(b.get("worker_started") or b["taken"])
              - datetime.fromisoformat(a["stopped"])).total_seconds()
             for a, b in zip(started_runs, started_runs[1:], strict=False) if a.get("stopped")]
    passes = watcher.scheduler_passes
    result.update({
        "t0": t0.isoformat(),
        "leads": rows,
        "escalated": len(latencies),
        "missing": len(rows) - len(latencies),
        "latency_min_s": min(latencies) if latencies else None,
        "latency_p50_s": statistics.median(latencies) if latencies else None,
        "latency_max_s": max(latencies) if latencies else None,
        "sweep_moments": sorted({r["escalated"] for r in rows if r["escalated"]}),
        "sla_watch_runs": runs,
        "sla_watch_start_gaps_s": [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)],
        "sla_watch_holes_s": holes,
        "sla_watch_next_runs": [(seen_at.isoformat(), nr.isoformat() if nr else None)
                                for seen_at, nr in watcher.next_runs],
        "scheduler_passes": [p.isoformat() for p in passes],
        "scheduler_pass_gaps_s": [(b - a).total_seconds() for a, b in zip(passes, passes[1:], strict=False)],
        "goal_met": len(latencies) == len(rows) and max(latencies, default=1e9) < GOAL_ESCALATION_S,
    })
    return result


# --- report -----------------------------------------------------------------------------------------


def environment() -> dict[str, Any]:
    from importlib.metadata import version

    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        head = ""
    from django.conf import settings

    return {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "django": django.get_version(), "django_q2": version("django-q2"), "postgresql": pg,
            "git_head": head, "note": "working tree may differ from git_head",
            "q_cluster": {k: settings.Q_CLUSTER.get(k) for k in ("workers", "poll", "timeout", "retry", "catch_up")},
            "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--escalations", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--no-probe", dest="probe", action="store_false",
                        help="do not time the scheduler's passes with a one-off probe schedule")
    args = parser.parse_args()

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out_path = RESULTS_DIR / f"routing-{stamp}.json"
    log_path = RESULTS_DIR / f"routing-{stamp}-qcluster.log"

    database_reset()
    django_setup()
    try:
        started = time.perf_counter()
        desk = desk_make(args.leads, args.escalations)
        print(f"setup: 5 teams x 10 reps, 100 rules, {args.leads:,} leads (+{2 * args.escalations} for the SLA) "
              f"in {time.perf_counter() - started:.1f} s")
        results: dict[str, Any] = {"args": vars(args), "environment": environment()}

        decide = bench_decide(desk["routing_ids"])
        sample = decide.pop("_catch_all_owned_ids")[:5]
        route = bench_route(desk["routing_ids"])
        queries = queries_per_call(sample)
        by_rules = time_by_rule_count(desk["routing_ids"][:min(300, len(desk["routing_ids"]))])
        results.update(decide=decide, route=route, queries=queries, by_rule_count=by_rules)
        rd, lr = decide["route_decide"], route["lead_route"]
        print(f"\nrouting, {args.leads:,} leads, {decide['rules']} active rules, 50 reps")
        print(f"  rules tried per lead: mean {decide['rules_tried_mean']:.0f}; "
              f"{decide['share_trying_all_specific_rules']:.0%} of leads fail all 95 specific rules; "
              f"decisions {decide['decisions_by_state']}")
        print(f"  rules_load() (once per lead_route call)   p50 {decide['rules_load_ms_p50']:6.2f} ms")
        print(f"  rule matching only (facts + 100 checks)   p50 {decide['rule_matching_only']['p50_ms']:6.3f} ms")
        for label, row, base in (
                ("route_decide (rules preloaded)", rd, decide["baseline"]),
                ("  baseline alongside it", decide["baseline"], decide["baseline"]),
                ("lead_route (decide+lock+write)", lr, route["baseline"]),
                ("  baseline alongside it", route["baseline"], route["baseline"])):
            print(f"  {label:38s} {row['per_s']:7.0f}/s   p50 {row['p50_ms']:6.2f} ms   p99 {row['p99_ms']:6.2f} ms"
                  f"   mean {row['mean_ms'] / base['mean_ms']:.1f}x baseline")
        print("  (baseline: read the lead with select_related('account', 'score') + a one-row update, "
              "in a transaction, alternating with each call)")
        print(f"  lead_route queries per call, same {len(sample)} leads: 100 rules {queries['with_100_rules']}, "
              f"10 rules {queries['with_10_rules']} -> "
              f"{'constant' if queries['constant'] else 'GROWS with the rules'}")
        t100, t10 = by_rules["lead_route_100_rules"], by_rules["lead_route_10_rules"]
        print(f"  lead_route time, same {by_rules['leads']} leads alternating: 100 rules p50 {t100['p50_ms']:.1f} ms, "
              f"10 rules p50 {t10['p50_ms']:.1f} ms (rules_load p50 {by_rules['rules_load_100_rules']['p50_ms']:.1f} "
              f"vs {by_rules['rules_load_10_rules']['p50_ms']:.1f} ms)")

        sweep = bench_sweep(desk["sweep_ids"], desk["teams"]["Global"])
        results["sweep"] = sweep
        print("\nsweep cost (baseline for escalation)")
        print(f"  sla_sweep with nothing due            p50 {sweep['idle_sweep_ms_p50']:6.2f} ms")
        print(f"  sla_sweep over {sweep['due']} due leads          {sweep['sweep_over_due_s'] * 1000:7.1f} ms  "
              f"= {sweep['per_lead_ms']:.2f} ms a lead")

        print(f"\nescalation under the Django-Q schedule (qcluster, 2 workers; log {log_path.name})")
        esc = bench_escalation(desk["escalation_ids"], desk["teams"]["Global"], log_path, probe=args.probe)
        results["escalation"] = esc
        if esc["escalated"]:
            print(f"  {esc['escalated']}/{len(esc['leads'])} escalated; latency after the deadline: "
                  f"min {esc['latency_min_s']:.1f} s  p50 {esc['latency_p50_s']:.1f} s  "
                  f"max {esc['latency_max_s']:.1f} s")
        else:
            print("  nothing escalated")
        for row in esc["leads"]:
            print(f"    due +{row['due_in_s']:5.1f} s  -> escalated by the sweep of "
                  f"{row['escalated'][11:23] if row['escalated'] else '-':12s}  "
                  f"latency {row['latency_s'] if row['latency_s'] is not None else float('nan'):5.1f} s")
        print(f"  sla_watch runs started {len(esc['sla_watch_start_gaps_s']) + 1}; gaps between starts (s): "
              f"{[round(g, 1) for g in esc['sla_watch_start_gaps_s']]}; no sweep between one run's end and the "
              f"next start (s): {[round(g, 1) for g in esc['sla_watch_holes_s']]}")
        if esc["scheduler_pass_gaps_s"]:
            print(f"  scheduler passes (probe): gaps (s) {[round(g, 1) for g in esc['scheduler_pass_gaps_s']]}")
        sweep_lead_s = sweep["per_lead_ms"] / 1000
        print(f"  baseline: the sweep itself takes {sweep['per_lead_ms']:.2f} ms a lead "
              f"(max latency {esc['latency_max_s'] or float('nan'):.1f} s = "
              f"{(esc['latency_max_s'] or 0) / sweep_lead_s:,.0f}x that)")
        print(f"  goal: escalation within {GOAL_ESCALATION_S:.0f} s of the deadline: "
              f"{'met' if esc['goal_met'] else 'NOT met'}")
        print(f"\ngoal met: {'yes' if esc['goal_met'] else 'NO'} (routing figures are reported, not judged)")

        out_path.write_text(json.dumps(results, indent=2, default=str))
        print(f"\nwrote {out_path.relative_to(ROOT)}")
    finally:
        if not args.keep:
            database_drop()


if __name__ == "__main__":
    main()
