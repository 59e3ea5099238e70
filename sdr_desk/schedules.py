"""Periodic Django-Q work, declared here and kept in step on every migrate.

Schedules never catch up after downtime (Q_CLUSTER catch_up=False): each task
looks at the database's state, so one late run does the work of the missed ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.utils import timezone

# name, function, schedule type ("I" minutes, "D" daily), minutes, daily hour (UTC)
SCHEDULES = [
    ("Replay failed submissions", "inbound.tasks.failed_submissions_replay", "I", 5, None),
    ("Nightly intent decay", "scoring.tasks.scores_decay", "D", None, 3),
    ("SLA watch", "sdr_desk.tasks.sla_watch", "I", 1, None),
    ("Hand on missed leads", "sdr_desk.tasks.handon_sweep", "I", 1, None),
]


def _next_run(hour: int | None) -> datetime:
    now = timezone.now()
    if hour is None:
        return now
    run = datetime.combine(now.date(), time(hour), tzinfo=UTC)
    return run if run > now else run + timedelta(days=1)


def schedules_sync(**kwargs: Any) -> None:
    from django_q.models import Schedule

    for name, func, schedule_type, minutes, hour in SCHEDULES:
        schedule, created = Schedule.objects.get_or_create(
            name=name,
            defaults={"func": func, "schedule_type": schedule_type, "minutes": minutes, "repeats": -1,
                      "next_run": _next_run(hour)},
        )
        if not created and (schedule.func, schedule.schedule_type, schedule.minutes) != (func, schedule_type, minutes):
            schedule.func, schedule.schedule_type, schedule.minutes = func, schedule_type, minutes
            schedule.next_run = _next_run(hour)
            schedule.save()
