"""One time-zone rule for every page, and the lead's own local time.

The rule: every time on a page is shown in the *viewer's* zone, and the page says which.
The viewer's zone is their rep profile's (``Rep.time_zone``) when they are a rep, else their
browser's (``Intl``, sent back as the ``tz`` cookie by ``static/js/time.js``), else the server's
``TIME_ZONE`` until the browser has said. ``ViewerZoneMiddleware`` activates it for the request,
so Django's date filters render in it and forms read local times in it; ``time.js`` converts every
``<time datetime>`` to it on the page, cards pushed over the websocket included (they are rendered
once for everyone, so they carry UTC instants and no viewer).

The lead's own time ("their time 14:05 (America/Chicago)" beside Call) comes from
``Lead.time_zone``, else from the country (and, for a few countries split into zones, the state),
with the phone number's country when the lead gave none. No guess is shown: unknown is nothing.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import pycountry
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from sdr_desk.routing.models import Rep

ZONE_COOKIE = "tz"
PROFILE, BROWSER, SERVER = "profile", "browser", "server"


@dataclass(frozen=True)
class ViewerZone:
    """The zone a viewer reads times in, and where it came from (said on the page)."""

    zone: ZoneInfo
    source: str  # PROFILE, BROWSER or SERVER

    @property
    def key(self) -> str:
        return self.zone.key

    @property
    def label(self) -> str:
        return {PROFILE: "your profile", BROWSER: "this browser"}.get(self.source, "the server's zone")


@lru_cache(maxsize=1024)
def zone_named(name: str) -> ZoneInfo | None:
    """The IANA zone of that name, or None for a blank, unknown or malformed one (never raises)."""
    name = (name or "").strip()
    if not name or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def viewer_zone_for(user: object, cookie: str = "") -> ViewerZone:
    """The rule itself: the rep profile's zone, else the browser's, else the server's. One query, for reps."""
    if getattr(user, "is_authenticated", False):
        found = Rep.objects.filter(user_id=user.pk).order_by().values_list("time_zone", flat=True)[:1]  # type: ignore[attr-defined]
        profile = next(iter(found), None)
        zone = zone_named(profile or "") if profile is not None else None
        if zone is not None:
            return ViewerZone(zone, PROFILE)
    zone = zone_named(unquote(cookie)) if cookie else None
    if zone is not None:
        return ViewerZone(zone, BROWSER)
    return ViewerZone(zone_named(settings.TIME_ZONE) or ZoneInfo("UTC"), SERVER)


def viewer_zone(request: HttpRequest) -> ViewerZone:
    """The request's viewer zone, worked out once and kept on the request."""
    cached = getattr(request, "_viewer_zone", None)
    if cached is None:
        cached = viewer_zone_for(getattr(request, "user", None), request.COOKIES.get(ZONE_COOKIE, ""))
        request._viewer_zone = cached  # type: ignore[attr-defined]
    return cached


class ViewerZoneMiddleware:
    """Render each page in its viewer's zone. After authentication; the API keeps UTC (ISO 8601 with Z)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            return self.get_response(request)
        with timezone.override(viewer_zone(request).zone):
            return self.get_response(request)


def viewer_zone_context(request: HttpRequest) -> dict[str, object]:
    """``viewer_zone`` for every template: base.html tells the page's scripts and says which zone."""
    return {"viewer_zone": viewer_zone(request)}


# --- the lead's own time -------------------------------------------------------------------

