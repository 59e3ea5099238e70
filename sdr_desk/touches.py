"""Logging a touch: the one way a rep's call, email, SMS or LinkedIn message is recorded."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from inbound.models import Lead
from inbound.timeline import timeline_record
from sdr_desk.board import board_changed
from sdr_desk.models import CallOutcome, LeadState, Rep, Touch, TouchChannel
from sdr_desk.ownership import NotAllowed, OwnershipError, assignment_locked
from sdr_desk.sla import clock_stop

TOUCH_KIND = "touch"


class TouchInvalid(OwnershipError):
    status = 400

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


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


@transaction.atomic
def touch_log(
    lead_id: int,
    *,
    rep: AbstractBaseUser,
    channel: str,
    outcome: str = "",
    notes: str = "",
    now: datetime | None = None,
) -> Touch:
    """Record a touch by the lead's owner; the first one stops the speed-to-lead clock."""
    now = now or timezone.now()
    errors = _touch_errors(channel, outcome, notes)
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
    assignment.version += 1
    assignment.updated_at = now
    assignment.save()
    Rep.objects.filter(user=rep, escalation_streak__gt=0).update(escalation_streak=0)
    board_changed(assignment)
    label = touch.get_channel_display() + (f": {touch.get_outcome_display().lower()}" if outcome else "")
    summary = f"{label}{' (first touch)' if first else ''}"
    if first and assignment.response_seconds is not None:
        summary += f" after {_duration(assignment.response_seconds)}"
    timeline_record(lead=Lead(pk=lead_id), kind=TOUCH_KIND, summary=summary, actor=rep, occurred_at=now,
                    data={"touch": touch.pk, "channel": channel, "outcome": outcome, "notes": touch.notes[:500],
                          "response_seconds": assignment.response_seconds if first else None,
                          "response_business_seconds": assignment.response_business_seconds if first else None})
    return touch


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
