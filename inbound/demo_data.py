"""Realistic inbound traffic for demos: payloads that look like what buyers and systems send.

One generator serves ``seed_demo`` (a month of backdated history) and
``simulate_inbound`` (live traffic), so the demo and the live feed tell the
same story. Every function is pure: it takes a ``random.Random`` (and, where
time matters, ``now``) and returns plain JSON-able dicts in the intake
contract of ``inbound.payloads``; nothing here reads the clock or the
database, so a seed reproduces the same data.

The people and companies are invented. Company domains use real top-level
domains so accounts and free-mail detection look as they will in production;
never point a desk that sends real email at demo data.
"""

from __future__ import annotations

import unicodedata
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random
from typing import Any

SITE = "https://www.example.com"

# Where demo leads come from: source name -> Source.channel.
SOURCES: dict[str, str] = {
    "Website": "web_form",
    "G2 Reviews": "review_site",
    "Partner: Northwind": "partner",
    "Webinar platform": "webinar",
    "Trade show import": "event",
}

# The share of each first conversion, as inbound teams report it: content
# brings the volume, hand-raisers (demo, pricing, trial) the urgency.
FORM_TYPE_WEIGHTS: dict[str, int] = {
    "demo_request": 15,
    "pricing": 10,
    "trial_signup": 10,
    "content_download": 35,
    "webinar": 15,
    "newsletter": 10,
    "contact": 5,
}
# Someone converting again has usually moved towards buying.
REPEAT_FORM_TYPE_WEIGHTS: dict[str, int] = {
    "demo_request": 25,
    "pricing": 20,
    "trial_signup": 10,
    "content_download": 25,
    "webinar": 15,
    "newsletter": 0,
    "contact": 5,
}

ASSETS: dict[str, tuple[str, ...]] = {
    "demo_request": ("Product demo",),
    "pricing": ("Pricing: Growth plan", "Pricing: Enterprise plan"),
    "trial_signup": ("14-day free trial",),
    "content_download": (
        "State of RevOps 2026",
        "The Speed-to-Lead Playbook",
        "Inbound Qualification Checklist",
        "SDR Compensation Benchmark 2026",
        "Lead Routing 101",
    ),
    "webinar": (
        "Webinar: Building a 5-minute speed-to-lead motion",
        "Webinar: Routing inbound leads without round-robin chaos",
        "Webinar: RevOps roundtable on pipeline quality",
    ),
    "newsletter": ("The Inbound Weekly",),
    "contact": ("",),
}

_FORM_PAGES: dict[str, str] = {
    "demo_request": "/demo",
    "pricing": "/pricing",
    "trial_signup": "/signup",
    "newsletter": "/blog",
    "contact": "/contact",
}

PAGES: tuple[tuple[str, str], ...] = (
    ("/", "Inbound SDR desk: answer every lead in minutes"),
    ("/product/routing", "Lead routing"),
    ("/product/live-board", "The live board"),
    ("/product/sequences", "Sequences"),
    ("/customers", "Customer stories"),
    ("/integrations/salesforce", "Salesforce integration"),
    ("/integrations/hubspot", "HubSpot integration"),
    ("/blog/speed-to-lead-benchmarks", "Speed-to-lead benchmarks 2026"),
    ("/blog/inbound-qualification-checklist", "The inbound qualification checklist"),
    ("/blog/sdr-handoff-to-ae", "A clean SDR-to-AE handoff"),
    ("/security", "Security and compliance"),
    ("/docs/api", "API reference"),
)
PRICING_PAGES: tuple[tuple[str, str], ...] = (
    ("/pricing", "Pricing"),
    ("/pricing#enterprise", "Pricing: Enterprise"),
    ("/pricing/compare", "Compare plans"),
)
TRIAL_MILESTONES: tuple[str, ...] = (
    "Workspace created",
    "Invited a teammate",
    "Connected Salesforce",
    "Connected HubSpot",
    "Routed first 10 leads",
    "Built a first sequence",
    "Active on trial day 7",
)