# Countries split into zones: the zone of each state (the state's main zone where it spans two).
STATE_ZONES: dict[str, dict[str, str]] = {
    "US": {
        **dict.fromkeys(["CT", "DE", "DC", "FL", "GA", "KY", "ME", "MD", "MA", "NH", "NJ", "NY", "NC", "OH", "PA",
                         "RI", "SC", "VT", "VA", "WV"], "America/New_York"),
        "MI": "America/Detroit", "IN": "America/Indiana/Indianapolis",
        **dict.fromkeys(["AL", "AR", "IL", "IA", "KS", "LA", "MN", "MS", "MO", "NE", "ND", "OK", "SD", "TN", "TX",
                         "WI"], "America/Chicago"),
        **dict.fromkeys(["CO", "MT", "NM", "UT", "WY"], "America/Denver"),
        "ID": "America/Boise", "AZ": "America/Phoenix",
        **dict.fromkeys(["CA", "NV", "OR", "WA"], "America/Los_Angeles"),
        "AK": "America/Anchorage", "HI": "Pacific/Honolulu",
    },
    "CA": {"AB": "America/Edmonton", "BC": "America/Vancouver", "MB": "America/Winnipeg", "NB": "America/Moncton",
           "NL": "America/St_Johns", "NS": "America/Halifax", "NT": "America/Edmonton", "NU": "America/Iqaluit",
           "ON": "America/Toronto", "PE": "America/Halifax", "QC": "America/Toronto", "SK": "America/Regina",
           "YT": "America/Whitehorse"},
    "AU": {"ACT": "Australia/Sydney", "NSW": "Australia/Sydney", "NT": "Australia/Darwin",
           "QLD": "Australia/Brisbane", "SA": "Australia/Adelaide", "TAS": "Australia/Hobart",
           "VIC": "Australia/Melbourne", "WA": "Australia/Perth"},
    "BR": {
        **dict.fromkeys(["SP", "RJ", "MG", "ES", "PR", "SC", "RS", "GO", "DF"], "America/Sao_Paulo"),
        "AC": "America/Rio_Branco", "AM": "America/Manaus", "RO": "America/Porto_Velho", "RR": "America/Boa_Vista",
        "MT": "America/Cuiaba", "MS": "America/Campo_Grande", "PA": "America/Belem", "AP": "America/Belem",
        "TO": "America/Araguaina", **dict.fromkeys(["MA", "PI", "CE", "RN", "PB"], "America/Fortaleza"),
        "PE": "America/Recife", "AL": "America/Maceio", "SE": "America/Maceio", "BA": "America/Bahia",
    },
}


@cache
def country_zones() -> dict[str, tuple[str, ...]]:
    """ISO country code -> its IANA zones, from the tz database's own ``zone.tab`` (the tzdata package)."""
    try:
        text = resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        system = Path("/usr/share/zoneinfo/zone.tab")
        text = system.read_text(encoding="utf-8") if system.exists() else ""
    zones: dict[str, list[str]] = {}
    for row in csv.reader((line for line in text.splitlines() if line and not line.startswith("#")), delimiter="\t"):
        if len(row) >= 3:
            zones.setdefault(row[0].upper(), []).append(row[2])
    return {code: tuple(names) for code, names in zones.items()}


@cache
def _state_codes(country: str) -> dict[str, str]:
    """A country's states by code and by name, lowercased: "california" and "ca" -> "CA"."""
    codes: dict[str, str] = {}
    for state in pycountry.subdivisions.get(country_code=country) or ():
        short = state.code.split("-", 1)[1]
        codes[short.lower()] = short
        codes[state.name.lower()] = short
    return codes


def _phone_country(phone: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone, None)) or ""
    except phonenumbers.NumberParseException:
        return ""


@lru_cache(maxsize=4096)
def lead_zone_name(time_zone: str, country: str, state: str, phone: str) -> str | None:
    """The lead's zone: their own, else their state's, else their country's when it keeps one clock; None when unknown."""
    if zone_named(time_zone):
        return time_zone.strip()
    country = (country or "").strip().upper() or (_phone_country(phone) if phone else "")
    if not country:
        return None
    by_state = STATE_ZONES.get(country)
    if by_state and state:
        code = _state_codes(country).get(state.strip().lower(), state.strip().upper())
        if code in by_state:
            return by_state[code]
    zones = country_zones().get(country, ())
    # One clock for the whole country (Germany's Busingen keeps Zurich's, which is Berlin's): its main zone,
    # listed first. Clocks that differ (the US, Spain with the Canaries) need the lead's state or zone.
    return zones[0] if zones and len({_offsets(name) for name in zones}) == 1 else None


@cache
def _offsets(name: str) -> tuple[object, ...]:
    zone = zone_named(name)
    if zone is None:
        return (name,)
    year = timezone.now().year
    return tuple(datetime(year, month, 15, 12, tzinfo=zone).utcoffset() for month in (1, 7))


@dataclass(frozen=True)
class LeadTime:
    zone: str
    now: str  # "14:05" there, when the page was rendered; time.js keeps it ticking


def lead_local_time(lead: object, *, now: datetime | None = None) -> LeadTime | None:
    """What "their time" says for the lead now, or None when their zone is not known."""
    name = lead_zone_name(getattr(lead, "time_zone", "") or "", getattr(lead, "country", "") or "",
                          getattr(lead, "state", "") or "", getattr(lead, "phone", "") or "")
    zone = zone_named(name) if name else None
    if zone is None:
        return None
    return LeadTime(zone=zone.key, now=(now or timezone.now()).astimezone(zone).strftime("%H:%M"))
