"""Turning what buyers type into values we can match, route and dial.

Each function takes the raw value and returns the normalised one, or raises
``ValueError`` with a message fit to show next to the field.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

import phonenumbers
import pycountry
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

_SPACES = re.compile(r"\s+")

# Mailbox providers: an address there says nothing about the company.
FREE_MAIL_DOMAINS = frozenset(
    ["gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr", "live.com", "live.co.uk", "msn.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.co.in", "yahoo.co.jp", "ymail.com", "rocketmail.com", "aol.com", "icloud.com", "me.com", "mac.com", "protonmail.com", "proton.me", "pm.me", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com", "zoho.com", "zohomail.com", "yandex.com", "yandex.ru", "mail.ru", "inbox.ru", "list.ru", "bk.ru", "qq.com", "163.com", "126.com", "sina.com", "naver.com", "hanmail.net", "daum.net", "rediffmail.com", "tutanota.com", "tuta.io", "fastmail.com", "hey.com", "laposte.net", "orange.fr", "free.fr", "wanadoo.fr", "sfr.fr", "libero.it", "virgilio.it", "t-online.de", "freenet.de", "btinternet.com", "sky.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net", "charter.net", "earthlink.net", "optonline.net", "shaw.ca", "rogers.com", "sympatico.ca", "bigpond.com", "optusnet.com.au", "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "onet.pl", "uol.com.br", "bol.com.br", "terra.com.br"]
)

# Names people write that pycountry does not know by that name.
_COUNTRY_ALIASES = {
    "uk": "GB", "u.k.": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "great britain": "GB", "britain": "GB", "usa": "US", "u.s.a.": "US", "u.s.": "US", "us": "US",
    "america": "US", "united states of america": "US", "the netherlands": "NL", "holland": "NL",
    "south korea": "KR", "korea": "KR", "russia": "RU", "vietnam": "VN", "czech republic": "CZ",
    "czechia": "CZ", "iran": "IR", "syria": "SY", "taiwan": "TW", "bolivia": "BO", "venezuela": "VE",
    "tanzania": "TZ", "moldova": "MD", "laos": "LA", "uae": "AE", "ivory coast": "CI", "turkey": "TR",
    "deutschland": "DE", "espana": "ES", "españa": "ES", "brasil": "BR", "schweiz": "CH", "suisse": "CH",
}

_RANGE = re.compile(r"^\s*([\d.,]+\s*[kKmM]?)\s*(?:-|–|to)\s*([\d.,]+\s*[kKmM]?)\s*$")
_PLUS = re.compile(r"^\s*([\d.,]+\s*[kKmM]?)\s*\+\s*$")
_NUMBER = re.compile(r"^\s*([\d.,]+\s*[kKmM]?)\s*$")


def text(value: str) -> str:
    """Trim and fold runs of white space: 'Ada   Lovelace ' -> 'Ada Lovelace'."""
    return _SPACES.sub(" ", value).strip()


def email(value: str) -> str:
    value = value.strip().lower()
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError("Enter a valid email address.") from None
    return value


def email_domain(address: str) -> str:
    return address.rsplit("@", 1)[-1]


def is_free_mail(address: str) -> bool:
    return email_domain(address) in FREE_MAIL_DOMAINS


@lru_cache(maxsize=4096)
def country(value: str) -> str:
    """ISO 3166-1 alpha-2 from a code or a name in English."""
    cleaned = text(value)
    if not cleaned:
        return ""
    alias = _COUNTRY_ALIASES.get(cleaned.lower())
    if alias:
        return alias
    try:
        return pycountry.countries.lookup(cleaned).alpha_2
    except LookupError:
        pass
    matches = [c for c in pycountry.countries if getattr(c, "common_name", "").lower() == cleaned.lower()]
    if matches:
        return matches[0].alpha_2
    raise ValueError(f"Unknown country {cleaned!r}: use its name or its ISO code, e.g. 'Germany' or 'DE'.")


def phone(value: str, *, region: str = "") -> str:
    """E.164, reading a number without a country code as the lead's country's."""
    cleaned = value.strip()
    if not cleaned:
        return ""
    try:
        number = phonenumbers.parse(cleaned, region or None)
    except phonenumbers.NumberParseException:
        hint = "" if region else " (no country was given, so include the country code, e.g. +1 415 555 0100)"
        raise ValueError(f"Enter a valid phone number{hint}.") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError("Enter a valid phone number: this one has the wrong number of digits.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _count(token: str) -> int:
    token = token.strip().lower().replace(",", "").replace(" ", "")
    factor = 1
    if token.endswith("k"):
        factor, token = 1_000, token[:-1]
    elif token.endswith("m"):
        factor, token = 1_000_000, token[:-1]
    return int(float(token) * factor)


def employee_count(value: int | str | None) -> tuple[int | None, str]:
    """(count, range as given): 250 -> (250, ''); '51-200' -> (51, '51-200'); '10,000+' -> (10000, '10000+').

    A range keeps its lower bound as the count: size segments are cut on lower
    bounds, so '51-200' must land in the 51+ segment, not in 100+.
    """
    if value is None or value == "":
        return None, ""
    if isinstance(value, bool):
        raise ValueError("Give the number of employees as a number or a range such as 51-200.")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("The number of employees cannot be negative.")
        return value, ""
    if isinstance(value, float):
        return employee_count(int(value))
    raw = str(value)
    try:
        if match := _RANGE.match(raw):
            low, high = _count(match.group(1)), _count(match.group(2))
            if low > high:
                raise ValueError("The range's first number is larger than its second.")
            return low, f"{low}-{high}"
        if match := _PLUS.match(raw):
            low = _count(match.group(1))
            return low, f"{low}+"
        if match := _NUMBER.match(raw):
            return _count(match.group(1)), ""
    except (ValueError, OverflowError) as error:
        if "range" in str(error):
            raise
    raise ValueError(f"{text(raw)!r} is not a number of employees: give a number or a range such as 51-200.")


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone(value: str) -> str:
    cleaned = value.strip()
    if cleaned and cleaned not in _time_zones():
        raise ValueError(f"Unknown time zone {cleaned!r}: use an IANA name such as 'Europe/Berlin'.")
    return cleaned


def website(value: str) -> str:
    cleaned = value.strip()
    if cleaned and not re.match(r"^https?://", cleaned, re.I):
        cleaned = f"https://{cleaned}"
    return cleaned
