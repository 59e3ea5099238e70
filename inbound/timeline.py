"""The one way to write a lead's timeline.

Other apps (scoring, the desk) record their changes here too, with their own
``kind``; the timeline is the lead's history and the audit trail at once.

``timeline_recorded`` is sent with ``entries`` (saved, with their ids) each time
entries are written, inside the writer's transaction: a receiver's own writes
commit or roll back with the change (the desk's outbound webhooks record their
deliveries this way). Receivers must be quick, and do no I/O but the database's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.dispatch import Signal
from django.utils import timezone

from inbound.models import Lead, TimelineEntry

timeline_recorded = Signal()


class Kind:
    CREATED = "created"
    SUBMISSION = "submission"
    ACTIVITY = "activity"
    FIELDS = "fields"


def timeline_entry(
    *,
    lead: Lead,
    kind: str,
    summary: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> TimelineEntry:
    """An unsaved entry, for callers that write several at once with ``timeline_record_many``."""
    return TimelineEntry(
        lead=lead,
        kind=kind,
        summary=summary[:500],
        actor=actor,
        actor_label=actor_label[:150],
        data=data or {},
        occurred_at=occurred_at or timezone.now(),
    )


def timeline_record(**kwargs: Any) -> TimelineEntry:
    entry = timeline_entry(**kwargs)
    entry.save()
    timeline_recorded.send(sender=TimelineEntry, entries=[entry])
    return entry


def timeline_record_many(entries: list[TimelineEntry]) -> None:
    if entries:
        # PostgreSQL (RETURNING) and SQLite 3.35+ set each entry's id here, so receivers get saved entries.
        TimelineEntry.objects.bulk_create(entries)
        timeline_recorded.send(sender=TimelineEntry, entries=entries)
