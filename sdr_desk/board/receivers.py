"""The board listens to routing: every change of an assignment is numbered and pushed (a batch at once)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from sdr_desk.board.live import board_changed, boards_changed
from sdr_desk.routing.models import LeadAssignment
from sdr_desk.routing.signals import assignment_changed, assignments_changed


@receiver(assignment_changed, sender=LeadAssignment, dispatch_uid="board.assignment_changed")
def assignment_changed_show(*, assignment: LeadAssignment, previous_team_id: int | None,
                            previous_owner_id: int | None, notify: bool, change: str = "", reason: str = "",
                            **kwargs: Any) -> None:
    # A claim gone back to the team tells the rep who lost it; a lead given back ("returned": an AE rejected
    # its handoff) tells the rep who has it again.
    told = previous_owner_id if change == "released" else assignment.owner_id if change == "returned" else None
    board_changed(assignment, previous_team_id=previous_team_id, previous_owner_id=previous_owner_id, notify=notify,
                  returned_from=told, reason=reason if told else "", change=change if told else "")


@receiver(assignments_changed, sender=LeadAssignment, dispatch_uid="board.assignments_changed")
def assignments_changed_show(*, assignments: list[LeadAssignment], **kwargs: Any) -> None:
    boards_changed(assignments)
