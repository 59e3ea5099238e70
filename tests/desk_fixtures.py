"""Teams, reps and routed leads for the desk's tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from inbound.models import Activity, Lead
from scoring.services import lead_rescore
from sdr_desk.roles import Role
from sdr_desk.routing.models import Rep, Team
from tests.factories import LeadFactory, UserFactory

ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def team_make(name: str = "Inbound", *, visibility: str = "claim", is_default: bool = True, **fields) -> Team:
    fields.setdefault("business_hours", ALWAYS)
    return Team.objects.create(name=name, visibility=visibility, is_default=is_default, **fields)


def rep_make(username: str, team: Team | None, **fields):
    user = UserFactory(username=username, first_name=username.title(), roles=[Role.SDR])
    fields.setdefault("working_hours", ALWAYS)
    Rep.objects.create(user=user, team=team, **fields)
    return user


def hot_lead(*, form_type: str = "demo_request", when: datetime | None = None, **fields) -> Lead:
    """A lead with a demo request, scored (hot under the default criteria)."""
    lead = LeadFactory(**fields)
    Activity.objects.create(lead=lead, type="form_submit", form_type=form_type, occurred_at=when or timezone.now())
    Lead.objects.filter(pk=lead.pk).update(last_form_type=form_type)
    lead_rescore(lead.pk, now=when)
    return lead


def cold_lead(**fields) -> Lead:
    lead = LeadFactory(**fields)
    Activity.objects.create(lead=lead, type="form_submit", form_type="newsletter",
                            occurred_at=timezone.now() - timedelta(minutes=1))
    lead_rescore(lead.pk)
    return lead


def answers_give(lead_id: int, user) -> None:
    """Answer every required item of the lead's team's checklist, as a qualified disposition needs."""
    from sdr_desk.qualification.services import answer_record, lead_checklist
    from sdr_desk.routing.models import LeadAssignment

    team_id = LeadAssignment.objects.filter(lead_id=lead_id).values_list("team_id", flat=True).first()
    for item, _ in lead_checklist(lead_id, team_id):
        if item.required:
            answer_record(lead_id, user=user, item=item.pk, text=f"{item.label}: answered on the call")
