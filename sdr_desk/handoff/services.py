"""The handoff's state changes, one function each; every one lands in the lead's timeline.

Timeline kinds (offered to outbound webhooks): ``handoff`` (handed off, escalated, reassigned, cancelled),
``handoff_verdict`` (accepted, rejected) and ``meeting`` (scheduled again, cancelled, held, no-show).
Locks are taken as every desk service takes them: the lead's assignment row first, then the handoff.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import EmailMessage, send_mail
from django.db import transaction
from django.utils import timezone

from inbound.models import Lead
from inbound.timeline import timeline_record
from sdr_desk.dispositions.models import Disposition, Outcome
from sdr_desk.dispositions.services import lead_disposition, may_disposition
from sdr_desk.handoff.ics import invite_ics
from sdr_desk.handoff.models import (
    MEETING_UPCOMING,
    OPEN_STATUSES,
    Handoff,
    HandoffSettings,
    HandoffStatus,
    MeetingStatus,
    RejectionReason,
)
from sdr_desk.handoff.routing import ae_route
from sdr_desk.routing.business_hours import add_business_seconds
from sdr_desk.routing.clock import team_calendar
from sdr_desk.routing.models import LeadState, Rep, RepRole, Team
from sdr_desk.routing.ownership import (
    FieldsInvalid,
    NotAllowed,
    OwnershipError,
    assignment_locked,
    lead_owner_change,
)

logger = logging.getLogger(__name__)

HANDOFF_KIND = "handoff"
VERDICT_KIND = "handoff_verdict"
MEETING_KIND = "meeting"
HANDOFF_CODE = "qualified-handed-to-ae"
NOTE_MAX = 2000
MEETING_MAX_DAYS = 366
DEFAULT_SLA_HOURS = 24


class HandoffInvalid(FieldsInvalid):
    pass


class HandoffForbidden(FieldsInvalid):
    """Not yours to decide: a 403 that names the field (``ae``, ``user``) it is about."""

    status = 403
    code = "forbidden"


class HandoffConflict(OwnershipError):
    status = 409
    code = "handoff_conflict"


def _name(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def _meeting_errors(at: datetime | None, *, now: datetime, field: str) -> dict[str, list[str]]:
    if at is None:
        return {}
    if timezone.is_naive(at):
        return {field: ["Give the time with its time zone."]}
    if at <= now:
        return {field: ["The meeting time is in the past: give a time ahead."]}
    if at > now + timedelta(days=MEETING_MAX_DAYS):
        return {field: ["The meeting must be within a year."]}
    return {}


def ics_domain() -> str:
    """The host part of invitation UIDs: the desk's mail domain."""
    sender = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >")
    return getattr(settings, "HANDOFF_ICS_DOMAIN", "") or sender or "desk.localhost"


def acceptance_due(team: Team | None, *, at: datetime) -> datetime | None:
    """The acceptance deadline: the AE team's SLA hours counted in its business hours and holidays."""
    if team is None:
        return None
    row = HandoffSettings.objects.filter(team=team).values_list("acceptance_sla_hours", flat=True).first()
    hours = row or DEFAULT_SLA_HOURS
    return add_business_seconds(team_calendar(team), at, hours * 3600)


def handoff_answers(handoff: Handoff) -> list[tuple[str, str]]:
    """The checklist answers the SDR gave, in the team's order: (label, text)."""
    from sdr_desk.qualification.services import lead_checklist

    team_id = handoff.sdr_team_id
    return [(item.label, answer.text) for item, answer in lead_checklist(handoff.lead_id, team_id)
            if answer and answer.text]


# --- mail, after commit ----------------------------------------------------------------------------------


