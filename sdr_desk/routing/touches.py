"""Logging a touch, and the next step: the one way a rep's call, email, SMS or LinkedIn message is
recorded, and the one way a follow-up ("call back Tuesday at 10") is set on a lead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from inbound.models import Lead, LeadStatus
from inbound.timeline import timeline_entry, timeline_record, timeline_record_many
from sdr_desk.routing.clock import clock_stop
from sdr_desk.routing.models import OWNED_OPEN, CallOutcome, LeadAssignment, LeadState, Rep, Touch, TouchChannel
from sdr_desk.routing.ownership import FieldsInvalid, NotAllowed, assignment_locked
from sdr_desk.routing.signals import assignment_changed_send, assignments_changed_send

TOUCH_KIND = "touch"
NEXT_STEP_KIND = "next_step"
NEXT_STEP_HORIZON = timedelta(days=366)
NEXT_STEP_GRACE = timedelta(minutes=5)  # "now" typed into a form is a few seconds old when it arrives


class TouchInvalid(FieldsInvalid):
    pass


def _touch_errors(channel: str, outcome: str, notes: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if channel not in TouchChannel.values:
        errors["channel"] = [f"Choose one of: {', '.join(TouchChannel.values)}."]
    if channel == TouchChannel.CALL and outcome not in CallOutcome.values:
        errors["outcome"] = [f"A call needs an outcome: {', '.join(CallOutcome.values)}."]
    if channel != TouchChannel.CALL and outcome:
        errors["outcome"] = ["Only calls have an outcome."]
    if len(notes) > 5000:
        errors["notes"] = ["Notes are limited to 5,000 characters."]
    return errors


def _next_step_errors(at: datetime | None, note: str, *, now: datetime) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if at is not None:
        if timezone.is_naive(at):
            errors["next_step_at"] = ["Give the time with its time zone."]
        elif at < now - NEXT_STEP_GRACE:
            errors["next_step_at"] = ["The next step must be in the future."]
        elif at > now + NEXT_STEP_HORIZON:
            errors["next_step_at"] = ["The next step must be within a year."]
    if len(note) > 200:
        errors["next_step"] = ["Say the next step in 200 characters or fewer."]
    if note.strip() and at is None:
        errors["next_step_at"] = ["Say when the next step is due."]
    return errors


def _next_step_apply(assignment: LeadAssignment, *, at: datetime | None, note: str, actor: AbstractBaseUser,
                     now: datetime) -> None:
    """Set or clear the next step on a row the caller holds locked; the caller saves and pushes."""
    note = note.strip()
    if at is None and not assignment.next_step_at:
        return
    before = {"at": assignment.next_step_at.isoformat() if assignment.next_step_at else None,
              "note": assignment.next_step}
    assignment.next_step_at, assignment.next_step = at, note if at else ""
    if at is None:
        summary = "Next step cleared"
    else:
        summary = f"Next step: {note or 'follow up'}, due {at.astimezone(timezone.get_current_timezone()):%Y-%m-%d %H:%M %Z}"
    timeline_record(lead=Lead(pk=assignment.lead_id), kind=NEXT_STEP_KIND, summary=summary, actor=actor,
                    occurred_at=now, data={"before": before,
                                           "after": {"at": at.isoformat() if at else None, "note": note}})


@transaction.atomic
def lead_next_step_set(lead_id: int, *, rep: AbstractBaseUser, at: datetime | None, note: str = "",
                       now: datetime | None = None) -> LeadAssignment:
    """Set (or, with ``at=None``, clear) the owner's next step on the lead: it is due on their board then."""
    now = now or timezone.now()
    errors = _next_step_errors(at, note, now=now)
    if errors:
        raise TouchInvalid(errors)
    if not Lead.objects.filter(pk=lead_id).exists():
        raise NotAllowed("No such lead.")
    assignment = assignment_locked(lead_id)
    if assignment.owner_id != rep.pk or assignment.state not in OWNED_OPEN:
        raise NotAllowed("Only the lead's owner plans its next step: claim it first.")
    _next_step_apply(assignment, at=at, note=note, actor=rep, now=now)
    if at is not None:
        assignment.claim_expires_at = None  # a planned follow-up is working the lead: the claim is kept
    assignment.version += 1
    assignment.updated_at = now
    assignment.save(update_fields=["next_step_at", "next_step", "claim_expires_at", "version", "updated_at"])
    assignment_changed_send(assignment)
    return assignment


