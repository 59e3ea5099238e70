"""Intake's state changes. Views, the API, commands and tasks all call these.

The order is the contract: store the raw submission, then process it inside a
savepoint, so that a processing failure leaves the submission behind, marked
failed with its error, in the same transaction that answers 2xx.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from inbound import normalise
from inbound.models import (
    Account,
    Activity,
    ActivityType,
    ApiKey,
    HostedForm,
    ImportJob,
    Lead,
    Source,
    Submission,
    SubmissionChannel,
    SubmissionKind,
    SubmissionStatus,
    VisitorLink,
)
from inbound.payloads import clean_event_payload, clean_lead_payload
from inbound.signals import leads_batch_processed, submission_processed
from inbound.timeline import Kind, timeline_entry, timeline_record_many

logger = logging.getLogger(__name__)

PROFILE_FIELDS = (
    "first_name", "last_name", "phone", "job_title", "company", "website", "employee_count",
    "employee_range", "industry", "country", "state", "city", "time_zone",
)
ATTRIBUTION_FIELDS = (
    "campaign", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "landing_page",
)


class SubmissionInvalid(Exception):
    """The payload breaks the contract; ``errors`` maps fields to messages."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True)
class Outcome:
    submission: Submission
    lead: Lead | None
    created: bool

    @property
    def ok(self) -> bool:
        return self.submission.status == SubmissionStatus.PROCESSED


def _actor_label(submission: Submission) -> str:
    if submission.channel == SubmissionChannel.FORM and submission.hosted_form_id:
        return f"Form: {submission.hosted_form.name}"
    if submission.channel == SubmissionChannel.CSV and submission.import_job_id:
        return f"CSV import #{submission.import_job_id}"
    source = submission.source.name if submission.source_id else "unknown source"
    return f"API: {source}"


# --- storing ----------------------------------------------------------------------


def submission_receive(
    *,
    payload: Any,
    channel: str,
    kind: str = SubmissionKind.LEAD,
    source: Source | None = None,
    api_key: ApiKey | None = None,
    hosted_form: HostedForm | None = None,
    import_job: ImportJob | None = None,
    row_number: int | None = None,
    remote_addr: str | None = None,
    user_agent: str = "",
) -> Submission:
    """Store the payload exactly as received. Nothing else may happen before this."""
    return Submission.objects.create(
        payload=payload,
        channel=channel,
        kind=kind,
        source=source,
        api_key=api_key,
        hosted_form=hosted_form,
        import_job=import_job,
        row_number=row_number,
        remote_addr=remote_addr,
        user_agent=user_agent[:300],
    )


# --- processing -------------------------------------------------------------------


@transaction.atomic(savepoint=False)
def submission_process(
    submission: Submission, *, cleaned: dict[str, Any] | None = None, announce: bool = True
) -> Outcome:
    """Turn a stored submission into a lead or an activity; never raises for bad data.

    A contract violation marks it ``rejected``, any other error ``failed``; both
    keep the error. Success sends ``submission_processed`` after commit, unless
    the caller processes a batch and announces it once (``leads_batch_announce``).
    """
    submission.attempts += 1
    lead: Lead | None = None
    created = False
    try:
        with transaction.atomic():
            if submission.kind == SubmissionKind.EVENT:
                lead = _event_process(submission, cleaned)
            else:
                lead, created = _lead_process(submission, cleaned)
    except SubmissionInvalid as invalid:
        submission.status = SubmissionStatus.REJECTED
        submission.error = _format_errors(invalid.errors)
    except Exception:  # noqa: BLE001 - any failure must leave the submission replayable
        logger.exception("processing submission %s failed", submission.pk)
        submission.status = SubmissionStatus.FAILED
        submission.error = traceback.format_exc(limit=6)[-4000:]
    else:
        submission.status = SubmissionStatus.PROCESSED
        submission.error = ""
        submission.lead = lead
        submission.created_lead = created
    submission.processed_at = timezone.now()
    submission.save(update_fields=["status", "error", "attempts", "processed_at", "lead", "created_lead"])

    if announce and submission.status == SubmissionStatus.PROCESSED and lead is not None:
        submission_id, lead_id, kind = submission.pk, lead.pk, submission.kind
        transaction.on_commit(
            lambda: submission_processed.send_robust(
                sender=Submission, submission_id=submission_id, lead_id=lead_id, kind=kind, created=created
            )
        )
    return Outcome(submission=submission, lead=lead, created=created)


def _format_errors(errors: dict[str, Any]) -> str:
    lines = []
    for field, messages in errors.items():
        if isinstance(messages, dict):
            messages = [f"{key}: {value}" for key, value in messages.items()]
        elif not isinstance(messages, list):
            messages = [messages]
        lines.append(f"{field}: {' '.join(str(m) for m in messages)}")
    return "\n".join(lines)


def _lead_process(submission: Submission, cleaned: dict[str, Any] | None) -> tuple[Lead, bool]:
    if cleaned is None:
        cleaned, errors = clean_lead_payload(submission.payload)
        if errors:
            raise SubmissionInvalid(errors)
    assert cleaned is not None
    return lead_upsert(data=cleaned, submission=submission)