def _invite_send(handoff_id: int, *, cancel: bool = False, ae_id: int | None = None) -> None:
    """Email the invitation (REQUEST or CANCEL) to the AE and the lead. Runs after commit; never raises.

    ``ae_id``: a CANCEL to that AE alone (a reassignment took the meeting from them), the lead left out.
    """
    try:
        handoff = Handoff.objects.select_related("lead", "sdr", "ae").get(pk=handoff_id)
        if handoff.meeting_at is None:
            return
        method = "CANCEL" if cancel else "REQUEST"
        lead = handoff.lead
        if ae_id is not None:
            from django.contrib.auth import get_user_model

            ae = get_user_model().objects.get(pk=ae_id)
            body = invite_ics(handoff, answers=handoff_answers(handoff), cancel=True, ae=ae, lead_attends=False)
            to = [ae.email]
            subject = f"Cancelled for you: call with {lead.full_name or lead.email}"
            text = f"This meeting now goes to {_name(handoff.ae)}; it is off your calendar."
        else:
            ae = handoff.ae
            body = invite_ics(handoff, answers=handoff_answers(handoff), cancel=cancel)
            to = [ae.email, lead.email]
            subject = (f"Cancelled: call with {_name(ae)}" if cancel
                       else f"Invitation: call with {_name(ae)}") + (f" ({lead.company})" if lead.company else "")
            text = ("The meeting is cancelled." if cancel else
                    f"{_name(handoff.sdr)} set up a call with {_name(ae)}. The invitation is attached.")
        message = EmailMessage(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL,
                               to=[address for address in to if address])
        message.attach("invite.ics", body, f"text/calendar; method={method}")
        message.send()
    except Exception:  # noqa: BLE001 - the handoff is saved; a lost invitation is logged, and re-sent on a change
        logger.exception("meeting invitation for handoff %s could not be sent", handoff_id)


def _notice_send(subject: str, body: str, to: list[str]) -> None:
    to = [address for address in to if address]
    if not to:
        return
    try:
        send_mail(subject=subject, message=body, from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=to)
    except Exception:  # noqa: BLE001 - the change is saved and in the timeline; the inbox shows it too
        logger.exception("handoff notice %r could not be sent", subject)


# --- handing off ------------------------------------------------------------------------------------------


def _ae_named(ae: AbstractBaseUser | int) -> Rep | None:
    user_id = ae if isinstance(ae, int) else ae.pk
    return Rep.objects.filter(user_id=user_id, role=RepRole.AE).select_related("user", "team").first()