FIRST_NAMES: tuple[str, ...] = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Sophia", "Lucas", "Mia", "Mason", "Priya", "Arjun",
    "Ananya", "Rohan", "Wei", "Mei", "Hiroshi", "Yuki", "Fatima", "Omar", "Leila", "Carlos", "Sofia", "Mateo",
    "Valentina", "Lukas", "Hannah", "Jonas", "Lea", "Felix", "Chloé", "Louis", "Camille", "Hugo", "Sven",
    "Ingrid", "Niamh", "Conor", "Aoife", "Tom", "Charlotte", "Harry", "Amelia", "Jack", "Isla", "Grace",
    "Daniel", "Rachel", "Marcus", "Jasmine", "Tyler", "Brianna", "Kevin", "Laura", "Ben", "Zoë", "Renée",
    "Jürgen", "Björn", "Sean", "Kwame", "Amara", "Diego", "Elena", "Ravi", "Nadia", "Sam", "Alex",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Martinez", "Nguyen", "Patel", "Sharma", "Iyer", "Chen",
    "Wang", "Kim", "Tanaka", "Sato", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Dubois", "Moreau",
    "Laurent", "Lefèvre", "de Vries", "van Dijk", "Jansen", "Bakker", "O'Brien", "Murphy", "Kelly", "Walsh",
    "Taylor", "Davies", "Evans", "Thompson", "Wright", "Robinson", "Hughes", "Clarke", "Andersson",
    "Johansson", "Rossi", "Silva", "Costa", "Okafor", "Adeyemi", "Mensah", "Cohen", "Kowalski", "Novak",
    "MacDonald", "Campbell", "Singh", "Reddy", "Khan", "Lindqvist", "Ferreira", "Horvat", "Brennan",
)


@dataclass(frozen=True)
class Persona:
    """A job title and how its holders tend to sign up."""

    title: str
    weight: int
    free_mail: float = 0.08  # chance of signing up with a personal address


PERSONAS: tuple[Persona, ...] = (
    Persona("VP Sales", 6),
    Persona("VP of Sales", 3),
    Persona("Head of RevOps", 6),
    Persona("Director of Demand Generation", 6),
    Persona("Sales Ops Manager", 4),
    Persona("Sales Operations Manager", 4),
    Persona("Chief Revenue Officer", 3),
    Persona("CRO", 1),
    Persona("Marketing Ops Specialist", 3),
    Persona("Marketing Operations Specialist", 3),
    Persona("Founder", 3, free_mail=0.3),
    Persona("Co-founder & CEO", 2, free_mail=0.25),
    Persona("Head of Sales Development", 5),
    Persona("SDR Manager", 5),
    Persona("Director of Sales", 4),
    Persona("RevOps Analyst", 4),
    Persona("Growth Marketing Manager", 4),
    Persona("CMO", 2),
    Persona("Account Executive", 3),
    Persona("Business Development Representative", 3),
    Persona("IT Manager", 2),
    Persona("Consultant", 2, free_mail=0.5),
    Persona("Student", 2, free_mail=1.0),
)


@dataclass(frozen=True)
class City:
    name: str
    state: str
    country: str  # ISO alpha-2
    time_zone: str
    area: str  # the national dialling prefix we make phone numbers in


CITIES: dict[str, City] = {
    "sf": City("San Francisco", "CA", "US", "America/Los_Angeles", "415"),
    "nyc": City("New York", "NY", "US", "America/New_York", "212"),
    "austin": City("Austin", "TX", "US", "America/Chicago", "512"),
    "chicago": City("Chicago", "IL", "US", "America/Chicago", "312"),
    "boston": City("Boston", "MA", "US", "America/New_York", "617"),
    "denver": City("Denver", "CO", "US", "America/Denver", "303"),
    "seattle": City("Seattle", "WA", "US", "America/Los_Angeles", "206"),
    "toronto": City("Toronto", "ON", "CA", "America/Toronto", "416"),
    "vancouver": City("Vancouver", "BC", "CA", "America/Vancouver", "604"),
    "london": City("London", "England", "GB", "Europe/London", "20"),
    "manchester": City("Manchester", "England", "GB", "Europe/London", "161"),
    "berlin": City("Berlin", "Berlin", "DE", "Europe/Berlin", "30"),
    "munich": City("Munich", "Bavaria", "DE", "Europe/Berlin", "89"),
    "paris": City("Paris", "Île-de-France", "FR", "Europe/Paris", "1"),
    "lyon": City("Lyon", "Auvergne-Rhône-Alpes", "FR", "Europe/Paris", "4"),
    "amsterdam": City("Amsterdam", "North Holland", "NL", "Europe/Amsterdam", "20"),
    "sydney": City("Sydney", "NSW", "AU", "Australia/Sydney", "2"),
    "melbourne": City("Melbourne", "VIC", "AU", "Australia/Melbourne", "3"),
    "bengaluru": City("Bengaluru", "Karnataka", "IN", "Asia/Kolkata", "80"),
    "mumbai": City("Mumbai", "Maharashtra", "IN", "Asia/Kolkata", "22"),
    "dublin": City("Dublin", "", "IE", "Europe/Dublin", "1"),
    "singapore": City("Singapore", "", "SG", "Asia/Singapore", "6"),
}