def lead_upsert(*, data: dict[str, Any], submission: Submission) -> tuple[Lead, bool]:
    """Find or create the lead for a cleaned payload and record the conversion.

    A repeat fills empty fields and never overwrites a known value: what the
    buyer typed first stays, what differs is kept in the timeline entry.
    """
    now = timezone.now()
    actor_label = _actor_label(submission)
    form_type = data.get("form_type", "")
    lead = Lead.objects.select_for_update().filter(email=data["email"]).first()
    created = False
    filled: dict[str, Any] = {}
    conflicts: dict[str, dict[str, Any]] = {}
    if lead is None:
        lead, created = _lead_insert(data, submission, now)
    if not created:
        filled, conflicts = _lead_merge(lead, data)
        if not lead.account_id and not lead.is_personal_email:
            lead.account = _account_for(lead)
        lead.last_form_type = form_type or lead.last_form_type
        lead.last_asset = data.get("asset") or lead.last_asset
        lead.last_converted_at = now
        lead.conversion_count += 1
        lead.updated_at = now
        lead.save()

    activity = Activity.objects.create(
        lead=lead,
        type=ActivityType.FORM_SUBMIT,
        form_type=form_type,
        name=data.get("asset", ""),
        url=data.get("page_url", ""),
        occurred_at=submission.received_at,
        source=submission.source,
        submission=submission,
        attribution={name: data[name] for name in ATTRIBUTION_FIELDS if data.get(name)},
    )
    what = activity.label if form_type else "a form"
    asset = f" ({activity.name})" if activity.name else ""
    via = submission.source or "an unknown source"
    entries = []
    if created:
        entries.append(timeline_entry(
            lead=lead, kind=Kind.CREATED, actor_label=actor_label, occurred_at=submission.received_at,
            summary=f"Lead created from {what}{asset} via {via}",
            data={"submission": submission.pk},
        ))
    else:
        entries.append(timeline_entry(
            lead=lead, kind=Kind.SUBMISSION, actor_label=actor_label, occurred_at=submission.received_at,
            summary=f"Converted again: {what}{asset} via {via}",
            data={"submission": submission.pk, "conflicts": conflicts},
        ))
        if filled:
            entries.append(timeline_entry(
                lead=lead, kind=Kind.FIELDS, actor_label=actor_label, occurred_at=submission.received_at,
                summary=f"Filled in {', '.join(sorted(filled))}",
                data={"before": {name: None for name in filled}, "after": filled},
            ))
    entries += _pending_attach(lead, visitor_id=data.get("visitor_id", ""), email=lead.email if created else "")
    timeline_record_many(entries)
    return lead, created


def _lead_insert(data: dict[str, Any], submission: Submission, now: Any) -> tuple[Lead, bool]:
    """Insert a new lead whole (one INSERT); if a concurrent request won, return theirs, locked."""
    lead = Lead(
        email=data["email"],
        source=submission.source,
        is_personal_email=normalise.is_free_mail(data["email"]),
        consent=data.get("consent"),
        custom=data.get("custom") or {},
        last_form_type=data.get("form_type", ""),
        last_asset=data.get("asset", ""),
        last_converted_at=now,
        conversion_count=1,
        created_at=now,
        updated_at=now,
        **{name: data[name] for name in PROFILE_FIELDS + ATTRIBUTION_FIELDS if data.get(name) not in (None, "")},
    )
    if not lead.is_personal_email:
        lead.account = _account_for(lead)
    try:
        with transaction.atomic():
            lead.save(force_insert=True)
        return lead, True
    except IntegrityError:
        # Another transaction created this email first and has committed: merge into theirs.
        return Lead.objects.select_for_update().get(email=data["email"]), False


