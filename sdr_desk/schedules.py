"""Periodic Django-Q work: each app declares its own (``schedules`` on its AppConfig), kept in step on every migrate.

Schedules never catch up after downtime (Q_CLUSTER catch_up=False): each task
looks at the database's state, so one late run does the work of the missed ones.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.utils import timezone

# Each entry of an AppConfig's ``schedules``: (name, function, type "I" minutes or "D" daily, minutes,
# daily hour in UTC). A new app adds its periodic work there, not here.
Entry = tuple[str, str, str, int | None, int | None]


def declared_schedules() -> list[Entry]:
    from django.apps import apps

    return [entry for config in apps.get_app_configs() for entry in getattr(config, "schedules", ())]


def _next_run(hour: int | None) -> datetime:
    now = timezone.now()
    if hour is None:
        return now
    run = datetime.combine(now.date(), time(hour), tzinfo=UTC)
    return run if run > now else run + timedelta(days=1)


def schedules_sync(**kwargs: Any) -> None:
    from django_q.models import Schedule

    for name, func, schedule_type, minutes, hour in declared_schedules():
        schedule, created = Schedule.objects.get_or_create(
            name=name,
            defaults={"func": func, "schedule_type": schedule_type, "minutes": minutes, "repeats": -1,
                      "next_run": _next_run(hour)},
        )
        if not created and (schedule.func, schedule.schedule_type, schedule.minutes) != (func, schedule_type, minutes):
            schedule.func, schedule.schedule_type, schedule.minutes = func, schedule_type, minutes
            schedule.next_run = _next_run(hour)
            schedule.save()