@dataclass(frozen=True)
class NextStepDue:
    """One step the desk planned, for ``leads_next_step_due``: the lead, when it is due, what it says."""

    lead_id: int
    at: datetime
    note: str


def _next_step_due_summary(note: str, at: datetime) -> str:
    return f"Next step: {note or 'follow up'}, due {at.astimezone(timezone.get_current_timezone()):%Y-%m-%d %H:%M %Z}"


@transaction.atomic
def lead_next_step_due(lead_id: int, *, at: datetime, note: str, actor_label: str,
                       now: datetime | None = None) -> LeadAssignment | None:
    """A step the desk planned (a sequence's call, say) comes due on the owner's board, overdue ones too.

    Unlike ``lead_next_step_set`` the time may be past (a step that came due while the cluster was down
    shows as overdue). A step the owner planned for earlier is kept: it is on their Due today already.
    None when nobody owns the open lead, or an earlier step is planned.
    """
    now = now or timezone.now()
    assignment = assignment_locked(lead_id)
    if assignment.owner_id is None or assignment.state not in OWNED_OPEN:
        return None
    if assignment.next_step_at is not None and assignment.next_step_at <= at:
        return None
    note = note.strip()[:200]
    before = {"at": assignment.next_step_at.isoformat() if assignment.next_step_at else None,
              "note": assignment.next_step}
    assignment.next_step_at, assignment.next_step = at, note
    # Unlike a step the rep plans, this one keeps no claim: a claimed lead nobody touched still goes back.
    assignment.version += 1
    assignment.updated_at = now
    assignment.save(update_fields=["next_step_at", "next_step", "version", "updated_at"])
    timeline_record(lead=Lead(pk=lead_id), kind=NEXT_STEP_KIND, actor_label=actor_label, occurred_at=now,
                    summary=_next_step_due_summary(note, at),
                    data={"before": before, "after": {"at": at.isoformat(), "note": note}})
    assignment_changed_send(assignment)
    return assignment


@transaction.atomic
def leads_next_step_due(steps: Sequence[NextStepDue], *, actor_label: str,
                        now: datetime | None = None) -> list[LeadAssignment]:
    """``lead_next_step_due`` for many leads at once (the sequence sweep's batch), with the same rules.

    The rows are locked in one statement (in lead order, so two batches cannot deadlock), changed in one
    ``UPDATE``, the timeline written in one ``INSERT``, the batch announced with ``assignments_changed`` (the
    board numbers each lead's change in one ``INSERT`` and pushes the cards after commit). A lead without an owner,
    not open, or with an earlier next step already planned is left alone. The changed rows are returned.
    """
    now = now or timezone.now()
    wanted: dict[int, NextStepDue] = {}
    for step in steps:  # one per lead: the earliest
        if step.lead_id not in wanted or step.at < wanted[step.lead_id].at:
            wanted[step.lead_id] = step
    if not wanted:
        return []
    locked = list(LeadAssignment.objects.select_for_update(of=("self",))
                  .filter(lead_id__in=list(wanted), owner__isnull=False, state__in=OWNED_OPEN).order_by("lead_id"))
    changed: list[LeadAssignment] = []
    entries = []
    for assignment in locked:
        step = wanted[assignment.lead_id]
        if assignment.next_step_at is not None and assignment.next_step_at <= step.at:
            continue
        note = step.note.strip()[:200]
        before = {"at": assignment.next_step_at.isoformat() if assignment.next_step_at else None,
                  "note": assignment.next_step}
        assignment.next_step_at, assignment.next_step = step.at, note
        assignment.version += 1
        assignment.updated_at = now
        changed.append(assignment)
        entries.append(timeline_entry(lead=Lead(pk=assignment.lead_id), kind=NEXT_STEP_KIND, actor_label=actor_label,
                                      occurred_at=now, summary=_next_step_due_summary(note, step.at),
                                      data={"before": before, "after": {"at": step.at.isoformat(), "note": note}}))
    if not changed:
        return []
    _next_steps_save(changed, now=now)
    timeline_record_many(entries)
    assignments_changed_send(changed)
    return changed


