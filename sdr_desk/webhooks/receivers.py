"""Webhooks hear every timeline entry (intake's signal; intake imports nothing of the desk)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from inbound.models import TimelineEntry
from inbound.timeline import timeline_recorded
from sdr_desk.webhooks.services import deliveries_record


@receiver(timeline_recorded, sender=TimelineEntry, dispatch_uid="webhooks.deliveries_record")
def timeline_to_deliveries(*, entries: list[TimelineEntry], **kwargs: Any) -> None:
    """Inside the writer's transaction: the deliveries commit, or roll back, with the change."""
    deliveries_record(entries=entries)
