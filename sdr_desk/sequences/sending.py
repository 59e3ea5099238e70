"""Automatic sequence email, sent at most once per (enrolment, step).

The send is claimed in the database first: ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` on the
outbox's unique (enrolment, step), committed before the SMTP conversation starts. A second task, a
second cluster or a retry finds the row and sends nothing; a worker killed mid-send leaves the row
"sending", which is never sent again (the rep sees it). The Message-ID is derived from the outbox id,
so a reply's In-Reply-To names the step it answers.

Caps per mailbox (the sending rep's address): hourly, daily and a minimum spacing, counted from the
outbox under a per-mailbox advisory lock, so two workers cannot both take the last slot. A capped step
stays due with a note saying why it waits; the next sweep tries again.
"""

from __future__ import annotations

import logging
import zlib
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from inbound.models import Lead
from inbound.timeline import timeline_record
from sdr_desk.sequences.models import (
    VARIABLES,
    EnrollmentStatus,
    Outbox,
    OutboxStatus,
    RepSignature,
    StepRun,
    StepRunStatus,
    Unsubscribe,
)
from sdr_desk.sequences.services import ACTOR, SEQUENCE_KIND, enrollment_stop, run_complete, signature_default

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "sequences.unsubscribe"


def caps() -> tuple[int, int, int, int]:
    """(hourly, daily, weekly, minimum seconds between sends) per mailbox, from the settings."""
    return (getattr(settings, "SEQUENCES_MAILBOX_HOURLY_CAP", 50), getattr(settings, "SEQUENCES_MAILBOX_DAILY_CAP", 400),
            getattr(settings, "SEQUENCES_MAILBOX_WEEKLY_CAP", 5000), getattr(settings, "SEQUENCES_MIN_SPACING_SECONDS", 0))


def unsubscribe_token(lead_id: int) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(str(lead_id))


