"""Reading settings from the environment, refusing values that make no sense.

A typo in a deployment's environment should stop the process at start-up with
a message naming the variable, not surface hours later as odd behaviour.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str) -> str:
    return os.environ.get(name, default).strip()


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below its minimum of {minimum}")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def envbaseurl(name: str, default: str = "") -> str:
    """An absolute base address (``https://desk.example.com``, optionally with a path prefix), or empty.

    Refused: another scheme, no host, a query or a fragment (they would end up in the middle of every link
    built on it). The trailing slash is dropped, so ``base + "/path"`` is always right.
    """
    from urllib.parse import urlsplit

    raw = os.environ.get(name, default).strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(f"{name}={raw!r} must be an absolute http:// or https:// address with a host")
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name}={raw!r} must not have a query or a fragment")
    return raw.rstrip("/")