def _lead_merge(lead: Lead, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Fill the lead's empty fields from ``data``; return (filled, conflicts)."""
    filled: dict[str, Any] = {}
    conflicts: dict[str, dict[str, Any]] = {}
    for name in PROFILE_FIELDS + ATTRIBUTION_FIELDS:
        new = data.get(name)
        if new in (None, ""):
            continue
        old = getattr(lead, name)
        if old in (None, ""):
            setattr(lead, name, new)
            filled[name] = new
        elif old != new and name in PROFILE_FIELDS:
            conflicts[name] = {"kept": old, "received": new}
    if data.get("consent") is not None and data["consent"] != lead.consent:
        # Consent is the latest statement the person made, given or withdrawn.
        filled["consent"] = data["consent"]
        lead.consent = data["consent"]
    new_custom = {key: value for key, value in (data.get("custom") or {}).items() if key not in lead.custom}
    if new_custom:
        lead.custom = {**lead.custom, **new_custom}
        filled["custom"] = new_custom
    return filled, conflicts


def _account_for(lead: Lead) -> Account:
    domain = lead.domain
    account, created = Account.objects.get_or_create(
        domain=domain,
        defaults={
            "name": lead.company or domain,
            "website": lead.website or f"https://{domain}",
            "industry": lead.industry,
            "employee_count": lead.employee_count,
            "country": lead.country,
        },
    )
    if not created:
        changed = []
        for name, value in (("industry", lead.industry), ("employee_count", lead.employee_count),
                            ("country", lead.country)):
            if value not in (None, "") and getattr(account, name) in (None, ""):
                setattr(account, name, value)
                changed.append(name)
        if lead.company and account.name == account.domain:
            account.name = lead.company
            changed.append("name")
        if changed:
            account.save(update_fields=changed)
    return account


def _visitor_link_lock(visitor_id: str, *, lead: Lead | None = None) -> VisitorLink:
    """Upsert the visitor's link row, which also locks it until this transaction ends."""
    link = VisitorLink(visitor_id=visitor_id, lead=lead)
    VisitorLink.objects.bulk_create(
        [link], update_conflicts=True, unique_fields=["visitor_id"],
        update_fields=["lead"] if lead is not None else ["visitor_id"],
    )
    return link


def _pending_attach(lead: Lead, *, visitor_id: str, email: str) -> list:
    """Give the lead the events that arrived before anyone knew who the visitor was."""
    pending = Q()
    if visitor_id:
        _visitor_link_lock(visitor_id, lead=lead)
        pending |= Q(pending_visitor_id=visitor_id)
    if email:
        pending |= Q(pending_email=email)
    if not pending:
        return []
    attached = list(Activity.objects.filter(pending, lead__isnull=True))
    if not attached:
        return []
    Activity.objects.filter(pk__in=[a.pk for a in attached]).update(lead=lead, pending_visitor_id="",
                                                                        pending_email="")
    return [
        timeline_entry(
            lead=lead, kind=Kind.ACTIVITY, actor_label="visitor", occurred_at=activity.occurred_at,
            summary=f"{activity.label}: {activity.title or activity.name or activity.url} (before identification)",
            data={"activity": activity.pk},
        )
        for activity in attached
    ]


def _event_process(submission: Submission, cleaned: dict[str, Any] | None) -> Lead | None:
    if cleaned is None:
        cleaned, errors = clean_event_payload(submission.payload)
        if errors:
            raise SubmissionInvalid(errors)
    assert cleaned is not None
    return event_record(data=cleaned, submission=submission)


def event_record(*, data: dict[str, Any], submission: Submission) -> Lead | None:
    """Attach a behaviour event to its lead, or keep it pending until the lead is known."""
    lead: Lead | None = None
    email = data.get("email", "")
    visitor_id = data.get("visitor_id", "")
    if email:
        lead = Lead.objects.filter(email=email).first()
    if lead is None and visitor_id:
        _visitor_link_lock(visitor_id)
        lead = Lead.objects.filter(visitor_links__visitor_id=visitor_id).first()
    activity = Activity.objects.create(
        lead=lead,
        type=data["type"],
        name=data.get("name", ""),
        url=data.get("url", ""),
        title=data.get("title", ""),
        occurred_at=data["occurred_at"],
        source=submission.source,
        submission=submission,
        pending_visitor_id="" if lead else visitor_id,
        pending_email="" if lead else email,
    )
    if lead is not None:
        timeline_record_many([timeline_entry(
            lead=lead, kind=Kind.ACTIVITY, actor_label=_actor_label(submission), occurred_at=activity.occurred_at,
            summary=f"{activity.label}: {activity.title or activity.name or activity.url}",
            data={"activity": activity.pk},
        )])
    return lead


def leads_batch_announce(lead_ids: list[int], *, channel: str) -> None:
    """Hand a batch of processed leads on, once, after the batch's transaction commits."""
    ids = sorted(set(lead_ids))
    if ids:
        transaction.on_commit(
            lambda: leads_batch_processed.send_robust(sender=Submission, lead_ids=ids, channel=channel)
        )


# --- the entry points each channel uses --------------------------------------------


@transaction.atomic(savepoint=False)
def lead_submission_accept(*, cleaned: dict[str, Any] | None = None, **receive: Any) -> Outcome:
    """Store and process a lead submission in one transaction: the caller's 2xx covers both."""
    submission = submission_receive(kind=SubmissionKind.LEAD, **receive)
    return submission_process(submission, cleaned=cleaned)


@transaction.atomic(savepoint=False)
def event_submission_accept(*, cleaned: dict[str, Any] | None = None, **receive: Any) -> Outcome:
    submission = submission_receive(kind=SubmissionKind.EVENT, **receive)
    return submission_process(submission, cleaned=cleaned)


def submissions_replay(queryset: QuerySet[Submission]) -> dict[str, int]:
    """Process failed or rejected submissions again, each in its own transaction.

    Rows are claimed with ``SKIP LOCKED`` so two replays at once never process
    one submission twice.
    """
    counts = {"processed": 0, "failed": 0, "rejected": 0}
    for pk in list(queryset.exclude(status=SubmissionStatus.PROCESSED).values_list("pk", flat=True)):
        with transaction.atomic():
            submission = (
                Submission.objects.select_for_update(skip_locked=True)
                .exclude(status=SubmissionStatus.PROCESSED)
                .filter(pk=pk)
                .first()
            )
            if submission is None:
                continue
            outcome = submission_process(submission)
            counts[outcome.submission.status] = counts.get(outcome.submission.status, 0) + 1
    return counts