# How people write their country in a free-text field; the contract accepts all of these.
COUNTRY_SPELLINGS: dict[str, tuple[str, ...]] = {
    "US": ("US", "United States", "USA", "United States of America"),
    "CA": ("CA", "Canada"),
    "GB": ("GB", "United Kingdom", "UK", "England"),
    "DE": ("DE", "Germany", "Deutschland"),
    "FR": ("FR", "France"),
    "NL": ("NL", "Netherlands", "The Netherlands"),
    "AU": ("AU", "Australia"),
    "IN": ("IN", "India"),
    "IE": ("IE", "Ireland"),
    "SG": ("SG", "Singapore"),
}

# National significant number lengths after the area code, so every number
# generated is a possible one for its country (phonenumbers checks length).
_SUBSCRIBER_DIGITS: dict[tuple[str, str], int] = {
    ("GB", "20"): 8, ("GB", "161"): 7, ("DE", "30"): 8, ("DE", "89"): 8, ("FR", "1"): 8, ("FR", "4"): 8,
    ("NL", "20"): 7, ("AU", "2"): 8, ("AU", "3"): 8, ("IN", "80"): 8, ("IN", "22"): 8, ("IE", "1"): 7,
    ("SG", "6"): 7,
}
_DIALLING_CODES = {"US": "1", "CA": "1", "GB": "44", "DE": "49", "FR": "33", "NL": "31", "AU": "61", "IN": "91",
                   "IE": "353", "SG": "65"}

FREE_MAIL: dict[str, tuple[str, ...]] = {
    "US": ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "hotmail.com"),
    "CA": ("gmail.com", "outlook.com", "rogers.com", "shaw.ca"),
    "GB": ("gmail.com", "hotmail.co.uk", "btinternet.com", "outlook.com"),
    "DE": ("gmx.de", "web.de", "gmail.com", "t-online.de"),
    "FR": ("orange.fr", "gmail.com", "free.fr", "laposte.net"),
    "NL": ("gmail.com", "outlook.com", "hotmail.com"),
    "AU": ("gmail.com", "bigpond.com", "outlook.com"),
    "IN": ("gmail.com", "yahoo.co.in", "rediffmail.com"),
    "IE": ("gmail.com", "outlook.com"),
    "SG": ("gmail.com", "yahoo.com"),
}

# The ranges the hosted forms offer, plus the odd way people type a size.
EMPLOYEE_RANGES: tuple[str, ...] = ("1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5001-10000",
                                    "10000+")


@dataclass(frozen=True)
class Company:
    name: str
    domain: str
    industry: str
    city: str  # a CITIES key
    size: str  # an EMPLOYEE_RANGES value
    weight: int = 2  # a few accounts are busy: several people research at once


