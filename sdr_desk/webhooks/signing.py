"""The signature on every request: ``X-Desk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`` (Stripe's scheme).

The HMAC is over ``f"{t}.{body}"`` with the endpoint's secret, so a receiver
checks both that the body is the desk's and that it is fresh (the timestamp is
signed too: an old request replayed by someone else fails the tolerance).
``signature_verify`` is what a receiver runs; docs/webhooks.md shows it standalone.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Desk-Signature"
TOLERANCE_SECONDS = 300


def signature_compute(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature_compute(secret, timestamp, body)}"


def signature_verify(secret: str, body: bytes, header: str, *, tolerance: int = TOLERANCE_SECONDS,
                     now: float | None = None) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its timestamp is within ``tolerance`` seconds."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature_compute(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))
