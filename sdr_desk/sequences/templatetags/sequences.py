"""The lead page's sequence panel, rendered from its own context (the board's view knows nothing of it)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Q

from sdr_desk.routing.models import OWNED_OPEN
from sdr_desk.sequences.models import ONGOING, Enrollment, SequenceTemplate, StepRunStatus

register = template.Library()


@register.inclusion_tag("sequences/_sequence.html", takes_context=True)
def sequence_panel(context: template.Context) -> dict[str, Any]:
    lead, assignment, request = context["lead"], context.get("assignment"), context["request"]
    enrollment = (Enrollment.objects.filter(lead=lead).select_related("template").order_by("-started_at", "-id")
                  .first())
    runs = list(enrollment.runs.select_related("step", "variant").order_by("step__position")) if enrollment else []
    upcoming = None
    if enrollment and enrollment.status in ONGOING:
        upcoming = next((run for run in runs if run.status in (StepRunStatus.PENDING, StepRunStatus.DUE)), None)
        done_positions = {run.step.position for run in runs}
        later = [step for step in enrollment.template.steps.all() if step.position not in done_positions]
    else:
        later = []
    user = request.user
    may_enrol = bool(assignment and assignment.state in OWNED_OPEN
                     and user.pk in (assignment.owner_id, getattr(assignment.team, "manager_id", None))
                     and not (enrollment and enrollment.status in ONGOING))
    templates = []
    if may_enrol:
        templates = list(SequenceTemplate.objects.filter(Q(team_id=assignment.team_id) | Q(team__isnull=True),
                                                         is_active=True))
    return {"lead": lead, "enrollment": enrollment, "runs": runs, "upcoming": upcoming, "later": later,
            "may_enrol": may_enrol, "templates": templates, "csrf_token": context.get("csrf_token"),
            "errors": context.get("sequence_errors") or {}}


@register.filter
def percent(rate: float | None) -> str:
    """A rate as a percentage with one decimal; a dash when nothing was sent."""
    return "\u2014" if rate is None else f"{rate * 100:.1f}%"


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)
