"""Replies, auto-replies and bounces, posted as raw RFC 5322 messages (as SendGrid Inbound Parse, Mailgun
routes and Postmark forward them), matched to an enrolment and acted on; every message is kept.

Matching: a Message-ID of ours (``<sequence-<outbox id>@...>``) in In-Reply-To, then References (Gmail
rewrites other headers), then anywhere in the message (a bounce quotes the original's headers), then the
sender's address against a lead in a sequence. Classifying (RFC 3834 and the usual delivery reports):
``Auto-Submitted`` other than ``no``, ``X-Auto-Response-Suppress`` or ``Precedence: auto_reply/bulk/junk``
is an auto-reply and pauses the enrolment; a ``multipart/report`` delivery status or a mailer daemon is a
bounce and stops it; anything else is a reply and stops it. Nothing matched: kept as unmatched (admin).
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime
from email.utils import parseaddr

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inbound.models import Lead
from inbound.timeline import timeline_record
from sdr_desk.sequences.models import (
    ONGOING,
    Enrollment,
    EnrollmentStatus,
    InboundKind,
    InboundMessage,
    Outbox,
)
from sdr_desk.sequences.services import ACTOR, SEQUENCE_KIND, enrollment_stop

AUTO_REPLY = "auto_reply"
OUR_ID = re.compile(r"<sequence-(\d+)@[^>\s]+>")
MAILER_DAEMONS = ("mailer-daemon", "postmaster")


def _classify(message: email.message.Message, sender: str) -> tuple[str, str]:
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if message.get_content_type() == "multipart/report" and "delivery-status" in str(
            message.get("Content-Type", "")).lower():
        return InboundKind.BOUNCE, "a delivery status report (multipart/report)"
    if sender.split("@")[0].lower() in MAILER_DAEMONS:
        return InboundKind.BOUNCE, f"sent by {sender.split('@')[0]}"
    if auto and auto != "no":
        return InboundKind.AUTO_REPLY, f"Auto-Submitted: {auto} (RFC 3834)"
    if message.get("X-Auto-Response-Suppress"):
        return InboundKind.AUTO_REPLY, "X-Auto-Response-Suppress is set"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in ("auto_reply", "bulk", "junk"):
        return InboundKind.AUTO_REPLY, f"Precedence: {precedence}"
    return InboundKind.REPLY, "a person's reply (no auto-reply or bounce header)"


def _match(message: email.message.Message, raw: str, sender: str) -> tuple[Enrollment | None, str]:
    for header in ("In-Reply-To", "References"):
        for outbox_id in OUR_ID.findall(str(message.get(header, ""))):
            outbox = Outbox.objects.filter(pk=int(outbox_id)).select_related("enrollment__template").first()
            if outbox is not None:
                return outbox.enrollment, f"matched by {header} <sequence-{outbox_id}@...>"
    for outbox_id in OUR_ID.findall(raw):
        outbox = Outbox.objects.filter(pk=int(outbox_id)).select_related("enrollment__template").first()
        if outbox is not None:
            return outbox.enrollment, f"matched by our Message-ID <sequence-{outbox_id}@...> quoted in the message"
    if sender:
        enrollment = (Enrollment.objects.filter(lead__email__iexact=sender, status__in=ONGOING)
                      .select_related("template").first())
        if enrollment is not None:
            return enrollment, f"matched by the sender's address {sender}"
    return None, "no Message-ID of ours and no lead in a sequence with the sender's address"


def _colleagues(sender: str, enrollment: Enrollment | None) -> list[Enrollment]:
    """Other leads of the sender's company (same account, or same work domain) in a sequence: a reply from a
    colleague answers for the account (``SEQUENCES_STOP_ON_COLLEAGUE_REPLY``)."""
    if not getattr(settings, "SEQUENCES_STOP_ON_COLLEAGUE_REPLY", True) or "@" not in sender:
        return []
    sender_lead = Lead.objects.filter(email__iexact=sender).only("account_id", "is_personal_email").first()
    if sender_lead is not None and sender_lead.account_id:
        same = Q(lead__account_id=sender_lead.account_id)
    elif sender_lead is None or not sender_lead.is_personal_email:
        same = Q(lead__email__iendswith="@" + sender.rsplit("@", 1)[1], lead__is_personal_email=False)
    else:
        return []
    found = Enrollment.objects.filter(same, status__in=ONGOING).exclude(lead__email__iexact=sender)
    if enrollment is not None:
        found = found.exclude(pk=enrollment.pk)
    return list(found.select_related("template"))


def inbound_message_record(raw: bytes | str, *, now: datetime | None = None) -> InboundMessage:
    """Keep the message, match it, and pause (auto-reply) or stop (reply, bounce) its enrolment."""
    now = now or timezone.now()
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = text.replace("\x00", "\ufffd")  # PostgreSQL text holds no NUL; the message is kept, marked
    message = email.message_from_string(text, policy=email.policy.compat32)
    sender = parseaddr(str(message.get("From", "")))[1].lower()
    kind, why = _classify(message, sender)
    with transaction.atomic():
        enrollment, how = _match(message, text, sender)
        colleagues = _colleagues(sender, enrollment) if kind == InboundKind.REPLY else []
        if enrollment is None and colleagues:
            enrollment, colleagues = colleagues[0], colleagues[1:]
            how = f"matched by a colleague at the same company ({sender}; setting SEQUENCES_STOP_ON_COLLEAGUE_REPLY)"
        record = InboundMessage.objects.create(
            received_at=now, message_id=str(message.get("Message-ID", ""))[:300], from_address=sender[:254],
            subject=str(message.get("Subject", ""))[:300], kind=kind if enrollment else InboundKind.UNMATCHED,
            rule=f"{InboundKind(kind).label}: {why}; {how}"[:300], enrollment=enrollment, raw=text)
        if enrollment is None:
            return record
        summary = {InboundKind.REPLY: "Replied", InboundKind.AUTO_REPLY: "Auto-reply received",
                   InboundKind.BOUNCE: "Email bounced"}[kind]
        timeline_record(lead=Lead(pk=enrollment.lead_id), kind=SEQUENCE_KIND, actor_label=ACTOR, occurred_at=now,
                        summary=f"{summary}: {why}; {how}",
                        data={"enrollment": enrollment.pk, "inbound": record.pk, "change": kind, "rule": why,
                              "matched": how})
        if kind == InboundKind.AUTO_REPLY:
            Enrollment.objects.filter(pk=enrollment.pk, status=EnrollmentStatus.ACTIVE).update(
                status=EnrollmentStatus.PAUSED, pause_reason=AUTO_REPLY, paused_at=now)
        else:
            enrollment_stop(enrollment, reason="reply" if kind == InboundKind.REPLY else "bounce", now=now)
        if kind == InboundKind.REPLY:
            for colleague in colleagues:
                enrollment_stop(colleague, reason=f"a colleague replied ({sender})", now=now)
    return record
