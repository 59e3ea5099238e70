"""What routing says when a lead's assignment changes, for whoever shows leads (the board listens).

Routing knows nothing of the board: it sends ``assignment_changed`` inside the
service's transaction, so what a receiver writes (the board's numbered event
log) commits or rolls back with the change itself, and a receiver defers its
pushes with ``transaction.on_commit``.
"""

from __future__ import annotations

from django.dispatch import Signal

from sdr_desk.routing.models import LeadAssignment

# kwargs: assignment, previous_team_id, previous_owner_id, previous_state (None: the state did not change),
# notify (a hot lead newly in front of someone), change (the owner change's kind: "claimed", "released"...;
# "" for other changes) and reason (its reason, as the timeline has it)
assignment_changed = Signal()


def assignment_changed_send(assignment: LeadAssignment, *, previous_team_id: int | None = None,
                            previous_owner_id: int | None = None, previous_state: str | None = None,
                            notify: bool = False, change: str = "", reason: str = "") -> None:
    assignment_changed.send(sender=LeadAssignment, assignment=assignment, previous_team_id=previous_team_id,
                            previous_owner_id=previous_owner_id, previous_state=previous_state, notify=notify,
                            change=change, reason=reason)

# kwargs: assignments. Many leads changed at once in one transaction, none of them in owner, team or state (a
# batch of desk-planned next steps coming due, ``leads_next_step_due``): a receiver that shows leads hears
# the batch in one call and can number and push it set-based. The receivers of ``assignment_changed`` that
# act on owner or state changes (enrolment, a disposition's stop) have nothing to do for these.
assignments_changed = Signal()


def assignments_changed_send(assignments: list[LeadAssignment]) -> None:
    if assignments:
        assignments_changed.send(sender=LeadAssignment, assignments=assignments)
