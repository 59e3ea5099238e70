"""The speed-to-lead clock itself: started on arrival or turning hot, stopped by the owner's first touch,
counted in the owning team's business hours. The sweep that acts on it is ``sla``; this module imports
no service, so ownership and touches can use it."""

from __future__ import annotations

from datetime import datetime

from sdr_desk.routing.business_hours import Calendar, add_business_seconds, business_seconds_between
from sdr_desk.routing.models import LeadAssignment, Team, TeamHoliday


def team_calendar(team: Team) -> Calendar:
    holidays = TeamHoliday.objects.filter(team=team).values_list("date", flat=True)
    return Calendar.from_config(time_zone=team.time_zone, hours=team.business_hours, holidays=holidays)


def clock_start(assignment: LeadAssignment, *, team: Team | None, tier: str, now: datetime,
                calendar: Calendar | None = None) -> None:
    """Start (or restart) the clock for ``tier`` in ``team``'s hours; no SLA for the tier: no deadline."""
    assignment.sla_started_at = now
    assignment.first_touch_at = None
    assignment.response_seconds = None
    assignment.response_business_seconds = None
    assignment.escalation_level = 0
    assignment.sla_warned = False
    assignment.sla_due_at = assignment.sla_warn_at = None
    seconds = team.sla_seconds(tier) if team else None
    if team is None or seconds is None:
        return
    calendar = calendar or team_calendar(team)
    assignment.sla_due_at = add_business_seconds(calendar, now, seconds)
    assignment.sla_warn_at = add_business_seconds(calendar, now, seconds * team.warn_fraction)


def deadline_renew(assignment: LeadAssignment, *, now: datetime) -> None:
    """A new owner of a lead whose deadline ran out gets the tier's target again from now.

    The response clock still counts from arrival (``sla_started_at``); only the deadline the sweep
    acts on moves, so a claimed or hand-assigned overdue lead is not escalated the moment it lands.
    """
    if assignment.first_touch_at is not None or assignment.sla_due_at is None or assignment.sla_due_at > now:
        return
    seconds = assignment.team.sla_seconds(assignment.tier) if assignment.team else None
    assignment.sla_due_at = add_business_seconds(team_calendar(assignment.team), now, seconds) if seconds else None
    assignment.sla_warn_at = None
    assignment.sla_warned = True  # the lead was late already: no second warning


def clock_stop(assignment: LeadAssignment, *, at: datetime, calendar: Calendar | None = None) -> None:
    """The owner's first touch: response time in wall-clock and in business seconds."""
    if assignment.first_touch_at is not None or assignment.sla_started_at is None:
        return
    assignment.first_touch_at = at
    assignment.response_seconds = max((at - assignment.sla_started_at).total_seconds(), 0.0)
    if assignment.team_id:
        calendar = calendar or team_calendar(assignment.team)
        assignment.response_business_seconds = business_seconds_between(calendar, assignment.sla_started_at, at)
    else:
        assignment.response_business_seconds = assignment.response_seconds
