"""The lead page's handoff panel, and a time shown in a named zone (the AE's, the lead's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from sdr_desk.board.zones import lead_zone_name, zone_named
from sdr_desk.dispositions.models import Disposition, Outcome
from sdr_desk.dispositions.services import may_disposition, may_see_dispositions
from sdr_desk.handoff.models import OPEN_STATUSES, HandoffStatus, MeetingStatus
from sdr_desk.handoff.selectors import handoff_current
from sdr_desk.handoff.services import may_cancel
from sdr_desk.routing.models import OWNED_OPEN, LeadState, Rep, RepRole

register = template.Library()


@register.filter
def in_zone(moment: datetime | None, name: str | None) -> str:
    """"Tue Mar 10, 14:00 (Europe/London)"; empty for no time or no known zone."""
    zone = zone_named(name or "")
    if moment is None or zone is None:
        return ""
    return f"{moment.astimezone(zone):%a %b %-d, %H:%M} ({zone.key})"


def lead_zone(lead: Any) -> str | None:
    return lead_zone_name(lead.time_zone or "", lead.country or "", lead.state or "", lead.phone or "")


def may_hand_off(user: Any, lead: Any, assignment: Any) -> bool:
    """The owner (or their manager) of an open lead, or of a closed one whose disposition is qualified."""
    if assignment is None or not user.has_perm("handoff.add_handoff") or not may_disposition(user, assignment):
        return False
    if assignment.state in OWNED_OPEN:
        return True
    return assignment.state == LeadState.CLOSED and Disposition.objects.filter(
        lead=lead, is_current=True, code__outcome=Outcome.QUALIFIED).exists()


@register.inclusion_tag("handoff/_handoff.html", takes_context=True)
def handoff_panel(context: template.Context) -> dict[str, Any]:
    lead, assignment, request = context["lead"], context.get("assignment"), context["request"]
    user = request.user
    visible = user.has_perm("handoff.view_handoff") and may_see_dispositions(user, assignment)
    current = handoff_current(lead.pk) if visible else None
    may_withdraw = (current is not None and current.status == HandoffStatus.PENDING
                    and may_cancel(user, current))
    may = (current is None or current.status not in OPEN_STATUSES) and may_hand_off(user, lead, assignment)
    aes = (list(Rep.objects.filter(role=RepRole.AE).select_related("user", "team").order_by("team__name",
                                                                                               "user__first_name"))
           if may else [])
    return {
        "lead": lead, "current": current, "may": may, "may_cancel": may_withdraw, "aes": aes, "lead_zone": lead_zone(lead),
        "viewer_zone": context.get("zone"), "min": context.get("next_step_min", ""),
        "errors": context.get("handoff_errors") or {}, "form": context.get("handoff_form") or {},
        "csrf_token": context.get("csrf_token"), "meeting_none": MeetingStatus.NONE,
    }