@transaction.atomic
def lead_handoff(lead_id: int, *, sdr: AbstractBaseUser, ae: AbstractBaseUser | int | None = None,
                 note: str = "", meeting_at: datetime | None = None, now: datetime | None = None) -> Handoff:
    """Hand a qualified lead to an AE (routed when ``ae`` is None), recording "Qualified - handed to AE".

    The lead's owner or their manager only (403). An open lead is dispositioned in the same transaction
    (which enforces the checklist's required answers); a closed one must be qualified already. Refused,
    changing nothing: an unknown AE, a meeting in the past or beyond a year, a note too long (400 by field),
    a lead with an open handoff (409).
    """
    now = now or timezone.now()
    if not Lead.objects.filter(pk=lead_id).exists():
        raise NotAllowed("No such lead.")
    assignment = assignment_locked(lead_id)
    if not may_disposition(sdr, assignment):
        raise NotAllowed("Only the lead's owner or their manager hands it off.")
    note = note.strip()
    errors = _meeting_errors(meeting_at, now=now, field="meeting_at")
    if len(note) > NOTE_MAX:
        errors["note"] = [f"At most {NOTE_MAX:,} characters."]
    named = None
    if ae is not None:
        named = _ae_named(ae)
        if named is None:
            errors["ae"] = ["Choose an AE from the list, or let the desk route it."]
    if errors:
        raise HandoffInvalid(errors)
    if Handoff.objects.filter(lead_id=lead_id, status__in=OPEN_STATUSES).exists():
        raise HandoffConflict("This lead is with an AE already.")

    if assignment.state == LeadState.CLOSED:
        current = Disposition.objects.filter(lead_id=lead_id, is_current=True).select_related("code").first()
        if current is None or current.code.outcome != Outcome.QUALIFIED:
            raise HandoffInvalid({"lead": ["Only a qualified lead is handed off: reopen it and qualify it first."]})
    else:
        lead_disposition(lead_id, user=sdr, code=HANDOFF_CODE, note=note, now=now)
        assignment.refresh_from_db()

    lead = Lead.objects.select_related("account", "score").get(pk=lead_id)
    sdr_team = assignment.team
    if named is not None:
        ae_user, ae_team, routed_by, version, trace = named.user, named.team, "by hand", "", {}
    else:
        decision = ae_route(lead, sdr_team=sdr_team, now=now)
        ae_user, ae_team = decision.ae, decision.team
        routed_by, version, trace = decision.routed_by, decision.rule_set_version, decision.trace
    handoff = Handoff.objects.create(
        lead=lead, sdr=assignment.owner or sdr, sdr_team=sdr_team, ae=ae_user, ae_team=ae_team, note=note,
        meeting_at=meeting_at, meeting_status=MeetingStatus.SCHEDULED if meeting_at else MeetingStatus.NONE,
        ics_uid=f"handoff-{uuid.uuid4()}@{ics_domain()}", handed_at=now, due_at=acceptance_due(ae_team, at=now),
        routed_by=routed_by[:200], rule_set_version=version, routing_trace=trace,
    )
    timeline_record(lead=Lead(pk=lead_id), kind=HANDOFF_KIND, actor=sdr, occurred_at=now,
                    summary=f"Handed off to {_name(ae_user)}" + (f" ({ae_team.name})" if ae_team else "")
                    + f": {routed_by}" + (f"; meeting {meeting_at:%Y-%m-%d %H:%M} UTC" if meeting_at else ""),
                    data={"handoff": handoff.pk, "change": "handed_off", "ae": ae_user.get_username(),
                          "ae_team": ae_team.name if ae_team else None, "routed_by": routed_by,
                          "rule_set_version": version, "note": note,
                          "meeting_at": meeting_at.isoformat() if meeting_at else None,
                          "due_at": handoff.due_at.isoformat() if handoff.due_at else None,
                          "before": {"handoff": None}, "after": {"status": handoff.status, "ae": ae_user.get_username()}})
    pk, ae_email = handoff.pk, ae_user.email
    subject = f"New handoff: {lead.full_name or lead.email}" + (f" ({lead.company})" if lead.company else "")
    body = (f"{_name(handoff.sdr)} handed you a qualified lead. Accept or reject it in your inbox"
            + (f" by {handoff.due_at:%Y-%m-%d %H:%M} UTC." if handoff.due_at else "."))
    transaction.on_commit(lambda: _notice_send(subject, body, [ae_email]))
    if meeting_at:
        transaction.on_commit(lambda: _invite_send(pk))
    return handoff


# --- the AE's verdict --------------------------------------------------------------------------------------


def _handoff_locked(handoff_id: int) -> tuple[Handoff, Any]:
    lead_id = Handoff.objects.filter(pk=handoff_id).values_list("lead_id", flat=True).first()
    if lead_id is None:
        raise NotAllowed("No such handoff.")
    assignment = assignment_locked(lead_id)
    handoff = Handoff.objects.select_for_update(of=("self",)).select_related(
        "lead", "sdr", "ae", "ae_team", "sdr_team").get(pk=handoff_id)
    return handoff, assignment


def reasons_active() -> list[str]:
    return list(RejectionReason.objects.filter(is_active=True).values_list("name", flat=True))


