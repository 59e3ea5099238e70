"""The writers of webhooks' state: endpoints, the deliveries an event makes, and a replay.

Recording a delivery never sends anything: it is a row written in the
transaction of the change it reports (a rolled-back change leaves none), and
the sending happens after commit, off the rep's request (``sending.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from inbound.models import Lead, TimelineEntry
from sdr_desk.handon import after_response
from sdr_desk.webhooks.events import webhook_events
from sdr_desk.webhooks.models import Delivery, DeliveryStatus, Endpoint

logger = logging.getLogger(__name__)

SEND_TASK = "sdr_desk.webhooks.tasks.deliveries_send"
ENDPOINT_FIELDS = ("name", "url", "events", "is_active", "timeout_seconds")


# --- endpoints --------------------------------------------------------------------------------------------


def endpoint_create(*, user: AbstractBaseUser | None, name: str, url: str, events: list[str],
                    is_active: bool = True, timeout_seconds: int = 5) -> Endpoint:
    """A new endpoint with a fresh secret; a bad URL or event list raises ValidationError by field, saving nothing."""
    endpoint = Endpoint(name=name, url=url, events=list(events), is_active=is_active,
                        timeout_seconds=timeout_seconds, created_by=user if getattr(user, "pk", None) else None)
    endpoint.full_clean()
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_update(endpoint_id: int, **changes: Any) -> Endpoint:
    """Change some of name, url, events, is_active, timeout_seconds; refused by field, changing nothing."""
    unknown = set(changes) - set(ENDPOINT_FIELDS)
    if unknown:
        raise TypeError(f"endpoint_update() got unexpected fields: {', '.join(sorted(unknown))}")
    endpoint = Endpoint.objects.select_for_update().get(pk=endpoint_id)
    for field, value in changes.items():
        setattr(endpoint, field, value)
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def endpoint_delete(endpoint_id: int) -> None:
    """The endpoint and its delivery log go; to keep the log, make it inactive instead."""
    Endpoint.objects.filter(pk=endpoint_id).delete()


# --- an event becomes deliveries -------------------------------------------------------------------------


def event_id_of(entry: TimelineEntry) -> str:
    """The event's stable id: one per timeline entry, the same in every retry, replay and endpoint."""
    return f"tl-{entry.pk}"


def lead_api_url(lead_id: int) -> str:
    """The lead's API address; absolute when ``DESK_BASE_URL`` (e.g. https://desk.example.com) is set."""
    return settings.DESK_BASE_URL.rstrip("/") + reverse("api-lead-detail", args=[lead_id])


def lead_page_url(lead_id: int) -> str:
    """The lead's page, for a person following the link from the CRM; absolute like ``lead_api_url``."""
    return settings.DESK_BASE_URL.rstrip("/") + reverse("lead-detail", args=[lead_id])


def event_payload(entry: TimelineEntry, *, email: str) -> dict[str, Any]:
    """The body the receiver gets: what happened to which lead, as the timeline tells it. No secrets, no actor ids."""
    return {
        "id": event_id_of(entry),
        "type": entry.kind,
        "occurred_at": entry.occurred_at.isoformat(),
        "lead": {"id": entry.lead_id, "email": email, "url": lead_api_url(entry.lead_id),
                 "page": lead_page_url(entry.lead_id)},
        "summary": entry.summary,
        "data": entry.data,
    }


def deliveries_record(*, entries: Iterable[TimelineEntry]) -> int:
    """One pending delivery per (entry, active endpoint subscribed to its kind), in the caller's transaction.

    Entries of kinds nobody may subscribe to cost no query; otherwise one to read
    the active endpoints, and when any subscribes, one for the leads' emails and
    one insert. The immediate attempt is queued for after the commit (and after
    the response, inside a request); the sweep is the safety net.
    """
    kinds = webhook_events()
    wanted = [entry for entry in entries if entry.kind in kinds]
    if not wanted:
        return 0
    endpoints = list(Endpoint.objects.filter(is_active=True).values_list("pk", "events"))
    if not any(entry.kind in events for entry in wanted for _, events in endpoints):
        return 0
    saved = [entry for entry in wanted if entry.pk is not None]
    if len(saved) < len(wanted):
        logger.error("%d timeline entries without an id: no webhook for them", len(wanted) - len(saved))
    emails = dict(Lead.objects.filter(pk__in={entry.lead_id for entry in saved}).values_list("pk", "email"))
    now = timezone.now()
    rows = []
    for entry in saved:
        payload = event_payload(entry, email=emails.get(entry.lead_id, ""))
        rows += [Delivery(endpoint_id=endpoint_id, event_id=payload["id"], kind=entry.kind, payload=payload,
                          next_attempt_at=now, created_at=now)
                 for endpoint_id, events in endpoints if entry.kind in events]
    if not rows:
        return 0
    # A second signal for the same entry (there is none today) must not make a second delivery.
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    deliveries_send_on_commit(sorted({row.event_id for row in rows}))
    return len(rows)


def deliveries_send_on_commit(event_ids: list[str]) -> None:
    """Queue one attempt of these events' deliveries once the transaction commits, never inside it.

    ``robust``: a queue that is down must not fail a change already committed; the sweep sends it.
    """
    from django_q.tasks import async_task

    def enqueue() -> None:
        async_task(SEND_TASK, event_ids, q_options={"group": "webhooks", "task_name": f"webhooks {event_ids[0]}"})

    transaction.on_commit(lambda: after_response(enqueue), robust=True)


# --- replay ---------------------------------------------------------------------------------------------


@transaction.atomic
def deliveries_replay(delivery_ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Send these deliveries again: the same event id and body, attempts from zero, due now.

    Works on any status, a delivered one included (the receiver drops it as a
    duplicate unless it wants it again). An attempt still in flight is
    superseded: its result is not recorded (``sending.delivery_record``).
    """
    now = now or timezone.now()
    ids = list(delivery_ids)
    count = Delivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, leased_until=None, delivered_at=None)
    event_ids = sorted(set(Delivery.objects.filter(pk__in=ids).values_list("event_id", flat=True)))
    if event_ids:
        deliveries_send_on_commit(event_ids)
    return count
