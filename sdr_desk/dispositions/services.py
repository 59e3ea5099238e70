"""The one way to record a lead's disposition."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from inbound.models import Lead
from inbound.timeline import timeline_record
from sdr_desk.dispositions.models import LEAD_STATUS_OF, Disposition, DispositionCode
from sdr_desk.routing.models import LeadAssignment, LeadState
from sdr_desk.routing.ownership import NotAllowed, OwnershipError, assignment_locked, lead_owner_change
from sdr_desk.routing.sla import clock_stop

DISPOSITION_KIND = "disposition"
REENGAGE_MAX_DAYS = 366


class DispositionInvalid(OwnershipError):
    """Field-level refusals; nothing was changed."""

    status = 400

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class AlreadyDispositioned(OwnershipError):
    status = 409
    code = "already_dispositioned"


def may_disposition(user: AbstractBaseUser, assignment: LeadAssignment) -> bool:
    """The lead's owner, or the manager of its team (who may also close a lead nobody owns)."""
    if assignment.owner_id is not None and assignment.owner_id == user.pk:
        return True
    return assignment.team is not None and assignment.team.manager_id == user.pk


def _errors(code: DispositionCode | None, *, reason: str, note: str, reengage_on: date | None,
            today: date) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if code is None or not code.is_active:
        return {"code": ["Pick a disposition from the list."]}
    if code.reason_required and not reason:
        errors["reason"] = [f"“{code.name}” needs a reason."]
    elif reason and code.reasons and reason not in code.reasons:
        errors["reason"] = [f"Pick one of: {', '.join(code.reasons)}."]
    elif len(reason) > 200:
        errors["reason"] = ["At most 200 characters."]
    if len(note) > 2000:
        errors["note"] = ["At most 2,000 characters."]
    if code.needs_reengage_date:
        if reengage_on is None:
            errors["reengage_on"] = ["When should this lead come back? Give a re-engage date."]
        elif reengage_on <= today:
            errors["reengage_on"] = ["The re-engage date must be after today."]
        elif reengage_on > today + timedelta(days=REENGAGE_MAX_DAYS):
            errors["reengage_on"] = ["The re-engage date must be within a year."]
    elif reengage_on is not None:
        errors["reengage_on"] = [f"“{code.name}” takes no re-engage date."]
    return errors


@transaction.atomic
def lead_disposition(lead_id: int, *, user: AbstractBaseUser, code: DispositionCode | str | None,
                     reason: str = "", note: str = "", reengage_on: date | None = None,
                     now: datetime | None = None) -> Disposition:
    """Record how the lead ended: it leaves every board, its clock and next step stop, its status follows.

    Refused, changing nothing: not the owner or their manager (403), a lead already
    dispositioned (409), a missing or unknown code, a missing or unlisted reason, a
    re-engage date missing, past or more than a year out, or given to a code that
    takes none (400, by field).
    """
    now = now or timezone.now()
    if not Lead.objects.filter(pk=lead_id).exists():
        raise NotAllowed("No such lead.")
    assignment = assignment_locked(lead_id)
    if not may_disposition(user, assignment):
        raise NotAllowed("Only the lead's owner or their manager may record its disposition.")
    if assignment.state == LeadState.CLOSED:
        raise AlreadyDispositioned("This lead already has a disposition.")
    if isinstance(code, str):
        code = DispositionCode.objects.filter(slug=code).first()
    reason, note = reason.strip(), note.strip()
    errors = _errors(code, reason=reason, note=note, reengage_on=reengage_on,
                     today=timezone.localdate(now))
    if errors:
        raise DispositionInvalid(errors)

    lead = Lead.objects.only("status").get(pk=lead_id)
    clock_stop(assignment, at=now)  # a lead closed before any touch still stops its clock
    assignment.next_step_at, assignment.next_step = None, ""
    owner, team = assignment.owner, assignment.team
    lead_owner_change(assignment, owner=owner, team=team, state=LeadState.CLOSED, kind="closed",
                      reason=code.name, actor=user, now=now)
    disposition = Disposition.objects.create(lead_id=lead_id, code=code, reason=reason, note=note,
                                             reengage_on=reengage_on, rep=owner, team=team, recorded_by=user,
                                             recorded_at=now)
    status = LEAD_STATUS_OF[code.outcome]
    Lead.objects.filter(pk=lead_id).update(status=status, updated_at=now)
    summary = f"Disposition: {code.name}" + (f" ({reason})" if reason else "")
    if reengage_on:
        summary += f", back on {reengage_on:%Y-%m-%d}"
    timeline_record(lead=Lead(pk=lead_id), kind=DISPOSITION_KIND, summary=summary, actor=user, occurred_at=now,
                    data={"disposition": disposition.pk, "code": code.slug, "outcome": code.outcome,
                          "reason": reason, "note": note,
                          "reengage_on": reengage_on.isoformat() if reengage_on else None,
                          "before": {"status": lead.status}, "after": {"status": status}})
    return disposition
