"""The lead page's hand-out panel, rendered from its own context (the board's view knows nothing of it)."""

from __future__ import annotations

from typing import Any

from django import template

from sdr_desk.routing.models import LeadState
from sdr_desk.routing.ownership import may_hand_out, reps_to_hand_to

register = template.Library()


@register.inclusion_tag("routing/_assign.html", takes_context=True)
def assign_panel(context: template.Context) -> dict[str, Any]:
    """For the manager of the lead's team: assign it, or move it to another rep, with a reason."""
    assignment, request = context.get("assignment"), context["request"]
    may = bool(assignment and assignment.state != LeadState.CLOSED and may_hand_out(request.user, assignment))
    return {
        "lead": context["lead"],
        "assignment": assignment,
        "may": may,
        "reps": [rep for rep in reps_to_hand_to(request.user) if rep.user_id != assignment.owner_id] if may else [],
        "csrf_token": context.get("csrf_token"),
    }
