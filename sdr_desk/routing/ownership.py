"""Who owns a lead: the one function that changes it, and claiming.

Every assignment, claim, release, reassignment and escalation goes through
``lead_owner_change`` on a row the caller has locked, so concurrent changes
queue up and each lands in the lead's timeline with actor, reason, before and after.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from inbound.models import Lead
from inbound.timeline import timeline_record
from sdr_desk.routing.models import LeadAssignment, LeadState, Rep, Team, Visibility
from sdr_desk.routing.signals import assignment_changed_send

OWNER_KIND = "owner"


class OwnershipError(Exception):
    """A claim or reassignment that may not happen; ``status`` is the HTTP answer."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(OwnershipError):
    status = 403


class AlreadyClaimed(OwnershipError):
    status = 409


class FieldsInvalid(OwnershipError):
    """Field-level refusals of a desk service (a touch, a next step, a disposition); nothing was changed."""

    status = 400

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def assignment_locked(lead_id: int) -> LeadAssignment:
    """The lead's assignment row, created if missing, locked until the transaction ends."""
    LeadAssignment.objects.bulk_create([LeadAssignment(lead_id=lead_id)], ignore_conflicts=True)
    return LeadAssignment.objects.select_for_update(of=("self",)).select_related("team", "owner").get(lead_id=lead_id)


def _name(user: AbstractBaseUser | None) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()  # type: ignore[attr-defined]


def lead_owner_change(
    assignment: LeadAssignment,
    *,
    owner: AbstractBaseUser | None,
    team: Team | None,
    state: str,
    kind: str,
    reason: str,
    actor: AbstractBaseUser | None = None,
    actor_label: str = "",
    now: datetime | None = None,
    claim_expires_at: datetime | None = None,
) -> LeadAssignment:
    """Change the owner, team or state of a lead whose assignment row the caller holds locked."""
    now = now or timezone.now()
    before = {"owner": getattr(assignment.owner, "username", None), "team": getattr(assignment.team, "name", None),
              "state": assignment.state}
    previous_team_id, previous_owner_id = assignment.team_id, assignment.owner_id
    owner_changed = (assignment.owner_id or None) != (owner.pk if owner else None)
    assignment.owner = owner
    assignment.team = team
    assignment.state = state
    if owner_changed:
        assignment.owned_since = now if owner else None
    assignment.claim_expires_at = claim_expires_at
    assignment.version += 1
    assignment.updated_at = now
    assignment.save()
    after = {"owner": getattr(owner, "username", None), "team": getattr(team, "name", None), "state": state}
    who = _name(owner)
    where = team.name if team else "no team"
    summaries = {
        "assigned": f"Assigned to {who} ({where})",
        "claimed": f"Claimed by {who}",
        "offered": f"Offered to {where}",
        "queued": f"In the {where} queue",
        "released": f"Returned to the {where} board",
        "reassigned": f"Reassigned to {who or where}",
        "escalated": f"Escalated to {who}" if who else f"Escalated to the {where} manager queue",
        "closed": "Closed",
    }
    timeline_record(lead=Lead(pk=assignment.lead_id), kind=OWNER_KIND, summary=f"{summaries.get(kind, kind)}: {reason}",
                    actor=actor, actor_label=actor_label or ("" if actor else "desk"), occurred_at=now,
                    data={"change": kind, "reason": reason, "before": before, "after": after})
    assignment_changed_send(assignment, previous_team_id=previous_team_id, previous_owner_id=previous_owner_id,
                            previous_state=before["state"],
                            notify=assignment.is_hot and kind in ("offered", "assigned", "escalated", "released"))
    return assignment


def may_claim(user: AbstractBaseUser, assignment: LeadAssignment) -> bool:
    """A rep of the lead's claim-mode team, or that team's manager."""
    team = assignment.team
    if team is None:
        return False
    if team.manager_id == user.pk:
        return True
    rep = Rep.objects.filter(user=user).only("team_id", "status").first()
    if rep is None or rep.team_id != team.pk or rep.status == "offline":
        return False
    return team.visibility == Visibility.CLAIM or assignment.owner_id == user.pk


@transaction.atomic
def lead_claim(lead_id: int, *, user: AbstractBaseUser, now: datetime | None = None) -> LeadAssignment:
    """First claim wins; later ones get ``AlreadyClaimed`` naming the winner."""
    now = now or timezone.now()
    if not Lead.objects.filter(pk=lead_id).exists():
        raise NotAllowed("No such lead.")
    assignment = assignment_locked(lead_id)
    if assignment.owner_id == user.pk:
        return assignment  # a double click: still yours
    if not may_claim(user, assignment):
        raise NotAllowed("You may not claim this lead: it is not offered to your team.")
    if assignment.owner_id is not None or assignment.state not in (LeadState.OFFERED, LeadState.QUEUED,
                                                                   LeadState.ESCALATED):
        raise AlreadyClaimed(f"Already taken by {_name(assignment.owner) or 'someone else'}.")
    expires = now + timedelta(minutes=assignment.team.claim_touch_minutes) if assignment.team else None
    return lead_owner_change(assignment, owner=user, team=assignment.team, state=LeadState.ASSIGNED, kind="claimed",
                             reason="first to claim", actor=user, now=now, claim_expires_at=expires)


def assignment_snapshot(assignment: LeadAssignment) -> dict[str, Any]:
    return {"lead": assignment.lead_id, "owner": getattr(assignment.owner, "username", None),
            "state": assignment.state, "version": assignment.version}
