"""Sending deliveries: claim the due ones, POST each signed, record what happened, retry with backoff.

Two short transactions per batch and none around the HTTP: the claim (``SELECT
... FOR UPDATE SKIP LOCKED``, then a lease and the attempt counted) and the
result (one UPDATE per delivery, only if the lease is still the one this
attempt took). So a slow receiver holds no lock, two sweeps or two clusters
never send one delivery twice while its lease runs, and a worker killed
mid-attempt leaves a lease that expires: the delivery is tried again.
Receivers still drop duplicates by event id (a receiver that answered after
our timeout has the event and gets it again).
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from sdr_desk.webhooks.models import Delivery, DeliveryStatus
from sdr_desk.webhooks.signing import SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)

USER_AGENT = "sdr-desk-webhooks/1.0"
BATCH_SIZE = 20  # claimed at once; posted by up to PARALLEL threads
PARALLEL = 8
LEASE_MARGIN_SECONDS = 30
SWEEP_BUDGET_SECONDS = 50  # scheduled every minute: stop claiming before the next one starts
RESPONSE_READ_BYTES = 1024


def max_attempts() -> int:
    return getattr(settings, "WEBHOOKS_MAX_ATTEMPTS", 12)


def backoff_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """1 min after the first failure, then 2, 4, 8 ... capped at 6 h, each up to 20% later (jitter, so the
    retries of one outage do not all arrive together). 12 attempts span about 20 hours."""
    base = getattr(settings, "WEBHOOKS_BACKOFF_BASE_SECONDS", 60)
    cap = getattr(settings, "WEBHOOKS_BACKOFF_CAP_SECONDS", 6 * 3600)
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * (rng or random).uniform(1.0, 1.2))


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: the same payload always gives the same body (retries, replays)."""
    return json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


@dataclass(frozen=True)
class Attempt:
    """One claimed delivery, with everything the HTTP call needs (no database in the sending threads)."""

    delivery_id: int
    event_id: str
    kind: str
    url: str
    secret: str
    timeout: int
    body: bytes
    attempt: int
    lease: datetime


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _due(now: datetime) -> Q:
    return (Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED], next_attempt_at__lte=now,
              attempts__lt=max_attempts(), endpoint__is_active=True)
            & (Q(leased_until__isnull=True) | Q(leased_until__lt=now)))


def deliveries_claim(*, now: datetime, limit: int = BATCH_SIZE, event_ids: list[str] | None = None) -> list[Attempt]:
    """Lease up to ``limit`` due deliveries (oldest due first) and count the attempt; rows another worker holds
    are skipped, not waited for. The lease covers every claimed attempt's timeout, sent one after another."""
    with transaction.atomic():
        query = Delivery.objects.filter(_due(now))
        if event_ids is not None:
            query = query.filter(event_id__in=event_ids)
        rows = list(query.select_related("endpoint").select_for_update(skip_locked=True, of=("self",))
                    .order_by("next_attempt_at", "id")[:limit])
        if not rows:
            return []
        lease = now + timedelta(seconds=sum(row.endpoint.timeout_seconds for row in rows) + LEASE_MARGIN_SECONDS)
        Delivery.objects.filter(pk__in=[row.pk for row in rows]).update(
            leased_until=lease, attempts=F("attempts") + 1, last_attempt_at=now)
    return [Attempt(delivery_id=row.pk, event_id=row.event_id, kind=row.kind, url=row.endpoint.url,
                    secret=row.endpoint.secret, timeout=row.endpoint.timeout_seconds, body=body_of(row.payload),
                    attempt=row.attempts + 1, lease=lease) for row in rows]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer, not a delivery: following it could post the event somewhere nobody configured."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def delivery_post(attempt: Attempt) -> Outcome:
    """POST the body, signed; never raises. Any 2xx is delivered; anything else is a failure to retry."""
    request = urllib.request.Request(attempt.url, data=attempt.body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(attempt.secret, attempt.body),
        "X-Desk-Event-Id": attempt.event_id,
        "X-Desk-Event": attempt.kind,
        "X-Desk-Attempt": str(attempt.attempt),
    })
    try:
        with _opener.open(request, timeout=attempt.timeout) as response:
            response.read(RESPONSE_READ_BYTES)
            return Outcome(response.status, "")
    except urllib.error.HTTPError as error:
        try:
            said = error.read(200).decode("utf-8", "replace").strip()
        except Exception:  # noqa: BLE001 - the status is what counts; the body is only a hint
            said = ""
        return Outcome(error.code, f"HTTP {error.code} {error.reason}" + (f": {said}" if said else ""))
    except (TimeoutError, urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(reason, TimeoutError) or isinstance(error, TimeoutError):
            return Outcome(None, f"timed out after {attempt.timeout} s")
        return Outcome(None, f"{type(reason).__name__}: {reason}"[:500])


def delivery_record(attempt: Attempt, outcome: Outcome, *, now: datetime) -> str:
    """Delivered, or failed with the next attempt scheduled, or dead after the last one; returns which.

    Written only if the lease is still this attempt's: a replay (or another
    worker that took the row after the lease ran out) has superseded it.
    """
    fields: dict[str, Any] = {"leased_until": None, "last_status_code": outcome.status_code,
                              "last_error": outcome.error[:500]}
    if outcome.delivered:
        fields |= {"status": DeliveryStatus.DELIVERED, "delivered_at": now, "last_error": ""}
    elif attempt.attempt >= max_attempts():
        fields |= {"status": DeliveryStatus.DEAD}
    else:
        fields |= {"status": DeliveryStatus.FAILED, "next_attempt_at": now + backoff_delay(attempt.attempt)}
    updated = Delivery.objects.filter(pk=attempt.delivery_id, leased_until=attempt.lease).update(**fields)
    if not updated:
        return "superseded"
    if not outcome.delivered:
        logger.warning("webhook %s to %s, attempt %d: %s", attempt.event_id, attempt.url, attempt.attempt,
                       outcome.error)
    return str(fields["status"])


def _send(attempts: list[Attempt], *, now: datetime | None) -> Counter[str]:
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(attempts))) as pool:
        outcomes = list(pool.map(delivery_post, attempts))
    return Counter(delivery_record(attempt, outcome, now=now or timezone.now())
                   for attempt, outcome in zip(attempts, outcomes))


def deliveries_dead_letter(*, now: datetime) -> int:
    """Deliveries whose last attempt never reported (its worker died) and that have no attempt left: dead."""
    return (Delivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
                                    attempts__gte=max_attempts())
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .update(status=DeliveryStatus.DEAD, leased_until=None,
                    last_error="the last attempt never reported back (its worker stopped)"))


def deliveries_sweep(*, now: datetime | None = None, budget_seconds: float = SWEEP_BUDGET_SECONDS) -> dict[str, int]:
    """Send every due delivery, batch by batch, for at most ``budget_seconds``; safe to run twice at once."""
    totals: Counter[str] = Counter()
    totals["dead"] += deliveries_dead_letter(now=now or timezone.now())
    ends = time.monotonic() + budget_seconds
    while time.monotonic() < ends:
        attempts = deliveries_claim(now=now or timezone.now())
        if not attempts:
            break
        totals.update(_send(attempts, now=now))
    return dict(totals)


def deliveries_send(*, event_ids: list[str], now: datetime | None = None) -> dict[str, int]:
    """The immediate attempt after an event commits: these events' due deliveries, now."""
    attempts = deliveries_claim(now=now or timezone.now(), event_ids=event_ids, limit=100)
    return dict(_send(attempts, now=now)) if attempts else {}
