"""Dispositions listen to routing: a closed lead that routing opens again (it turned hot) is no longer dispositioned."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from sdr_desk.dispositions.models import Disposition
from sdr_desk.routing.models import LeadAssignment, LeadState
from sdr_desk.routing.signals import assignment_changed


@receiver(assignment_changed, sender=LeadAssignment, dispatch_uid="dispositions.assignment_reopened")
def assignment_reopened(*, assignment: LeadAssignment, previous_state: str | None = None, **kwargs: Any) -> None:
    # Only a change out of "closed" costs a statement; every other change of a lead costs none here.
    if previous_state == LeadState.CLOSED and assignment.state != LeadState.CLOSED:
        Disposition.objects.filter(lead_id=assignment.lead_id, is_current=True).update(is_current=False)
