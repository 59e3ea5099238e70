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
from sdr_desk.routing.clock import deadline_renew
from sdr_desk.routing.models import LeadAssignment, LeadState, Rep, RepRole, Team, Visibility
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
        "handed_out": f"Assigned to {who} ({where}) by the manager",
        "escalated": f"Escalated to {who}" if who else f"Escalated to the {where} manager queue",
        "closed": "Closed",
        "returned": f"Back with {who} ({where})",
    }
    timeline_record(lead=Lead(pk=assignment.lead_id), kind=OWNER_KIND, summary=f"{summaries.get(kind, kind)}: {reason}",
                    actor=actor, actor_label=actor_label or ("" if actor else "desk"), occurred_at=now,
                    data={"change": kind, "reason": reason, "before": before, "after": after})
    assignment_changed_send(assignment, previous_team_id=previous_team_id, previous_owner_id=previous_owner_id,
                            previous_state=before["state"],
                            change=kind, reason=reason,
                            notify=assignment.is_hot and kind in ("offered", "assigned", "escalated", "released",
                                                                  "reassigned", "handed_out"))
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
    deadline_renew(assignment, now=now)  # an escalated lead claimed late gets a fresh target, not a re-escalation
    return lead_owner_change(assignment, owner=user, team=assignment.team, state=LeadState.ASSIGNED, kind="claimed",
                             reason="first to claim", actor=user, now=now, claim_expires_at=expires)


ASSIGN_REASON_MAX = 500


def may_see_outcomes(user: AbstractBaseUser, assignment: LeadAssignment | None) -> bool:
    """Whether the user may see how a lead ended and the facts behind it (dispositions, checklist answers):
    everyone who may open the lead except an SDR of another team (marketing and AEs see every outcome)."""
    sdr_teams = getattr(user, "_sdr_team_ids", None)  # asked by several panels of one page: read once
    if sdr_teams is None:
        sdr_teams = list(Rep.objects.filter(user_id=user.pk, role=RepRole.SDR).values_list("team_id", flat=True))
        user._sdr_team_ids = sdr_teams  # type: ignore[attr-defined]
    if not sdr_teams:
        return True
    return assignment is not None and assignment.team_id is not None and assignment.team_id in sdr_teams


def may_hand_out(user: AbstractBaseUser, assignment: LeadAssignment) -> bool:
    """The manager of the lead's team; for a lead in no team, any manager (it is nobody's yet)."""
    if not user.has_perm("routing.change_leadassignment"):
        return False
    if assignment.team_id is None:
        return Team.objects.filter(manager=user).exists()
    return assignment.team.manager_id == user.pk or bool(getattr(user, "is_superuser", False))


def reps_to_hand_to(manager: AbstractBaseUser) -> list[Rep]:
    """The SDRs a manager may give a lead to: every rep of the teams they manage (a superuser: every SDR)."""
    reps = Rep.objects.filter(role="sdr").select_related("user", "team").order_by("team__name", "user__username")
    return list(reps if getattr(manager, "is_superuser", False) else reps.filter(team__manager=manager))


@transaction.atomic
def lead_assign(lead_id: int, *, to: AbstractBaseUser | int, actor: AbstractBaseUser, reason: str,
                now: datetime | None = None, reps: list[Rep] | None = None) -> LeadAssignment:
    """A manager gives a lead to a chosen rep, or moves it from one rep to another, saying why.

    From the queue, the escalations or the lead page; the lead moves to the rep's team, keeps its
    response clock (counted from arrival) and, when its deadline ran out, gets the tier's target again.
    """
    now = now or timezone.now()
    if not actor.has_perm("routing.change_leadassignment"):
        raise NotAllowed("Only managers hand leads out.")
    reason = reason.strip()
    to_id = to if isinstance(to, int) else to.pk
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = ["Say why: the rep and the lead's timeline read it."]
    elif len(reason) > ASSIGN_REASON_MAX:
        errors["reason"] = [f"Say it in {ASSIGN_REASON_MAX} characters or fewer."]
    rep = next((r for r in (reps if reps is not None else reps_to_hand_to(actor)) if r.user_id == to_id), None)
    if rep is None:
        errors["rep"] = ["Choose an SDR of a team you manage."]
    if errors:
        raise FieldsInvalid(errors)
    assert rep is not None
    if not Lead.objects.filter(pk=lead_id).exists():
        raise NotAllowed("No such lead.")
    assignment = assignment_locked(lead_id)
    if not may_hand_out(actor, assignment):
        raise NotAllowed("Only the manager of the lead's team hands it out.")
    if assignment.state == LeadState.CLOSED:
        raise FieldsInvalid({"lead": ["The lead is closed: reopen its disposition to work it again."]})
    if assignment.owner_id == rep.user_id:
        raise FieldsInvalid({"rep": [f"{_name(rep.user)} has this lead already."]})
    kind = "reassigned" if assignment.owner_id else "handed_out"
    state = LeadState.WORKING if assignment.first_touch_at else LeadState.ASSIGNED
    if assignment.team_id != rep.team_id:
        assignment.team = rep.team
    deadline_renew(assignment, now=now)
    return lead_owner_change(assignment, owner=rep.user, team=rep.team, state=state, kind=kind, reason=reason,
                             actor=actor, now=now)


def leads_assign(lead_ids: list[int], *, to: int, actor: AbstractBaseUser, reason: str,
                 now: datetime | None = None) -> tuple[list[int], dict[int, str]]:
    """Bulk hand-out from the queue: each lead on its own (one refusal stops none of the others).

    Returns (assigned lead ids, {lead id: why not}).
    """
    done: list[int] = []
    refused: dict[int, str] = {}
    reps = reps_to_hand_to(actor)  # read once for the whole batch, not once per lead
    for lead_id in dict.fromkeys(lead_ids):  # once each, in the order given
        try:
            lead_assign(lead_id, to=to, actor=actor, reason=reason, now=now, reps=reps)
            done.append(lead_id)
        except FieldsInvalid as error:
            if set(error.errors) & {"reason", "rep"}:
                raise  # the same for every lead: the form is wrong, not this lead
            refused[lead_id] = error.message
        except OwnershipError as error:
            refused[lead_id] = error.message
    return done, refused


def assignment_snapshot(assignment: LeadAssignment) -> dict[str, Any]:
    return {"lead": assignment.lead_id, "owner": getattr(assignment.owner, "username", None),
            "state": assignment.state, "version": assignment.version}