@transaction.atomic
def handoff_verdict(handoff_id: int, *, ae: AbstractBaseUser, accept: bool, reason: str = "",
                    now: datetime | None = None) -> Handoff:
    """The AE accepts or rejects (with a reason from the managed list) a pending handoff: only that AE.

    A rejection sends the lead back to the SDR's board, working, with the reason in its timeline and a notice
    on their board; its meeting, if one was set, is cancelled.
    """
    now = now or timezone.now()
    handoff, assignment = _handoff_locked(handoff_id)
    if handoff.ae_id != ae.pk:
        raise HandoffForbidden({"ae": [f"Only {_name(handoff.ae)}, the AE it was handed to, may accept or reject "
                                       f"it."]})
    if handoff.status != HandoffStatus.PENDING:
        raise HandoffConflict(f"This handoff is {handoff.get_status_display().lower()} already.")
    reason = reason.strip()
    if not accept:
        active = reasons_active()
        if not reason:
            raise HandoffInvalid({"reason": ["Say why: pick a reason from the list."]})
        if reason not in active:
            raise HandoffInvalid({"reason": [f"Pick one of: {', '.join(active)}."]})
    else:
        reason = ""
    before = {"status": handoff.status}
    handoff.status = HandoffStatus.ACCEPTED if accept else HandoffStatus.REJECTED
    handoff.verdict_at, handoff.verdict_reason = now, reason
    handoff.save(update_fields=["status", "verdict_at", "verdict_reason"])
    summary = (f"Handoff accepted by {_name(ae)}" if accept else f"Handoff rejected by {_name(ae)}: {reason}")
    timeline_record(lead=Lead(pk=handoff.lead_id), kind=VERDICT_KIND, actor=ae, occurred_at=now, summary=summary,
                    data={"handoff": handoff.pk, "verdict": "accepted" if accept else "rejected", "reason": reason,
                          "sdr": handoff.sdr.get_username(), "rule_set_version": handoff.rule_set_version,
                          "before": before, "after": {"status": handoff.status}})
    if accept:
        sdr_email, lead_name = handoff.sdr.email, str(handoff.lead)
        transaction.on_commit(lambda: _notice_send(f"Handoff accepted: {lead_name}",
                                                   f"{_name(ae)} accepted the handoff.", [sdr_email]))
        return handoff
    if handoff.meeting_upcoming:
        _meeting_cancel(handoff, user=ae, now=now, why="the handoff was rejected")
    # Back to the SDR: the one function that changes an owner or state; dispositions retire the disposition.
    state = LeadState.WORKING if assignment.first_touch_at else LeadState.ASSIGNED
    lead_owner_change(assignment, owner=handoff.sdr, team=handoff.sdr_team or assignment.team, state=state,
                      kind="returned", reason=f"handoff rejected by {_name(ae)}: {reason}", actor=ae, now=now)
    sdr_email, lead_name = handoff.sdr.email, str(handoff.lead)
    transaction.on_commit(lambda: _notice_send(
        f"Handoff rejected: {lead_name}", f"{_name(ae)} rejected the handoff ({reason}). The lead is back on "
                                          f"your board.", [sdr_email]))
    return handoff


# --- the meeting --------------------------------------------------------------------------------------------


def _may_record_meeting(user: AbstractBaseUser, handoff: Handoff) -> bool:
    """The AE, the SDR who handed it off, or the manager of the AE team."""
    return (user.pk in (handoff.ae_id, handoff.sdr_id)
            or (handoff.ae_team is not None and handoff.ae_team.manager_id == user.pk)
            or bool(getattr(user, "is_superuser", False)))


def _meeting_record(handoff: Handoff, *, user: AbstractBaseUser, now: datetime, summary: str,
                    before: dict[str, Any], **data: Any) -> None:
    timeline_record(lead=Lead(pk=handoff.lead_id), kind=MEETING_KIND, actor=user, occurred_at=now, summary=summary,
                    data={"handoff": handoff.pk, **data, "before": before,
                          "after": {"meeting_status": handoff.meeting_status,
                                    "meeting_at": handoff.meeting_at.isoformat() if handoff.meeting_at else None,
                                    "sequence": handoff.ics_sequence}})


