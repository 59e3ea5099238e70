"""Django-Q tasks of the handoff. Each calls a service and is safe to run twice."""

from __future__ import annotations

from django.utils import timezone

from sdr_desk.handoff.services import handoff_sweep


def handoff_watch() -> int:
    """Escalate overdue handoffs (scheduled each minute, no catch-up: the sweep reads the database)."""
    return handoff_sweep(now=timezone.now())
