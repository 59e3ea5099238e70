"""The lead page's disposition panel, rendered from its own context (the board's view knows nothing of it)."""

from __future__ import annotations

from typing import Any

from django import template

from sdr_desk.dispositions.merge import DUPLICATE_CODE
from sdr_desk.dispositions.models import Disposition, DispositionCode
from sdr_desk.dispositions.services import may_disposition, may_see_dispositions
from sdr_desk.routing.models import LeadState

register = template.Library()


@register.inclusion_tag("dispositions/_disposition.html", takes_context=True)
def disposition_panel(context: template.Context) -> dict[str, Any]:
    lead, assignment, request = context["lead"], context.get("assignment"), context["request"]
    current = None
    if may_see_dispositions(request.user, assignment):
        current = (Disposition.objects.filter(lead=lead, is_current=True).select_related("code", "recorded_by")
                   .first())
    may = bool(assignment and assignment.state != LeadState.CLOSED and may_disposition(request.user, assignment))
    return {
        "lead": lead,
        "merged_into": lead.merged_into if lead.merged_into_id else None,
        "merged_leads": list(lead.merged_leads.order_by("pk").only("pk", "email", "first_name", "last_name")),
        "duplicate_code": DUPLICATE_CODE,
        "current": current,
        "may": may,
        "codes": list(DispositionCode.objects.filter(is_active=True)) if may else [],
        "errors": context.get("disposition_errors") or {},
        "form": context.get("disposition_form") or {},
        "csrf_token": context.get("csrf_token"),
        "today": context.get("next_step_min", "")[:10],
    }