def _meeting_before(handoff: Handoff) -> dict[str, Any]:
    return {"meeting_status": handoff.meeting_status,
            "meeting_at": handoff.meeting_at.isoformat() if handoff.meeting_at else None,
            "sequence": handoff.ics_sequence}


def _meeting_reschedule(handoff: Handoff, *, user: AbstractBaseUser, at: datetime, now: datetime) -> None:
    before = _meeting_before(handoff)
    moved = handoff.meeting_at is not None and handoff.meeting_status != MeetingStatus.NONE
    if moved:
        handoff.ics_sequence += 1  # the same event, changed: calendars update it in place
    handoff.meeting_at = at
    handoff.meeting_status = MeetingStatus.RESCHEDULED if moved else MeetingStatus.SCHEDULED
    handoff.meeting_outcome_at = now if moved else None
    handoff.save(update_fields=["meeting_at", "meeting_status", "meeting_outcome_at", "ics_sequence"])
    _meeting_record(handoff, user=user, now=now, before=before, outcome="rescheduled" if moved else "scheduled",
                    summary=(f"Meeting moved to {at:%Y-%m-%d %H:%M} UTC" if moved
                             else f"Meeting set for {at:%Y-%m-%d %H:%M} UTC"))
    pk = handoff.pk
    transaction.on_commit(lambda: _invite_send(pk))


def _meeting_cancel(handoff: Handoff, *, user: AbstractBaseUser, now: datetime, why: str = "") -> None:
    before = _meeting_before(handoff)
    handoff.ics_sequence += 1
    handoff.meeting_status = MeetingStatus.CANCELLED
    handoff.meeting_outcome_at = now
    handoff.save(update_fields=["meeting_status", "meeting_outcome_at", "ics_sequence"])
    _meeting_record(handoff, user=user, now=now, before=before, outcome="cancelled",
                    summary="Meeting cancelled" + (f": {why}" if why else ""))
    pk = handoff.pk
    transaction.on_commit(lambda: _invite_send(pk, cancel=True))


MEETING_OUTCOMES = ("held", "no_show", "rescheduled", "cancelled")


@transaction.atomic
def meeting_outcome(handoff_id: int, *, user: AbstractBaseUser, outcome: str, new_time: datetime | None = None,
                    now: datetime | None = None) -> Handoff:
    """Record what became of the meeting: held, no-show (once it has started), rescheduled (to ``new_time``,
    SEQUENCE raised and the invitation sent again) or cancelled (a CANCEL sent).

    The AE, the SDR or the AE team's manager (403); an open handoff only (409).
    """
    now = now or timezone.now()
    handoff, _ = _handoff_locked(handoff_id)
    if not _may_record_meeting(user, handoff):
        raise HandoffForbidden({"user": ["Only the AE, the SDR who handed it off or the AE team's manager records "
                                         "the meeting."]})
    if handoff.status not in OPEN_STATUSES:
        raise HandoffConflict(f"This handoff is {handoff.get_status_display().lower()}: its meeting is closed.")
    if outcome not in MEETING_OUTCOMES:
        raise HandoffInvalid({"outcome": [f"Choose one of: {', '.join(MEETING_OUTCOMES)}."]})
    if outcome == "rescheduled":
        errors = ({"new_time": ["Give the new time."]} if new_time is None
                  else _meeting_errors(new_time, now=now, field="new_time"))
        if errors:
            raise HandoffInvalid(errors)
        assert new_time is not None
        _meeting_reschedule(handoff, user=user, at=new_time, now=now)
        return handoff
    if new_time is not None:
        raise HandoffInvalid({"new_time": ["Only a rescheduled meeting takes a new time."]})
    if handoff.meeting_status not in MEETING_UPCOMING:
        raise HandoffInvalid({"outcome": ["There is no meeting ahead to record: set a time first."
                                          if handoff.meeting_status == MeetingStatus.NONE else
                                          f"The meeting is {handoff.get_meeting_status_display().lower()} already."]})
    if outcome == "cancelled":
        _meeting_cancel(handoff, user=user, now=now)
        return handoff
    if handoff.meeting_at and handoff.meeting_at > now:
        raise HandoffInvalid({"outcome": ["The meeting has not started yet: record it once it has."]})
    before = _meeting_before(handoff)
    handoff.meeting_status = MeetingStatus.HELD if outcome == "held" else MeetingStatus.NO_SHOW
    handoff.meeting_outcome_at = now
    handoff.save(update_fields=["meeting_status", "meeting_outcome_at"])
    _meeting_record(handoff, user=user, now=now, before=before, outcome=outcome,
                    summary="Meeting held" if outcome == "held" else "Meeting: the lead did not show")
    return handoff