COMPANIES: tuple[Company, ...] = (
    Company("Brightwave Analytics", "brightwave.io", "Software", "sf", "51-200", 4),
    Company("Quantaloop", "quantaloop.com", "SaaS", "sf", "201-500", 3),
    Company("Orbitly", "orbitly.app", "SaaS", "sf", "1-10"),
    Company("Harborline Logistics", "harborline-logistics.com", "Logistics", "chicago", "1001-5000"),
    Company("Pinecrest Health", "pinecresthealth.com", "Healthcare", "boston", "501-1000"),
    Company("Cobalt Cloud", "cobaltcloud.io", "Software", "boston", "501-1000", 3),
    Company("Ledgerly", "ledgerly.io", "Fintech", "nyc", "51-200", 3),
    Company("Meridian Capital Partners", "meridiancp.com", "Financial Services", "nyc", "201-500"),
    Company("Fernhill Media", "fernhill.agency", "Marketing Agency", "nyc", "11-50"),
    Company("Summit Ridge Insurance", "summitridgeins.com", "Insurance", "denver", "1001-5000"),
    Company("Granite Peak Telecom", "granitepeaktel.com", "Telecommunications", "denver", "10000+"),
    Company("Copperleaf Commerce", "copperleafcommerce.com", "E-commerce", "austin", "11-50"),
    Company("Vantage Point Security", "vantagepointsec.com", "Cybersecurity", "austin", "201-500", 3),
    Company("Tidewater Learning", "tidewaterlearning.com", "Education", "seattle", "51-200"),
    Company("Kestrel HR", "kestrelhr.com", "HR Tech", "seattle", "11-50"),
    Company("Northstar Robotics", "northstar-robotics.com", "Manufacturing", "chicago", "501-1000"),
    Company("Maplefield Software", "maplefield.ca", "Software", "toronto", "51-200"),
    Company("Lakeshore Payments", "lakeshorepay.com", "Fintech", "toronto", "201-500"),
    Company("Cedar & Pine Realty", "cedarpine.ca", "Real Estate", "vancouver", "11-50"),
    Company("Thamesbridge Consulting", "thamesbridge.co.uk", "Professional Services", "london", "51-200"),
    Company("Kingsway Payments", "kingswaypay.co.uk", "Fintech", "london", "201-500", 4),
    Company("Quill & Ledger", "quillandledger.com", "Software", "london", "11-50"),
    Company("Brackenbury Health", "brackenburyhealth.co.uk", "Healthcare", "manchester", "501-1000"),
    Company("Pennine Logistics", "penninelogistics.co.uk", "Logistics", "manchester", "1001-5000"),
    Company("Spreewerk Systems", "spreewerk.de", "Software", "berlin", "201-500", 3),
    Company("Datenhafen", "datenhafen.io", "SaaS", "berlin", "51-200"),
    Company("Alpenkraft Maschinenbau", "alpenkraft.de", "Manufacturing", "munich", "1001-5000"),
    Company("Isarbank Digital", "isarbank-digital.de", "Financial Services", "munich", "501-1000"),
    Company("Lumière Analytics", "lumiere-analytics.fr", "Software", "paris", "51-200"),
    Company("Atelier Numérique", "ateliernumerique.fr", "Marketing Agency", "paris", "11-50"),
    Company("Rhône Logistique", "rhonelogistique.fr", "Logistics", "lyon", "201-500"),
    Company("Grachtwerk", "grachtwerk.nl", "SaaS", "amsterdam", "51-200", 3),
    Company("Polderpay", "polderpay.com", "Fintech", "amsterdam", "201-500"),
    Company("Dijkstra Data", "dijkstradata.nl", "Software", "amsterdam", "11-50"),
    Company("Coral Coast Software", "coralcoast.com.au", "Software", "sydney", "51-200"),
    Company("Southern Cross Insurance Group", "scig.com.au", "Insurance", "melbourne", "1001-5000"),
    Company("Wattle Commerce", "wattlecommerce.com.au", "E-commerce", "melbourne", "11-50"),
    Company("Indus Cloudworks", "induscloudworks.in", "Software", "bengaluru", "201-500", 3),
    Company("Saffron Fintech", "saffronfin.in", "Fintech", "bengaluru", "51-200"),
    Company("Ganga Manufacturing", "gangamfg.co.in", "Manufacturing", "mumbai", "1001-5000"),
    Company("Liffey Labs", "liffeylabs.ie", "SaaS", "dublin", "11-50"),
    Company("Straits Freight", "straitsfreight.com.sg", "Logistics", "singapore", "501-1000"),
)
# Students sign up with personal mail and name their school.
SCHOOLS: tuple[Company, ...] = (
    Company("Northfield University", "northfield.edu", "Education", "boston", "1001-5000"),
    Company("Kingsbridge Business School", "kingsbridge.ac.uk", "Education", "london", "501-1000"),
    Company("Hochschule Spreetal", "hs-spreetal.de", "Education", "berlin", "501-1000"),
)


@dataclass(frozen=True)
class Attribution:
    """What brought a conversion in: the source it arrives through and its UTM tags."""

    source: str  # a SOURCES name
    weight: int
    utm_source: str = ""
    utm_medium: str = ""
    campaigns: tuple[str, ...] = ("",)
    terms: tuple[str, ...] = ("",)
    referrer: str = ""
    form_types: frozenset[str] | None = None  # None: any form
    web: bool = True  # arrives from our site, so a visitor id is known


ATTRIBUTIONS: tuple[Attribution, ...] = (
    Attribution("Website", 20, "google", "cpc",
                ("lead-routing-search", "speed-to-lead-brand", "competitor-alternatives"),
                ("lead routing software", "speed to lead", "inbound sdr tool", "round robin lead assignment"),
                "https://www.google.com/"),
    Attribution("Website", 14, referrer="https://www.google.com/"),  # organic search: no tags
    Attribution("Website", 14, "linkedin", "paid-social", ("revops-ebook-q2", "webinar-promo", "demo-retargeting"),
                referrer="https://www.linkedin.com/"),
    Attribution("Website", 10, "newsletter", "email", ("inbound-weekly-118", "inbound-weekly-119",
                                                       "inbound-weekly-120")),
    Attribution("Website", 3, "bing", "cpc", ("lead-routing-search",), ("lead routing software",),
                "https://www.bing.com/"),
    Attribution("Website", 10),  # direct
    Attribution("G2 Reviews", 14, "g2", "referral", ("g2-category-lead-routing", "g2-compare"),
                referrer="https://www.g2.com/categories/lead-routing",
                form_types=frozenset({"demo_request", "pricing", "content_download", "contact"}), web=False),
    Attribution("Partner: Northwind", 10, "northwind", "partner", ("northwind-referral-program",),
                form_types=frozenset({"demo_request", "contact", "trial_signup"}), web=False),
    Attribution("Webinar platform", 60, "webinar-platform", "event", ("speed-to-lead-live", "revops-roundtable"),
                form_types=frozenset({"webinar"}), web=False),
    Attribution("Trade show import", 8, "revops-summit", "event", ("RevOps Summit 2026 booth",),
                form_types=frozenset({"contact", "demo_request"}), web=False),
)

USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
)


# --- people ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    first_name: str
    last_name: str
    email: str  # already normalised: what the lead's identity will be
    job_title: str
    company: Company
    phone: str  # as typed, possibly without country code
    free_mail: bool


_FOLD = str.maketrans({"ø": "o", "Ø": "O", "ß": "ss", "æ": "ae", "Æ": "AE", "ł": "l", "đ": "d"})


def _ascii(name: str) -> str:
    """'Lefèvre' -> 'lefevre', "O'Brien" -> 'obrien': how people spell their names in addresses."""
    folded = unicodedata.normalize("NFKD", name.translate(_FOLD)).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _weighted(rng: Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def company_pick(rng: Random) -> Company:
    return rng.choices(COMPANIES, weights=[c.weight for c in COMPANIES])[0]


def phone_make(rng: Random, city: City) -> str:
    """A possible number for the city, written the way people type it (sometimes without +code)."""
    country = city.country
    if country in ("US", "CA"):
        # 555-01xx is reserved for fiction, so no real line is ever dialled.
        line = f"01{rng.randint(0, 99):02d}"
        return rng.choice((f"+1 {city.area} 555 {line}", f"({city.area}) 555-{line}", f"{city.area}.555.{line}"))
    digits = "".join(str(rng.randint(0, 9)) for _ in range(_SUBSCRIBER_DIGITS[(country, city.area)]))
    if country == "GB":
        digits = {"20": "7946", "161": "496"}[city.area] + digits[len(digits) - 4:]  # Ofcom's drama ranges
    if country == "SG":  # no trunk prefix: the national number is the whole number
        national = f"{city.area}{digits[:3]} {digits[3:]}"
        return rng.choice((f"+65 {national}", national))
    international = f"+{_DIALLING_CODES[country]} {city.area} {digits[:4]} {digits[4:]}"
    national = f"0{city.area} {digits[:4]} {digits[4:]}"
    return rng.choice((international, international, national))


def person_new(rng: Random, *, company: Company | None = None) -> Person:
    persona = rng.choices(PERSONAS, weights=[p.weight for p in PERSONAS])[0]
    if persona.title == "Student":
        company = rng.choice(SCHOOLS)
    company = company or company_pick(rng)
    city = CITIES[company.city]
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    free_mail = rng.random() < persona.free_mail
    if free_mail:
        local = rng.choice((f"{_ascii(first)}.{_ascii(last)}", f"{_ascii(first)}{_ascii(last)}{rng.randint(1, 99)}",
                            f"{_ascii(first)[0]}{_ascii(last)}{rng.randint(70, 99)}"))
        domain = rng.choice(FREE_MAIL[city.country])
    else:
        local = rng.choices(
            (f"{_ascii(first)}.{_ascii(last)}", f"{_ascii(first)[0]}{_ascii(last)}", f"{_ascii(first)}",
             f"{_ascii(first)}{_ascii(last)[0]}", f"{_ascii(first)}_{_ascii(last)}"),
            weights=(50, 20, 10, 10, 10),
        )[0]
        domain = company.domain
    phone = phone_make(rng, city) if rng.random() < 0.7 else ""
    return Person(first, last, f"{local}@{domain}", persona.title, company, phone, free_mail)


def visitor_id_new(rng: Random) -> str:
    """The id our site's tracking script gives a browser, known before the person is."""
    return f"v-{rng.getrandbits(64):016x}"


def remote_addr_pick(rng: Random) -> str:
    # Documentation ranges (RFC 5737): realistic-looking, never anyone's address.
    return f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randint(1, 254)}"


# --- payloads ----------------------------------------------------------------------------------


def form_type_pick(rng: Random, *, repeat: bool = False) -> str:
    return _weighted(rng, REPEAT_FORM_TYPE_WEIGHTS if repeat else FORM_TYPE_WEIGHTS)


def attribution_pick(rng: Random, form_type: str) -> Attribution:
    fitting = [a for a in ATTRIBUTIONS if a.form_types is None or form_type in a.form_types]
    return rng.choices(fitting, weights=[a.weight for a in fitting])[0]


def _slug(text: str) -> str:
    return "-".join("".join(ch if ch.isalnum() else " " for ch in _ascii_keep_spaces(text)).split())


