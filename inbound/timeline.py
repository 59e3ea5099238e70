"""The one way to write a lead's timeline.

Other apps (scoring, the desk) record their changes here too, with their own
``kind``; the timeline is the lead's history and the audit trail at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from inbound.models import Lead, TimelineEntry


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
    return entry


def timeline_record_many(entries: list[TimelineEntry]) -> None:
    if entries:
        TimelineEntry.objects.bulk_create(entries)