# --- a manager reassigns, the SDR cancels ----------------------------------------------------------------


REASON_MAX = 500


def _may_reassign(user: AbstractBaseUser, handoff: Handoff) -> bool:
    """The manager of the AE team it is with (or a superuser): the AEs' work is theirs to share out."""
    return bool(getattr(user, "is_superuser", False)) or (
        handoff.ae_team is not None and handoff.ae_team.manager_id == user.pk)


def may_cancel(user: AbstractBaseUser, handoff: Handoff) -> bool:
    """The SDR who handed it off, or the manager of the SDR's team (or a superuser)."""
    return (user.pk == handoff.sdr_id or bool(getattr(user, "is_superuser", False))
            or (handoff.sdr_team is not None and handoff.sdr_team.manager_id == user.pk))


@transaction.atomic
def handoff_reassign(handoff_id: int, *, user: AbstractBaseUser, ae: AbstractBaseUser | int, why: str = "",
                     now: datetime | None = None) -> Handoff:
    """A manager moves a pending (typically an escalated) handoff to another AE, restarting the acceptance clock.

    Only the AE team's manager (403, field ``user``); a pending handoff only (409); the new AE must be an AE
    of an AE team and not the one who has it (400, field ``ae``). The new AE's team and its SLA apply from now;
    the escalation is cleared, so the sweep escalates it again if this AE lets it lapse too. With a meeting
    ahead: SEQUENCE + 1, a CANCEL to the old AE alone and a REQUEST to the new AE and the lead, under the same
    UID (the lead's calendar updates the event it has). Kind ``handoff``, change ``reassigned``.
    """
    now = now or timezone.now()
    handoff, _ = _handoff_locked(handoff_id)
    if not _may_reassign(user, handoff):
        raise HandoffForbidden({"user": ["Only the manager of the AE team it is with may reassign a handoff."]})
    if handoff.status != HandoffStatus.PENDING:
        raise HandoffConflict(f"This handoff is {handoff.get_status_display().lower()}: only a pending one moves.")
    why = why.strip()
    named = _ae_named(ae)
    errors: dict[str, list[str]] = {}
    if named is None or named.team is None:
        errors["ae"] = ["Choose an AE of an AE team."]
    elif named.user_id == handoff.ae_id:
        errors["ae"] = [f"It is with {_name(handoff.ae)} already: choose another AE."]
    if len(why) > REASON_MAX:
        errors["why"] = [f"At most {REASON_MAX} characters."]
    if errors:
        raise HandoffInvalid(errors)
    assert named is not None
    old_ae, old_team = handoff.ae, handoff.ae_team
    before = {"ae": old_ae.get_username(), "ae_team": old_team.name if old_team else None,
              "due_at": handoff.due_at.isoformat() if handoff.due_at else None, "escalated": handoff.escalated,
              "sequence": handoff.ics_sequence}
    handoff.ae, handoff.ae_team = named.user, named.team
    handoff.due_at = acceptance_due(named.team, at=now)
    handoff.escalated, handoff.escalated_at, handoff.reassigned_at = False, None, now
    meeting = handoff.meeting_upcoming
    if meeting:
        handoff.ics_sequence += 1  # the same event with another attendee: calendars update it in place
    handoff.save(update_fields=["ae", "ae_team", "due_at", "escalated", "escalated_at", "reassigned_at",
                                "ics_sequence"])
    timeline_record(lead=Lead(pk=handoff.lead_id), kind=HANDOFF_KIND, actor=user, occurred_at=now,
                    summary=f"Handoff reassigned from {_name(old_ae)} to {_name(named.user)}"
                    + (f" ({named.team.name})" if named.team else "") + (f": {why}" if why else ""),
                    data={"handoff": handoff.pk, "change": "reassigned", "why": why, "before": before,
                          "after": {"ae": named.user.get_username(), "ae_team": named.team.name,
                                    "due_at": handoff.due_at.isoformat() if handoff.due_at else None,
                                    "escalated": False, "sequence": handoff.ics_sequence}})
    pk, old_id, lead_name = handoff.pk, old_ae.pk, str(handoff.lead)
    new_email, old_email = named.user.email, old_ae.email
    body = (f"{_name(user)} moved a handoff to you: {lead_name}, from {_name(handoff.sdr)}. Accept or reject it "
            f"in your inbox" + (f" by {handoff.due_at:%Y-%m-%d %H:%M} UTC." if handoff.due_at else "."))
    transaction.on_commit(lambda: _notice_send(f"Handoff reassigned to you: {lead_name}", body, [new_email]))
    transaction.on_commit(lambda: _notice_send(
        f"Handoff moved: {lead_name}", f"{_name(user)} moved it to {_name(named.user)}; nothing more to do.",
        [old_email]))
    if meeting:
        transaction.on_commit(lambda: _invite_send(pk, cancel=True, ae_id=old_id))
        transaction.on_commit(lambda: _invite_send(pk))
    return handoff