def _ascii_keep_spaces(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _page_url(form_type: str, asset: str) -> str:
    if form_type == "content_download":
        return f"{SITE}/resources/{_slug(asset)}"
    if form_type == "webinar":
        return f"{SITE}/webinars/{_slug(asset.removeprefix('Webinar: '))}"
    return f"{SITE}{_FORM_PAGES[form_type]}"


def _attribution_fields(rng: Random, attribution: Attribution) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    campaign = rng.choice(attribution.campaigns)
    if attribution.utm_source:
        fields |= {"utm_source": attribution.utm_source, "utm_medium": attribution.utm_medium}
    if campaign:
        fields["utm_campaign" if attribution.utm_source else "campaign"] = campaign
        if attribution.source != "Website":
            fields["campaign"] = campaign
    term = rng.choice(attribution.terms)
    if term:
        fields["utm_term"] = term
    if attribution.referrer:
        fields["referrer"] = attribution.referrer
    if attribution.web:
        path, _ = rng.choice(PAGES)
        fields["landing_page"] = f"{SITE}{path}"
    return fields


def _custom(rng: Random, form_type: str) -> dict[str, Any]:
    """The free-form extras real forms carry; most submissions have none."""
    if form_type == "demo_request" and rng.random() < 0.5:
        return {"crm": rng.choice(("Salesforce", "HubSpot", "Pipedrive", "None yet")),
                "sdr_team_size": rng.choice(("1-3", "4-10", "11-25", "25+"))}
    if form_type == "pricing" and rng.random() < 0.4:
        return {"plan_interest": rng.choice(("Growth", "Enterprise"))}
    if rng.random() < 0.05:
        return {"how_did_you_hear": rng.choice(("Podcast", "A colleague", "LinkedIn post", "Conference talk"))}
    return {}


def _messy(rng: Random, text: str) -> str:
    """Now and then, typed the way people type: stray spaces or all lower case."""
    roll = rng.random()
    if roll < 0.04:
        return f" {text}  "
    if roll < 0.07:
        return text.lower()
    return text


def lead_payload(
    rng: Random, person: Person, *, form_type: str, attribution: Attribution | None = None, visitor_id: str = "",
) -> dict[str, Any]:
    """A first conversion: the full set of fields a form or a partner's system sends."""
    attribution = attribution or attribution_pick(rng, form_type)
    company, city = person.company, CITIES[person.company.city]
    asset = rng.choice(ASSETS[form_type])
    payload: dict[str, Any] = {
        "email": person.email if rng.random() > 0.05 else person.email.title(),  # some type capitals
        "first_name": _messy(rng, person.first_name),
        "last_name": person.last_name,
        "job_title": _messy(rng, person.job_title),
        "company": company.name,
        "country": rng.choice(COUNTRY_SPELLINGS[city.country]),
        "form_type": form_type,
    }
    if person.phone:
        payload["phone"] = person.phone
    if rng.random() < 0.6:
        payload["employee_count"] = _size_as_typed(rng, company.size)
    if rng.random() < 0.5:
        payload["industry"] = company.industry
    if rng.random() < 0.4:
        payload["website"] = rng.choice((company.domain, f"https://www.{company.domain}", f"www.{company.domain}"))
    if rng.random() < 0.6:
        payload |= {"city": city.name, "state": city.state} if city.state else {"city": city.name}
    if rng.random() < 0.3:
        payload["time_zone"] = city.time_zone
    if asset:
        payload["asset"] = asset
    if attribution.web:
        payload["page_url"] = _page_url(form_type, asset)
    payload |= _attribution_fields(rng, attribution)
    if rng.random() < 0.85 or form_type == "newsletter":
        payload["consent"] = True
    if visitor_id:
        payload["visitor_id"] = visitor_id
    if custom := _custom(rng, form_type):
        payload["custom"] = custom
    return {name: value for name, value in payload.items() if value not in ("", None)}


def _size_as_typed(rng: Random, size: str) -> str | int:
    if rng.random() < 0.8:
        return size
    low = int(size.split("-")[0].rstrip("+"))
    return low + rng.randint(0, max(low, 10))  # a head count someone typed in


def repeat_payload(
    rng: Random, email: str, *, form_type: str | None = None, visitor_id: str = "", job_title: str = "",
) -> dict[str, Any]:
    """A returning lead converting again: the form knows them, so it asks little."""
    form_type = form_type or form_type_pick(rng, repeat=True)
    attribution = attribution_pick(rng, form_type)
    asset = rng.choice(ASSETS[form_type])
    payload: dict[str, Any] = {"email": email, "form_type": form_type}
    if asset:
        payload["asset"] = asset
    if attribution.web:
        payload["page_url"] = _page_url(form_type, asset)
    payload |= _attribution_fields(rng, attribution)
    if job_title and rng.random() < 0.3:
        payload["job_title"] = job_title  # a promotion, or a title typed differently: a conflict to show
    if visitor_id:
        payload["visitor_id"] = visitor_id
    payload["consent"] = True
    return payload


def event_payload(
    rng: Random, *, event_type: str, email: str = "", visitor_id: str = "", occurred_at: datetime | None = None,
    name: str = "",
) -> dict[str, Any]:
    """A behaviour event; ``occurred_at`` left out means "now" at the receiver."""
    payload: dict[str, Any] = {"type": event_type}
    if email:
        payload["email"] = email
    if visitor_id:
        payload["visitor_id"] = visitor_id
    if event_type == "page_view":
        path, title = rng.choice(PAGES)
        payload |= {"url": f"{SITE}{path}", "title": title}
    elif event_type == "pricing_page_view":
        path, title = rng.choice(PRICING_PAGES)
        payload |= {"url": f"{SITE}{path}", "title": title}
    elif event_type == "trial_milestone":
        payload |= {"name": name or rng.choice(TRIAL_MILESTONES), "url": "https://app.example.com/"}
    elif event_type == "webinar_attended":
        payload["name"] = name or rng.choice(ASSETS["webinar"])
    elif event_type == "content_download":
        asset = name or rng.choice(ASSETS["content_download"])
        payload |= {"name": asset, "url": _page_url("content_download", asset)}
    elif event_type == "email_reply":
        payload |= {"name": "Reply to follow-up", "title": rng.choice((
            "Re: Your demo request", "Re: Following up on the RevOps report", "Re: Quick question about pricing",
        ))}
    if occurred_at is not None:
        payload["occurred_at"] = occurred_at.isoformat()
    return payload


# --- a month of history -----------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One thing to send: a lead form ("lead") or a behaviour event ("event"), at a time."""

    at: datetime
    kind: str
    source: str  # a SOURCES name
    payload: dict[str, Any]
    repeat: bool = False
    remote_addr: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class Story:
    """One lead's history: browsing before they were known, conversions, what they did after."""

    email: str
    steps: tuple[Step, ...] = field(default_factory=tuple)


def _start_time(rng: Random, i: int, count: int, *, now: datetime, days: int, time_zone: str) -> datetime:
    """Spread first conversions evenly over the window, mostly in the lead's working hours."""
    start = now - timedelta(days=days) * (1 - (i + rng.random()) / count)
    if rng.random() < 0.8:
        tz = zoneinfo.ZoneInfo(time_zone)
        local = start.astimezone(tz)
        if local.weekday() >= 5 and rng.random() < 0.7:
            local -= timedelta(days=local.weekday() - 4)  # fewer weekend forms: move to Friday
        local = local.replace(hour=rng.randint(8, 18), minute=rng.randint(0, 59), second=rng.randint(0, 59))
        moved = local.astimezone(start.tzinfo)
        if now - timedelta(days=days) <= moved <= now - timedelta(minutes=5):
            start = moved
    # The newest lead must have converted already, or its story would be empty.
    return min(start, now - timedelta(minutes=5))


def story_plan(rng: Random, *, start: datetime, now: datetime, person: Person | None = None) -> Story:
    """The history of one lead who first converted at ``start``; nothing after ``now``."""
    person = person or person_new(rng)
    start = min(start, now - timedelta(minutes=2))  # the first conversion is always history
    form_type = form_type_pick(rng)
    attribution = attribution_pick(rng, form_type)
    visitor = visitor_id_new(rng) if attribution.web and rng.random() < 0.9 else ""
    agent = rng.choice(USER_AGENTS)
    ip = remote_addr_pick(rng)
    steps: list[Step] = []

    def event(at: datetime, event_type: str, *, by_email: bool, source: str = "Website", name: str = "") -> None:
        payload = event_payload(rng, event_type=event_type, email=person.email if by_email or not visitor else "",
                                visitor_id="" if by_email else visitor, occurred_at=at, name=name)
        steps.append(Step(at, "event", source, payload))

    if visitor and rng.random() < 0.4:
        # Anonymous research first; the form's visitor_id later ties it to the lead.
        for _ in range(rng.randint(1, 4)):
            before = start - timedelta(minutes=rng.randint(2, 60 * 24 * 5))
            event(before, rng.choices(("page_view", "pricing_page_view"), weights=(3, 1))[0], by_email=False)

    first = lead_payload(rng, person, form_type=form_type, attribution=attribution, visitor_id=visitor)
    steps.append(Step(start, "lead", attribution.source, first, remote_addr=ip, user_agent=agent))

    for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 4))):
        event(_later(rng, start, hours=24 * 10), "page_view", by_email=not visitor)
    hand_raiser = form_type in ("demo_request", "pricing", "trial_signup")
    if rng.random() < (0.5 if hand_raiser else 0.25):
        event(_later(rng, start, hours=24 * 7), "pricing_page_view", by_email=not visitor)
    if form_type == "trial_signup":
        milestones = sorted(rng.sample(TRIAL_MILESTONES, rng.randint(1, 3)), key=TRIAL_MILESTONES.index)
        for n, milestone in enumerate(milestones):
            days = 7 if milestone == "Active on trial day 7" else 0
            event(start + timedelta(days=days, hours=n * 20 + rng.randint(0, 12), minutes=rng.randint(5, 59)),
                  "trial_milestone", by_email=True, name=milestone)
    if form_type == "webinar" and rng.random() < 0.55:
        event(_later(rng, start, hours=24 * 7), "webinar_attended", by_email=True, source="Webinar platform",
              name=first.get("asset", ""))
    if rng.random() < 0.1:
        event(_later(rng, start, hours=24 * 14), "content_download", by_email=True)
    if rng.random() < 0.06:
        event(_later(rng, start, hours=24 * 5), "email_reply", by_email=True)

    if rng.random() < 0.25:
        # Converting again: about a fifth of form submissions are repeats (fewer
        # for the newest leads, whose later conversions have not happened yet).
        for _ in range(rng.choices((1, 2), weights=(7, 3))[0]):
            payload = repeat_payload(rng, person.email, visitor_id=visitor,
                                     job_title=rng.choice(PERSONAS).title)
            steps.append(Step(_later(rng, start, hours=24 * 12), "lead", _source_of(payload), payload,
                              repeat=True, remote_addr=ip, user_agent=agent))

    kept = sorted((s for s in steps if s.at <= now - timedelta(minutes=1)), key=lambda s: s.at)
    return Story(person.email, tuple(kept))