def unsubscribe_lead_id(token: str) -> int | None:
    try:
        return int(signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None


def unsubscribe_url(lead_id: int) -> str:
    base = getattr(settings, "SEQUENCES_BASE_URL", "http://localhost:8000").rstrip("/")
    return base + reverse("sequence-unsubscribe", args=[unsubscribe_token(lead_id)])


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def render(text: str, variables: dict[str, str]) -> str:
    """Fill ``{first_name}`` and friends; the step's text was checked when saved, so no name is unknown."""
    return text.format_map(_Blank({name: variables.get(name, "") for name in VARIABLES}))


def email_variables(lead: Lead, rep: object) -> dict[str, str]:
    """The values of the step's variables; ``rep`` comes with its ``sequence_signature`` (select_related)."""
    name = rep.get_full_name() or rep.get_username()  # type: ignore[attr-defined]
    try:
        signature = rep.sequence_signature.text  # type: ignore[attr-defined]
    except RepSignature.DoesNotExist:
        signature = signature_default(rep)  # type: ignore[arg-type]
    return {"first_name": lead.first_name or "there", "company": lead.company or "your team",
            "asset": lead.last_asset or lead.get_last_form_type_display() or "our site",
            "rep_name": name, "rep_signature": signature}


# Sends queued per task: one broker row for many sends (an ``async_task`` each cost more than the send's own
# claim), small enough that two workers share a sweep's sends and a killed worker strands few (the next
# sweep queues every due email without an outbox row again; the claim keeps each at most once).
SEND_CHUNK = 100


def steps_send_enqueue(run_ids: list[int]) -> None:
    """Queue the sends after commit, ``SEND_CHUNK`` to a task; each send still claims its own outbox row."""
    from django_q.tasks import async_task

    chunks = [run_ids[start:start + SEND_CHUNK] for start in range(0, len(run_ids), SEND_CHUNK)]
    for chunk in chunks:
        transaction.on_commit(lambda chunk=chunk: async_task(
            "sdr_desk.sequences.sending.steps_send", chunk, task_name=f"sequence-send-{chunk[0]}-{len(chunk)}"))


def steps_send(run_ids: list[int]) -> dict[str, int]:
    """Send the queued steps one after the other (the task of ``steps_send_enqueue``): outcome -> count.

    One that raises is logged and the ones after it are still sent; if it raised before its claim, the step
    is due without an outbox row and the next sweep queues it again, if after, its claim stands (never resent).
    """
    outcomes: dict[str, int] = {}
    for run_id in run_ids:
        try:
            outcome = step_send(run_id)
        except Exception:  # noqa: BLE001  one bad row must not strand the rest of the chunk
            logger.exception("sequence send of run %s raised", run_id)
            outcome = "error"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _mailbox_lock(mailbox: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [7411, zlib.crc32(mailbox.lower().encode()) - 2**31])


def _capped(mailbox: str, now: datetime) -> str:
    hourly, daily, weekly, spacing = caps()
    sends = Outbox.objects.filter(mailbox=mailbox)
    for cap, span, label in ((hourly, timedelta(hours=1), "hourly"), (daily, timedelta(days=1), "daily"),
                             (weekly, timedelta(days=7), "weekly")):
        if sends.filter(claimed_at__gt=now - span).count() >= cap:
            return f"Waiting: the {label} cap of {cap} emails from {mailbox} is reached"
    if spacing and sends.filter(claimed_at__gt=now - timedelta(seconds=spacing)).exists():
        return f"Waiting: at least {spacing} s between emails from {mailbox}"
    return ""


def _claim(run: StepRun, *, mailbox: str, to: str, subject: str, now: datetime) -> int | None:
    """Insert the outbox row, or find it there already: the id when this caller owns the send."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Outbox._meta.db_table} (enrollment_id, step_id, mailbox, \"to\", subject, status, "
            "message_id, error, claimed_at) VALUES (%s, %s, %s, %s, %s, %s, '', '', %s) "
            "ON CONFLICT (enrollment_id, step_id) DO NOTHING RETURNING id",
            [run.enrollment_id, run.step_id, mailbox, to, subject[:300], OutboxStatus.SENDING, now])
        row = cursor.fetchone()
    return row[0] if row else None


def step_send(run_id: int, *, now: datetime | None = None) -> str:
    """Send one due automatic email step: "sent", "capped", "duplicate", "skipped", "stopped" or "failed"."""
    now = now or timezone.now()
    with transaction.atomic():
        run = (StepRun.objects.select_related("step", "variant", "enrollment__template",
                                              "enrollment__lead__assignment__owner__sequence_signature")
               .filter(pk=run_id).first())
        if run is None or run.status != StepRunStatus.DUE or run.enrollment.status != EnrollmentStatus.ACTIVE \
                or not run.step.is_automatic:
            return "skipped"
        lead = run.enrollment.lead
        if Unsubscribe.objects.filter(email__iexact=lead.email).exists():
            enrollment_stop(run.enrollment, reason="unsubscribed", now=now)
            return "stopped"
        assignment = getattr(lead, "assignment", None)
        rep = assignment.owner if assignment else None
        if rep is None or not rep.email:
            StepRun.objects.filter(pk=run.pk).update(note="Waiting: the lead has no owner with an email address")
            return "capped"
        mailbox = rep.email.lower()
        variables = email_variables(lead, rep)
        text = run.variant or run.step  # the A/B variant this lead got, else the step's own text
        subject = render(text.subject, variables)
        _mailbox_lock(mailbox)
        waiting = _capped(mailbox, now)
        if waiting:
            StepRun.objects.filter(pk=run.pk).update(note=waiting)
            return "capped"
        outbox_id = _claim(run, mailbox=mailbox, to=lead.email, subject=subject, now=now)
        if outbox_id is None:
            return "duplicate"
        # What a worker killed mid-send leaves for the rep to see: the step is never sent again by the desk.
        StepRun.objects.filter(pk=run.pk).update(
            note=f"Sending since {now:%Y-%m-%d %H:%M} UTC; if it never arrived, send it by hand")
    # Committed: the claim stands whatever happens next, so this step is never sent twice.
    domain = getattr(settings, "SEQUENCES_MESSAGE_ID_DOMAIN", "sdr-desk.local")
    message_id = f"<sequence-{outbox_id}@{domain}>"
    link = unsubscribe_url(lead.pk)
    body = render(text.body, variables) + f"\n\n--\nNo more emails like this: {link}\n"
    name = variables["rep_name"].replace('"', "")
    message = EmailMessage(subject=subject, body=body, from_email=f'"{name}" <{rep.email}>', to=[lead.email],
                           reply_to=[rep.email],
                           headers={"Message-ID": message_id, "List-Unsubscribe": f"<{link}>",
                                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
    try:
        get_connection(fail_silently=False).send_messages([message])
    except Exception as error:  # noqa: BLE001  any SMTP or network failure: recorded, never resent automatically
        logger.warning("sequence email %s failed: %s", outbox_id, error)
        with transaction.atomic():
            Outbox.objects.filter(pk=outbox_id).update(status=OutboxStatus.FAILED, error=str(error)[:500])
            StepRun.objects.filter(pk=run.pk).update(note=f"Not sent ({str(error)[:120]}); send it by hand")
        return "failed"
    with transaction.atomic():
        Outbox.objects.filter(pk=outbox_id).update(status=OutboxStatus.SENT, message_id=message_id, sent_at=now)
        run = StepRun.objects.select_for_update(of=("self",)).select_related(
            "step", "variant", "enrollment__template", "enrollment__lead").get(pk=run.pk)
        timeline_record(lead=Lead(pk=lead.pk), kind=SEQUENCE_KIND, actor_label=ACTOR, occurred_at=now,
                        summary=f"Sequence email sent from {rep.email}: {subject}",
                        data={"enrollment": run.enrollment_id, "run": run.pk, "outbox": outbox_id,
                              "message_id": message_id, "change": "email_sent",
                              "variant": run.variant.label if run.variant_id else None})
        if run.status == StepRunStatus.DUE:  # then what follows: the next step, or "completed"
            run_complete(run, by=None, now=now, note=f"Sent as {message_id}")
    return "sent"


def unsubscribe_record(lead_id: int, *, now: datetime | None = None) -> Lead | None:
    """The lead asked for no more sequence email: recorded by address, their enrolments stopped."""
    from sdr_desk.sequences.services import lead_sequences_stop

    now = now or timezone.now()
    with transaction.atomic():
        lead = Lead.objects.filter(pk=lead_id).first()
        if lead is None:
            return None
        _, created = Unsubscribe.objects.get_or_create(email=lead.email.lower(), defaults={"lead": lead,
                                                                                           "created_at": now})
        if created:
            timeline_record(lead=Lead(pk=lead.pk), kind=SEQUENCE_KIND, actor_label="the lead", occurred_at=now,
                            summary="Unsubscribed from sequence email", data={"change": "unsubscribed"})
        lead_sequences_stop(lead.pk, reason="unsubscribed", now=now)
    return lead