@transaction.atomic
def handoff_cancel(handoff_id: int, *, user: AbstractBaseUser, reason: str, now: datetime | None = None) -> Handoff:
    """The SDR (or their manager) withdraws a pending handoff: the lead comes back to them, still qualified.

    Refused, changing nothing: anyone else (403, field ``user``), a handoff the AE has decided on or that is
    cancelled (409), no reason or one over 500 characters (400, field ``reason``). A meeting ahead is cancelled
    (SEQUENCE + 1, CANCEL sent). The lead goes back to the SDR through ``lead_owner_change`` (kind
    ``returned``), open on their board; dispositions retire "Qualified - handed to AE" (it is no longer true)
    and the lead's status is Qualified again, as a CRM keeps a lead's qualification when the opportunity is
    withdrawn: the answers stand, and the SDR hands it off again or dispositions it otherwise.
    Kind ``handoff``, change ``cancelled``.
    """
    from inbound.models import LeadStatus

    now = now or timezone.now()
    handoff, assignment = _handoff_locked(handoff_id)
    if not may_cancel(user, handoff):
        raise HandoffForbidden({"user": ["Only the SDR who handed it off, or their manager, may cancel it."]})
    if handoff.status != HandoffStatus.PENDING:
        raise HandoffConflict(f"This handoff is {handoff.get_status_display().lower()}: only a pending one is "
                              f"cancelled (an accepted one is the AE's to reject).")
    reason = reason.strip()
    if not reason:
        raise HandoffInvalid({"reason": ["Say why it is cancelled: the AE and the timeline see it."]})
    if len(reason) > REASON_MAX:
        raise HandoffInvalid({"reason": [f"At most {REASON_MAX} characters."]})
    handoff.status, handoff.cancelled_at, handoff.cancel_reason = HandoffStatus.CANCELLED, now, reason
    handoff.save(update_fields=["status", "cancelled_at", "cancel_reason"])
    if handoff.meeting_upcoming:
        _meeting_cancel(handoff, user=user, now=now, why="the handoff was cancelled")
    status_before = Lead.objects.filter(pk=handoff.lead_id).values_list("status", flat=True).first()
    if assignment.state == LeadState.CLOSED:
        state = LeadState.WORKING if assignment.first_touch_at else LeadState.ASSIGNED
        lead_owner_change(assignment, owner=handoff.sdr, team=handoff.sdr_team or assignment.team, state=state,
                          kind="returned", reason=f"handoff cancelled by {_name(user)}: {reason}", actor=user,
                          now=now)
    Lead.objects.filter(pk=handoff.lead_id).update(status=LeadStatus.QUALIFIED, updated_at=now)
    timeline_record(lead=Lead(pk=handoff.lead_id), kind=HANDOFF_KIND, actor=user, occurred_at=now,
                    summary=f"Handoff to {_name(handoff.ae)} cancelled by {_name(user)}: {reason}",
                    data={"handoff": handoff.pk, "change": "cancelled", "reason": reason,
                          "ae": handoff.ae.get_username(), "sdr": handoff.sdr.get_username(),
                          "before": {"status": HandoffStatus.PENDING, "lead_status": status_before},
                          "after": {"status": HandoffStatus.CANCELLED, "lead_status": LeadStatus.QUALIFIED}})
    ae_email, lead_name = handoff.ae.email, str(handoff.lead)
    transaction.on_commit(lambda: _notice_send(
        f"Handoff cancelled: {lead_name}", f"{_name(user)} cancelled the handoff ({reason}). Nothing more to do.",
        [ae_email]))
    return handoff