def _later(rng: Random, start: datetime, *, hours: int) -> datetime:
    return start + timedelta(minutes=rng.randint(3, hours * 60))


def _source_of(payload: dict[str, Any]) -> str:
    """The source a repeat conversion arrives through, read back from its tags."""
    for attribution in ATTRIBUTIONS:
        if attribution.utm_source and attribution.utm_source == payload.get("utm_source"):
            return attribution.source
    return "Website"


def stories_plan(rng: Random, *, count: int, now: datetime, days: int = 30) -> list[Story]:
    """``count`` leads with distinct emails, first converting evenly over the last ``days``."""
    stories: list[Story] = []
    emails: set[str] = set()
    while len(stories) < count:
        person = person_new(rng)
        # Each story draws from its own generator: how many draws a story takes depends on ``now`` (a start
        # moved off a weekend, steps cut at the present), and must not change who the next person is, or
        # two runs a second apart would plan different people and a re-run would add leads.
        story_rng = Random(rng.getrandbits(64))
        if person.email in emails:
            continue  # a namesake at the same company would merge into one lead
        emails.add(person.email)
        i = len(stories)
        start = _start_time(story_rng, i, count, now=now, days=days,
                            time_zone=CITIES[person.company.city].time_zone)
        stories.append(story_plan(story_rng, start=start, now=now, person=person))
    return sorted(stories, key=lambda s: next(step.at for step in s.steps if step.kind == "lead"))


