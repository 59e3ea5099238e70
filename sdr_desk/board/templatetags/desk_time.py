"""Times on the desk's pages: the first-touch label of a lead, durations people read, the lead's own time.

``static/js/time.js`` says the same things in the browser and keeps them true as the page sits open;
the wording here and there is one: "Overdue by 12 min", "Escalated · waiting 1 h 5 min",
"Touched 3 min after arrival", "No first-touch target".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import template
from django.utils import timezone

from sdr_desk.board.zones import LeadTime, lead_local_time

register = template.Library()


@register.filter
def duration(seconds: float | int | None) -> str:
    """37 -> "37 s", 420 -> "7 min", 3900 -> "1 h 5 min", 93600 -> "1 d 2 h"."""
    s = max(0, int(seconds or 0))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        hours, minutes = divmod(s // 60, 60)
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(s // 3600, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def clock(seconds: float) -> str:
    """Time left, as the countdown shows it: "4:59", "1h 05m", "2d 3h"."""
    s = max(0, int(seconds))
    if s >= 86400:
        return f"{s // 86400}d {s % 86400 // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 60}:{s % 60:02d}"


@dataclass(frozen=True)
class SlaLabel:
    kind: str  # touched, escalated, over, due, none
    text: str
    due: datetime | None = None  # the live kinds carry their instants for time.js
    start: datetime | None = None
    at: datetime | None = None  # the moment the title names
    at_label: str = ""

    @property
    def live(self) -> bool:
        return self.kind in ("escalated", "over", "due")

    @property
    def alarming(self) -> bool:
        return self.kind in ("escalated", "over")


def sla_label_of(assignment: object, *, now: datetime | None = None) -> SlaLabel | None:
    """What a lead's first-touch clock says now: the one wording for cards, the lead page and the list."""
    if not assignment:
        return None
    now = now or timezone.now()
    touched_at = getattr(assignment, "first_touch_at", None)
    due = getattr(assignment, "sla_due_at", None)
    start = getattr(assignment, "sla_started_at", None)
    state = getattr(assignment, "state", "")
    if touched_at is not None:
        seconds = getattr(assignment, "response_seconds", None)
        text = f"Touched {duration(seconds)} after arrival" if seconds is not None else "Touched"
        return SlaLabel("touched", text, at=touched_at, at_label="First touch")
    if state == "escalated":
        waited = (now - start).total_seconds() if start else 0
        return SlaLabel("escalated", f"Escalated · waiting {duration(waited)}", due=due, start=start,
                        at=due, at_label="Missed the first-touch deadline" if due else "")
    if state == "closed":
        return SlaLabel("none", "Closed without a touch")
    if due is not None:
        left = (due - now).total_seconds()
        text = f"{clock(left)} left" if left >= 0 else f"Overdue by {duration(-left)}"
        return SlaLabel("due" if left >= 0 else "over", text, due=due, start=start, at=due,
                        at_label="First-touch deadline")
    return SlaLabel("none", "No first-touch target")


@register.simple_tag
def sla_label(assignment: object) -> SlaLabel | None:
    return sla_label_of(assignment)


@register.simple_tag
def lead_time(lead: object) -> LeadTime | None:
    """The lead's own time now ("their time"), or None when their zone is not known."""
    return lead_local_time(lead)
