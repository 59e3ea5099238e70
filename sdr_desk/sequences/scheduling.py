"""When a step is due: business days of the lead's own zone, placed at the start of the step's send window.

Business days skip the step's closed weekdays, the public holidays of the lead's country (the
``holidays`` package) and the team's own ``TeamHoliday`` rows. The arithmetic on wall time is the
desk's (``routing.business_hours``): a :class:`Calendar` whose open hours are the send window, so
daylight saving, spring-forward gaps and fall-back repeats come out as they do for the SLA clock.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays as public_holidays

from sdr_desk.board.zones import lead_zone_name
from sdr_desk.routing.business_hours import MAX_SEARCH_DAYS, WEEKDAYS, Calendar, next_opening, zone_or_utc
from sdr_desk.routing.models import Team, TeamHoliday
from sdr_desk.sequences.models import Step


class StepUnschedulable(ValueError):
    """The step's send window never opens for this lead (within the desk's two-year horizon)."""


@lru_cache(maxsize=256)
def country_holidays(country: str, first_year: int, last_year: int) -> frozenset[date]:
    """Public holidays of an ISO country over the years; none for a blank or unknown country."""
    if not country:
        return frozenset()
    try:
        found = public_holidays.country_holidays(country.upper(), years=range(first_year, last_year + 1))
    except (NotImplementedError, KeyError, ValueError):
        return frozenset()
    return frozenset(found.keys())


def lead_send_zone(lead: object, team: Team | None) -> str:
    """The lead's own zone, else its country's (or state's), else the team's, else UTC."""
    name = lead_zone_name(getattr(lead, "time_zone", ""), getattr(lead, "country", ""), getattr(lead, "state", ""),
                          getattr(lead, "phone", ""))
    if name:
        return name
    return team.time_zone if team is not None else "UTC"


def window_calendar(step: Step, *, zone: str, country: str, team: Team | None, around: datetime) -> Calendar:
    """The step's send window as a desk calendar: open in the window on its weekdays, closed on holidays."""
    if step.window_start >= step.window_end or not step.weekdays:
        raise StepUnschedulable(f"The send window of step {step.position + 1} never opens.")
    year = around.year
    closed = set(country_holidays(country, year, year + 2))
    if team is not None:
        closed |= set(TeamHoliday.objects.filter(team=team, date__gte=around.date() - timedelta(days=1),
                                                 date__lte=around.date() + timedelta(days=MAX_SEARCH_DAYS))
                      .values_list("date", flat=True))
    hours = {WEEKDAYS[day]: [[f"{step.window_start:%H:%M}", f"{step.window_end:%H:%M}"]] for day in step.weekdays}
    return Calendar.from_config(time_zone=zone_or_utc(zone).key, hours=hours, holidays=closed)


def _is_business_day(calendar: Calendar, day: date) -> bool:
    return day.weekday() in calendar.hours and day not in calendar.holidays


def step_due_at(step: Step, *, start: datetime, zone: str, country: str = "", team: Team | None = None) -> datetime:
    """When ``step`` is due, counted from ``start`` (enrolment, or the previous step's end).

    A first step with ``delay_minutes`` is due that many minutes later, or at the window's next opening.
    Otherwise: the lead's local date of ``start`` moved on ``delay_business_days`` business days
    (0: today if it is one), then the window's opening that day (or ``start`` itself, when inside it);
    a window already closed that day moves to the next business day's opening.
    """
    calendar = window_calendar(step, zone=zone, country=country, team=team, around=start)
    if step.delay_minutes is not None and step.position == 0:
        due = next_opening(calendar, start + timedelta(minutes=step.delay_minutes))
    else:
        local = start.astimezone(calendar.zone)
        day, counted = local.date(), 0
        for _ in range(MAX_SEARCH_DAYS):
            if counted >= step.delay_business_days and _is_business_day(calendar, day):
                break
            day += timedelta(days=1)
            if _is_business_day(calendar, day):
                counted += 1
        else:
            raise StepUnschedulable(f"The send window of step {step.position + 1} never opens.")
        if day == local.date():
            due = next_opening(calendar, start)
        else:
            due = next_opening(calendar, datetime.combine(day, time.min, tzinfo=calendar.zone))
    if due is None:
        raise StepUnschedulable(f"The send window of step {step.position + 1} never opens.")
    return due
