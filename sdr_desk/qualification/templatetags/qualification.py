"""The lead page's checklist panel, rendered from its own context (the board's view knows nothing of it)."""

from __future__ import annotations

from typing import Any

from django import template

from sdr_desk.dispositions.services import may_see_dispositions
from sdr_desk.qualification.services import lead_checklist, may_answer

register = template.Library()


@register.inclusion_tag("qualification/_checklist.html", takes_context=True)
def qualification_panel(context: template.Context) -> dict[str, Any]:
    lead, assignment, request = context["lead"], context.get("assignment"), context["request"]
    team_id = assignment.team_id if assignment else None
    # Outcomes and the facts behind them: hidden from SDRs of other teams, as dispositions are.
    visible = team_id is not None and may_see_dispositions(request.user, assignment)
    rows = lead_checklist(lead.pk, team_id) if visible else []
    required = [item for item, _ in rows if item.required]
    return {
        "lead": lead,
        "rows": rows,
        "visible": visible,
        "may": visible and request.user.has_perm("qualification.change_answer") and may_answer(request.user,
                                                                                                 assignment),
        "required_total": len(required),
        "required_done": sum(1 for item, answer in rows if item.required and answer and answer.text),
        "csrf_token": context.get("csrf_token"),
    }
