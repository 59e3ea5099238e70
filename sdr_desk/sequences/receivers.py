"""Sequences listen: routing's assignment changes (enrol on assignment by tier; a closed lead stops its
sequence) and the timeline (the owner's touch does the current step). Neither routing nor dispositions
import anything of this app."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from anymail.signals import inbound
from django.db import transaction
from django.dispatch import receiver

from inbound.models import TimelineEntry
from inbound.timeline import timeline_recorded
from sdr_desk.routing.models import OWNED_OPEN, LeadAssignment, LeadState
from sdr_desk.routing.ownership import OwnershipError
from sdr_desk.routing.signals import assignment_changed
from sdr_desk.routing.touches import TOUCH_KIND
from sdr_desk.sequences.models import ONGOING, Enrollment

logger = logging.getLogger(__name__)

# The handoff app's timeline entries (read, not imported: handoff knows nothing of sequences).
HANDOFF_KIND, MEETING_KIND = "handoff", "meeting"
MEETING_SET_OUTCOMES = ("scheduled", "rescheduled")

ENROL_ON = ("assigned", "claimed", "handed_out", "reassigned", "escalated")


@receiver(assignment_changed, sender=LeadAssignment, dispatch_uid="sequences.assignment_changed")
def assignment_changed_heard(*, assignment: LeadAssignment, previous_state: str | None = None, change: str = "",
                             reason: str = "", **kwargs: Any) -> None:
    from sdr_desk.sequences.services import auto_template, enrollment_start, lead_sequences_stop

    if assignment.state == LeadState.CLOSED and previous_state != LeadState.CLOSED:
        lead_sequences_stop(assignment.lead_id, reason=f"disposition ({reason})" if reason else "disposition")
        return
    if change not in ENROL_ON or assignment.owner_id is None or assignment.state not in OWNED_OPEN:
        return
    template = auto_template(assignment.team_id, assignment.tier)
    if template is None or Enrollment.objects.filter(lead_id=assignment.lead_id, status__in=ONGOING).exists():
        return
    try:
        with transaction.atomic():
            enrollment_start(assignment.lead_id, template, by=None)
    except OwnershipError as error:  # refused (unsubscribed, disqualified...): the assignment goes on
        logger.info("lead %s not enrolled in %s: %s", assignment.lead_id, template, error.message)


@receiver(timeline_recorded, sender=TimelineEntry, dispatch_uid="sequences.touch_heard")
def touch_heard(*, entries: list[TimelineEntry], **kwargs: Any) -> None:
    from sdr_desk.sequences.services import lead_meeting_set, lead_sequences_stop, touch_done

    for entry in entries:
        if _is_meeting_set(entry):
            lead_meeting_set(entry.lead_id, since=_handed_at(entry), now=entry.occurred_at)
            continue
        if entry.kind == TOUCH_KIND and entry.data.get("channel"):
            touch_done(entry.lead_id, channel=entry.data["channel"], rep_id=entry.actor_id, now=entry.occurred_at)
            if entry.data.get("outcome") == "connected":
                # They talked: the rest of the sequence would talk past the conversation.
                lead_sequences_stop(entry.lead_id, reason="connected call", now=entry.occurred_at)


def _is_meeting_set(entry: TimelineEntry) -> bool:
    data = entry.data or {}
    if entry.kind == HANDOFF_KIND:
        return data.get("change") == "handed_off" and bool(data.get("meeting_at"))
    return entry.kind == MEETING_KIND and data.get("outcome") in MEETING_SET_OUTCOMES


def _handed_at(entry: TimelineEntry) -> datetime:
    """When the entry's handoff was made: the disposition it made stopped the sequence then."""
    from sdr_desk.handoff.models import Handoff

    if entry.kind == HANDOFF_KIND:
        return entry.occurred_at
    handed_at = Handoff.objects.filter(pk=(entry.data or {}).get("handoff") or 0).values_list("handed_at", flat=True)
    return handed_at.first() or entry.occurred_at


@receiver(inbound, dispatch_uid="sequences.anymail_inbound")
def anymail_inbound_heard(*, event: Any, esp_name: str = "", **kwargs: Any) -> None:
    """django-anymail's normalised inbound message (Postmark here): the same processing as the raw endpoint."""
    from sdr_desk.sequences.inbound import inbound_message_record

    try:
        raw: bytes | str = event.message.as_bytes()
    except Exception:  # noqa: BLE001  a message the policy cannot serialise: kept as text rather than lost
        raw = str(event.message)
    inbound_message_record(raw)
