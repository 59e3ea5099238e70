"""Dispositions listen to routing: a closed lead that routing opens again (it turned hot) is no longer dispositioned."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from inbound.models import Lead, LeadStatus
from inbound.timeline import timeline_record
from sdr_desk.dispositions.models import Disposition
from sdr_desk.routing.models import LeadAssignment, LeadState
from sdr_desk.routing.signals import assignment_changed


@receiver(assignment_changed, sender=LeadAssignment, dispatch_uid="dispositions.assignment_reopened")
def assignment_reopened(*, assignment: LeadAssignment, previous_state: str | None = None, **kwargs: Any) -> None:
    # Only a change out of "closed" costs a statement; every other change of a lead costs none here.
    if previous_state == LeadState.CLOSED and assignment.state != LeadState.CLOSED:
        Disposition.objects.filter(lead_id=assignment.lead_id, is_current=True).update(is_current=False)
        # Its status said how it ended; it is being worked again, so it starts over as new.
        before = Lead.objects.filter(pk=assignment.lead_id).values_list("status", flat=True).first()
        if before in (LeadStatus.NURTURE, LeadStatus.CLOSED, LeadStatus.DISQUALIFIED, LeadStatus.QUALIFIED):
            Lead.objects.filter(pk=assignment.lead_id).update(status=LeadStatus.NEW)
            timeline_record(lead=Lead(pk=assignment.lead_id), kind="status", actor_label="desk",
                            summary=f"Back on the desk: status {LeadStatus(before).label} → New",
                            data={"before": {"status": before}, "after": {"status": LeadStatus.NEW}})