# --- live traffic ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """One request the simulator makes; ``label`` is the line it prints."""

    kind: str  # "lead" or "event"
    payload: dict[str, Any]
    label: str


def traffic_next(rng: Random, *, known: Sequence[str], anonymous: Sequence[str]) -> Send:
    """The next thing that happens on a busy inbound funnel.

    ``known`` are emails of leads the receiver has, ``anonymous`` visitor ids
    that browsed without converting yet; both may be empty.
    """
    roll = rng.random()
    if roll < 0.35 or (not known and roll < 0.7):
        form_type = form_type_pick(rng)
        attribution = attribution_pick(rng, form_type)
        visitor = ""
        if attribution.web:
            # Half the time it is someone who browsed before: their history joins the lead.
            visitor = rng.choice(anonymous) if anonymous and rng.random() < 0.5 else visitor_id_new(rng)
        payload = lead_payload(rng, person_new(rng), form_type=form_type, attribution=attribution,
                               visitor_id=visitor)
        return Send("lead", payload, f"new lead {payload['email'].strip().lower()} {form_type}")
    if roll < 0.5 and known:
        payload = repeat_payload(rng, rng.choice(known))
        return Send("lead", payload, f"repeat {payload['email']} {payload['form_type']}")
    if roll < 0.7 or not known:
        visitor = rng.choice(anonymous) if anonymous and rng.random() < 0.6 else visitor_id_new(rng)
        event_type = rng.choices(("page_view", "pricing_page_view"), weights=(3, 1))[0]
        payload = event_payload(rng, event_type=event_type, visitor_id=visitor)
        return Send("event", payload, f"event {event_type} {visitor}")
    email = rng.choice(known)
    event_type = rng.choices(("page_view", "pricing_page_view", "trial_milestone", "webinar_attended",
                              "content_download", "email_reply"), weights=(10, 5, 3, 2, 2, 1))[0]
    return Send("event", event_payload(rng, event_type=event_type, email=email), f"event {event_type} {email}")