# --- the acceptance SLA -----------------------------------------------------------------------------------


def _escalate(handoff: Handoff, *, now: datetime) -> None:
    manager = handoff.ae_team.manager if handoff.ae_team else None
    handoff.escalated, handoff.escalated_at = True, now
    handoff.save(update_fields=["escalated", "escalated_at"])
    who = _name(manager) if manager else "the AE team's manager (none set)"
    timeline_record(lead=Lead(pk=handoff.lead_id), kind=HANDOFF_KIND, actor_label="acceptance SLA", occurred_at=now,
                    summary=f"Handoff not accepted by {_name(handoff.ae)} in time: escalated to {who}",
                    data={"handoff": handoff.pk, "change": "escalated", "ae": handoff.ae.get_username(),
                          "manager": manager.get_username() if manager else None,
                          "due_at": handoff.due_at.isoformat() if handoff.due_at else None,
                          "before": {"escalated": False}, "after": {"escalated": True}})
    if manager is not None and manager.email:
        subject = f"Handoff overdue: {handoff.lead} with {_name(handoff.ae)}"
        body = (f"{_name(handoff.ae)} has not accepted or rejected {handoff.lead}, handed off by "
                f"{_name(handoff.sdr)}, by its deadline ({handoff.due_at:%Y-%m-%d %H:%M} UTC). "
                f"It is in your handoff inbox.")
        email = manager.email
        transaction.on_commit(lambda: _notice_send(subject, body, [email]))


def handoff_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Escalate each pending handoff past its acceptance deadline to the AE team's manager, once.

    Each row in its own short transaction, claimed with SKIP LOCKED and re-checked under the lock:
    two sweeps at once, or one after downtime, escalate a handoff once.
    """
    now = now or timezone.now()
    done = 0
    for _ in range(limit):
        with transaction.atomic():
            handoff = (Handoff.objects.select_for_update(skip_locked=True, of=("self",))
                       .select_related("lead", "ae", "sdr", "ae_team__manager")
                       .filter(status=HandoffStatus.PENDING, escalated=False, due_at__lte=now)
                       .order_by("due_at", "id").first())
            if handoff is None:
                break
            _escalate(handoff, now=now)
            done += 1
    return done
