"""Periodic Django-Q work, declared here and kept in step on every migrate."""

from __future__ import annotations

from typing import Any

SCHEDULES = [
    # name, function, minutes
    ("Replay failed submissions", "inbound.tasks.failed_submissions_replay", 5),
]


def schedules_sync(**kwargs: Any) -> None:
    from django_q.models import Schedule

    for name, func, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1}
        )