def _next_steps_save(assignments: list[LeadAssignment], *, now: datetime) -> None:
    """One ``UPDATE`` of the locked rows' next steps (on PostgreSQL from arrays: a ``CASE`` per row is slow)."""
    if connection.vendor != "postgresql":
        LeadAssignment.objects.bulk_update(assignments, ["next_step_at", "next_step", "version", "updated_at"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {LeadAssignment._meta.db_table} AS a SET next_step_at = v.at, next_step = v.note, "
            "version = a.version + 1, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[]) AS v(pk, at, note) "
            f"WHERE a.{LeadAssignment._meta.pk.column} = v.pk",
            [now, [a.pk for a in assignments], [a.next_step_at for a in assignments],
             [a.next_step for a in assignments]])


@transaction.atomic
def touch_log(
    lead_id: int,
    *,
    rep: AbstractBaseUser,
    channel: str,
    outcome: str = "",
    notes: str = "",
    next_step_at: datetime | None = None,
    next_step: str = "",
    now: datetime | None = None,
) -> Touch:
    """Record a touch by the lead's owner; the first one stops the speed-to-lead clock.

    A touch may plan the next one (``next_step_at``, ``next_step``); a touch without it keeps
    the next step already planned, unless that step was due by now (this touch was it).
    """
    now = now or timezone.now()
    errors = _touch_errors(channel, outcome, notes) | _next_step_errors(next_step_at, next_step, now=now)
    if errors:
        raise TouchInvalid(errors)
    if not Lead.objects.filter(pk=lead_id).exists():
        raise NotAllowed("No such lead.")
    assignment = assignment_locked(lead_id)
    if assignment.owner_id != rep.pk:
        raise NotAllowed("Only the lead's owner logs touches on it: claim it first.")
    first = assignment.first_touch_at is None
    touch = Touch.objects.create(lead_id=lead_id, rep=rep, channel=channel, outcome=outcome, notes=notes.strip(),
                                 occurred_at=now, is_first=first)
    if first:
        clock_stop(assignment, at=now)
    assignment.state = LeadState.WORKING
    assignment.claim_expires_at = None
    # The lead's own status moves with the work: a new lead someone touched is being worked.
    status_moved = Lead.objects.filter(pk=lead_id, status=LeadStatus.NEW).update(status=LeadStatus.WORKING,
                                                                                updated_at=now)
    label = touch.get_channel_display() + (f": {touch.get_outcome_display().lower()}" if outcome else "")
    summary = f"{label}{' (first touch)' if first else ''}"
    if first and assignment.response_seconds is not None:
        summary += f" after {_duration(assignment.response_seconds)}"
    timeline_record(lead=Lead(pk=lead_id), kind=TOUCH_KIND, summary=summary, actor=rep, occurred_at=now,
                    data={"touch": touch.pk, "channel": channel, "outcome": outcome, "notes": touch.notes[:500],
                          "response_seconds": assignment.response_seconds if first else None,
                          "response_business_seconds": assignment.response_business_seconds if first else None,
                          **({"status": {"before": LeadStatus.NEW, "after": LeadStatus.WORKING}} if status_moved
                             else {})})
    if next_step_at is not None:
        _next_step_apply(assignment, at=next_step_at, note=next_step, actor=rep, now=now)
    elif assignment.next_step_at is not None and assignment.next_step_at <= now:
        _next_step_apply(assignment, at=None, note="", actor=rep, now=now)  # this touch was the step
    assignment.version += 1
    assignment.updated_at = now
    assignment.save()
    Rep.objects.filter(user=rep, escalation_streak__gt=0).update(escalation_streak=0)
    assignment_changed_send(assignment)
    return touch


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
