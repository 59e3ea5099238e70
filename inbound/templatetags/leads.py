"""Display helpers for lead pages: numbers people can read, countries by name."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
import pycountry
from django import template

register = template.Library()


@register.filter
def phone_display(value: str) -> str:
    """'+442079460958' -> '+44 20 7946 0958'; anything unparseable is shown as stored."""
    if not value:
        return ""
    try:
        return phonenumbers.format_number(phonenumbers.parse(value, None),
                                          phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return value


@register.filter
@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    if not code:
        return ""
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name
