"""The one way to record a lead's disposition."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cache

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from inbound.models import Lead
from inbound.timeline import timeline_record
from sdr_desk.dispositions.models import LEAD_STATUS_OF, Disposition, DispositionCode
from sdr_desk.routing.clock import clock_stop
from sdr_desk.routing.models import LeadAssignment, LeadState
from sdr_desk.routing.ownership import (
    FieldsInvalid,
    NotAllowed,
    OwnershipError,
    assignment_locked,
    lead_owner_change,
    may_see_outcomes,
)

DISPOSITION_KIND = "disposition"
REENGAGE_MAX_DAYS = 366
DUPLICATE_CODE = "duplicate"  # the code a merge records (merge.lead_merge): never recorded without one


class DispositionInvalid(FieldsInvalid):
    pass


class AlreadyDispositioned(OwnershipError):
    status = 409
    code = "already_dispositioned"


def may_disposition(user: AbstractBaseUser, assignment: LeadAssignment) -> bool:
    """The lead's owner, or the manager of its team (who may also close a lead nobody owns)."""
    if assignment.owner_id is not None and assignment.owner_id == user.pk:
        return True
    return assignment.team is not None and assignment.team.manager_id == user.pk


# Who may see a lead's outcome: one rule for dispositions, the checklist and the lead page's timeline.
may_see_dispositions = may_see_outcomes


@cache
def _checks() -> tuple[Callable[[int, LeadAssignment, DispositionCode], dict[str, list[str]]], ...]:
    """Checks other apps add (``disposition_checks`` on their AppConfig: dotted paths of
    ``check(lead_id, assignment, code) -> field errors``); the qualification checklist is one."""
    return tuple(import_string(path) for config in apps.get_app_configs()
                 for path in getattr(config, "disposition_checks", ()))


def checks_run(lead_id: int, assignment: LeadAssignment, code: DispositionCode | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if code is None:
        return errors
    for check in _checks():
        errors.update(check(lead_id, assignment, code))
    return errors


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
    status_before = Lead.objects.filter(pk=lead_id).values_list("status", flat=True).first()
    if status_before is None:
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
                     today=timezone.localdate(now)) or checks_run(lead_id, assignment, code)
    if errors:
        raise DispositionInvalid(errors)

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
                          "before": {"status": status_before}, "after": {"status": status}})
    return disposition


# --- a manager's review ------------------------------------------------------------------------------


def _managed_locked(disposition_id: int, user: AbstractBaseUser) -> tuple[Disposition, LeadAssignment]:
    """The current disposition and its lead's assignment, both locked, when ``user`` manages the lead's team."""
    lead_id = Disposition.objects.filter(pk=disposition_id).values_list("lead_id", flat=True).first()
    if lead_id is None:
        raise NotAllowed("No such disposition.")
    assignment = assignment_locked(lead_id)  # the assignment first, as every desk service locks
    disposition = Disposition.objects.select_for_update().select_related("code").get(pk=disposition_id)
    team = assignment.team
    if not (getattr(user, "is_superuser", False) or (team is not None and team.manager_id == user.pk)):
        raise NotAllowed("Only the manager of the lead's team may change or reopen its disposition.")
    if not disposition.is_current or assignment.state != LeadState.CLOSED:
        raise AlreadyDispositioned("This disposition is no longer the lead's current one.")
    return disposition, assignment


def _why_errors(why: str) -> dict[str, list[str]]:
    if not why:
        return {"why": ["Say why: the rep sees it in the lead's timeline."]}
    if len(why) > 500:
        return {"why": ["At most 500 characters."]}
    return {}


@transaction.atomic
def disposition_change(disposition_id: int, *, user: AbstractBaseUser, code: DispositionCode | str | None,
                       reason: str = "", note: str = "", reengage_on: date | None = None, why: str = "",
                       now: datetime | None = None) -> Disposition:
    """A manager corrects a disposition: the old one is kept as history, the new one is current, the status follows."""
    now = now or timezone.now()
    old, assignment = _managed_locked(disposition_id, user)
    if isinstance(code, str):
        code = DispositionCode.objects.filter(slug=code).first()
    reason, note, why = reason.strip(), note.strip(), why.strip()
    errors = {**_errors(code, reason=reason, note=note, reengage_on=reengage_on, today=timezone.localdate(now)),
              **_why_errors(why)}
    if code is not None and code.slug == DUPLICATE_CODE:
        # A duplicate is merged into its survivor (merge.lead_merge), never just labelled one.
        errors["code"] = ["A duplicate is merged into the lead it repeats: merge it from the lead page."]
    errors = errors or checks_run(old.lead_id, assignment, code)
    if errors:
        raise DispositionInvalid(errors)
    Disposition.objects.filter(pk=old.pk).update(is_current=False)
    new = Disposition.objects.create(lead_id=old.lead_id, code=code, reason=reason, note=note or old.note,
                                     reengage_on=reengage_on, rep_id=old.rep_id, team_id=old.team_id,
                                     recorded_by=user, recorded_at=now)
    status_before = Lead.objects.filter(pk=old.lead_id).values_list("status", flat=True).get()
    status = LEAD_STATUS_OF[code.outcome]
    Lead.objects.filter(pk=old.lead_id).update(status=status, updated_at=now)
    timeline_record(lead=Lead(pk=old.lead_id), kind=DISPOSITION_KIND, actor=user, occurred_at=now,
                    summary=f"Disposition changed: {old.code.name} → {code.name}" + (f" ({reason})" if reason else "")
                    + f". Why: {why}",
                    data={"disposition": new.pk, "replaces": old.pk, "code": code.slug, "why": why,
                          "before": {"code": old.code.slug, "reason": old.reason, "status": status_before},
                          "after": {"code": code.slug, "reason": reason, "status": status}})
    return new


@transaction.atomic
def disposition_reopen(disposition_id: int, *, user: AbstractBaseUser, why: str = "",
                       now: datetime | None = None) -> LeadAssignment:
    """A manager reopens a dispositioned lead: back to the rep who had it, on their board, to work again."""
    now = now or timezone.now()
    disposition, assignment = _managed_locked(disposition_id, user)
    why = why.strip()
    errors = _why_errors(why)
    if errors:
        raise DispositionInvalid(errors)
    timeline_record(lead=Lead(pk=disposition.lead_id), kind=DISPOSITION_KIND, actor=user, occurred_at=now,
                    summary=f"Disposition reopened: {disposition.code.name}. Why: {why}",
                    data={"disposition": disposition.pk, "reopened": True, "why": why})
    state = LeadState.WORKING if assignment.first_touch_at else LeadState.ASSIGNED
    # Through the one function that changes an owner or state; the receiver retires the disposition.
    return lead_owner_change(assignment, owner=assignment.owner, team=assignment.team, state=state,
                             kind="reassigned", reason=f"reopened by the manager: {why}", actor=user, now=now)
