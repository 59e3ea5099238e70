"""Intake's state changes. Views, the API, commands and tasks all call these.

The contract: the raw submission is in the database, in the transaction that
answers 2xx, whatever processing does. A new API or form submission is written
once, processed, beside its lead (``lead_submission_accept``); a processing
failure rolls that work back and stores the submission alone, failed with its
error. A submission already stored (a CSV row, a replay) is processed inside a
savepoint and its status updated (``submission_process``).
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
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
from inbound.sql import insert_unless_exists
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
    submission = _submission_new(
        payload=payload, channel=channel, kind=kind, source=source, api_key=api_key, hosted_form=hosted_form,
        import_job=import_job, row_number=row_number, remote_addr=remote_addr, user_agent=user_agent,
    )
    submission.save(force_insert=True)
    return submission


def _submission_new(*, user_agent: str = "", **fields: Any) -> Submission:
    return Submission(user_agent=user_agent[:300], **fields)


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
        _announce(submission, lead, created=created)
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
    upserted = lead_upsert(data=cleaned, source=submission.source)
    conversion_record(upserted, data=cleaned, submission=submission)
    return upserted.lead, upserted.created


@dataclass
class LeadUpsert:
    """A lead as ``lead_upsert`` left it, and what the submission changed on it."""

    lead: Lead
    created: bool
    filled: dict[str, Any]
    conflicts: dict[str, dict[str, Any]]
    at: datetime


def lead_upsert(*, data: dict[str, Any], source: Source | None) -> LeadUpsert:
    """Find or create the lead for a cleaned payload, and count the conversion on it.

    A repeat fills empty fields and never overwrites a known value: what the
    buyer typed first stays, what differs is returned as ``conflicts`` for the
    timeline. One statement for the lead row in the usual cases (an upsert that
    also takes the row lock), plus one for its account, plus one more only when
    a repeat brings something new.
    """
    now = timezone.now()
    email = data["email"]
    new = Lead(
        email=email,
        source=source,
        is_personal_email=normalise.is_free_mail(email),
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
    account = None if new.is_personal_email else _account_for(new.domain, data)
    new.account = account
    lead, created = _lead_row_upsert(new)
    filled: dict[str, Any] = {}
    conflicts: dict[str, dict[str, Any]] = {}
    if not created:
        filled, conflicts = _lead_merge(lead, data)
        if filled:
            lead.save(update_fields=list(filled))
    # What the response and the timeline read next, without fetching it again.
    if account is not None and lead.account_id == account.pk:
        lead.account = account
    if lead.source_id == (source.pk if source else None):
        lead.source = source
    return LeadUpsert(lead=lead, created=created, filled=filled, conflicts=conflicts, at=now)


def _lead_upsert_sql() -> str:
    """``INSERT ... ON CONFLICT (email) DO UPDATE ... RETURNING`` the row and whether it is new.

    On a conflict only the conversion counters change (the profile is merged
    in Python, which must see the old values to record conflicts), and the
    update takes the row lock: concurrent submissions of one email queue up
    behind it, and the first of them to commit is the one that created it.
    ``xmax = 0`` holds for a freshly inserted row and not for an updated one.
    """
    global _LEAD_UPSERT_SQL
    if _LEAD_UPSERT_SQL is None:
        qn = connection.ops.quote_name
        table = qn(Lead._meta.db_table)
        columns = [qn(field.column) for field in _LEAD_INSERT_FIELDS]

        def old(name: str) -> str:
            return f"{table}.{qn(name)}"

        _LEAD_UPSERT_SQL = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT ({qn('email')}) DO UPDATE SET "
            f"{qn('conversion_count')} = {old('conversion_count')} + 1, "
            f"{qn('last_converted_at')} = EXCLUDED.{qn('last_converted_at')}, "
            f"{qn('last_form_type')} = COALESCE(NULLIF(EXCLUDED.{qn('last_form_type')}, ''), {old('last_form_type')}), "
            f"{qn('last_asset')} = COALESCE(NULLIF(EXCLUDED.{qn('last_asset')}, ''), {old('last_asset')}), "
            f"{qn('account_id')} = COALESCE({old('account_id')}, EXCLUDED.{qn('account_id')}), "
            f"{qn('updated_at')} = EXCLUDED.{qn('updated_at')} "
            # A merged lead's email counts on its survivor instead: no row comes back (the row is still locked,
            # so a merge in progress is waited for), and the caller converts the survivor.
            f"WHERE {old('merged_into_id')} IS NULL "
            f"RETURNING {', '.join(qn(field.column) for field in Lead._meta.concrete_fields)}, (xmax = 0) AS inserted"
        )
    return _LEAD_UPSERT_SQL


_LEAD_INSERT_FIELDS = [field for field in Lead._meta.concrete_fields if not field.primary_key]
_LEAD_UPSERT_SQL: str | None = None


def _lead_row_upsert(new: Lead) -> tuple[Lead, bool]:
    """Insert ``new``, or count a conversion on the lead that has its email; return it locked, and whether new."""
    if connection.vendor == "postgresql":
        params = [field.get_db_prep_save(getattr(new, field.attname), connection) for field in _LEAD_INSERT_FIELDS]
        lead = next(iter(Lead.objects.raw(_lead_upsert_sql(), params)), None)
        if lead is None:  # the email is a merged duplicate's: the survivor converts
            survivor_id = Lead.objects.filter(email=new.email).values_list("merged_into_id", flat=True).get()
            return _conversion_count(Lead.objects.select_for_update().get(pk=survivor_id), new), False
        created = lead.inserted
        if created:
            new.pk = lead.pk
            new._state.adding = False
            return new, True
        return lead, False
    # Elsewhere (SQLite, the embedded default, whose transactions take the write lock when they
    # begin, so nobody can insert between the look and the write): look, then write; the same effect.
    lead = Lead.objects.select_for_update().filter(email=new.email).first()
    if lead is None:
        new.save(force_insert=True)
        return new, True
    if lead.merged_into_id is not None:
        lead = Lead.objects.select_for_update().get(pk=lead.merged_into_id)
    return _conversion_count(lead, new), False


def _conversion_count(lead: Lead, new: Lead) -> Lead:
    """Count one more conversion on ``lead`` (locked), as the upsert's ``DO UPDATE`` does."""
    lead.conversion_count += 1
    lead.last_converted_at = new.last_converted_at
    lead.last_form_type = new.last_form_type or lead.last_form_type
    lead.last_asset = new.last_asset or lead.last_asset
    lead.account_id = lead.account_id or new.account_id
    lead.updated_at = new.updated_at
    lead.save(update_fields=["conversion_count", "last_converted_at", "last_form_type", "last_asset", "account",
                             "updated_at"])
    return lead


def conversion_record(upserted: LeadUpsert, *, data: dict[str, Any], submission: Submission) -> Activity:
    """Record the conversion of a stored submission on its lead: the activity, pending events, the timeline."""
    lead, created = upserted.lead, upserted.created
    actor_label = _actor_label(submission)
    form_type = data.get("form_type", "")
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
            summary=f"Converted again: {what}{asset} via {via}"
                    + (f", as {data['email']} (merged into this lead)" if data.get("email") != lead.email else ""),
            data={"submission": submission.pk, "conflicts": upserted.conflicts},
        ))
        if upserted.filled:
            entries.append(timeline_entry(
                lead=lead, kind=Kind.FIELDS, actor_label=actor_label, occurred_at=submission.received_at,
                summary=f"Filled in {', '.join(sorted(upserted.filled))}",
                data={"before": {name: None for name in upserted.filled}, "after": upserted.filled},
            ))
    entries += _pending_attach(lead, visitor_id=data.get("visitor_id", ""), email=lead.email if created else "")
    timeline_record_many(entries)
    return activity


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


def _account_for(domain: str, data: dict[str, Any]) -> Account:
    """The account of an email domain, made on first sight; fills its empty fields from what the lead says.

    Found with one read in the usual case; a new domain is inserted with
    ``ON CONFLICT DO NOTHING``, so two first leads of one company meet on the
    unique domain and share the row the first one made.
    """
    account = Account.objects.filter(domain=domain).first()
    if account is None:
        account = Account(
            domain=domain,
            name=data.get("company") or domain,
            website=data.get("website") or f"https://{domain}",
            industry=data.get("industry") or "",
            employee_count=data.get("employee_count"),
            country=data.get("country") or "",
        )
        if insert_unless_exists(account, unique=("domain",)):
            return account
        account = Account.objects.get(domain=domain)
    changed = []
    for name in ("industry", "employee_count", "country"):
        value = data.get(name)
        if value not in (None, "") and getattr(account, name) in (None, ""):
            setattr(account, name, value)
            changed.append(name)
    if data.get("company") and account.name == account.domain:
        account.name = data["company"]
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


_PENDING_COLUMNS = ("id", "type", "form_type", "name", "url", "title", "occurred_at")


def _pending_attach(lead: Lead, *, visitor_id: str, email: str) -> list:
    """Give the lead the events that arrived before anyone knew who the visitor was.

    One ``UPDATE ... RETURNING`` finds and attaches them at once.
    """
    if visitor_id:
        _visitor_link_lock(visitor_id, lead=lead)
    matches, params = [], []
    if visitor_id:
        matches.append("pending_visitor_id = %s")
        params.append(visitor_id)
    if email:
        matches.append("pending_email = %s")
        params.append(email)
    if not matches:
        return []
    sql = (
        f"UPDATE {Activity._meta.db_table} SET lead_id = %s, pending_visitor_id = '', pending_email = '' "
        f"WHERE lead_id IS NULL AND ({' OR '.join(matches)}) RETURNING {', '.join(_PENDING_COLUMNS)}"
    )
    # Through raw() rather than a cursor: the rows pass the fields' database converters, so on SQLite
    # occurred_at comes back aware (a bare cursor gives naive datetimes, which warn when stored again).
    attached = sorted(Activity.objects.raw(sql, [lead.pk, *params]),
                      key=lambda activity: (activity.occurred_at, activity.pk), reverse=True)
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
        # Locked, so an event waits for a merge of its lead in progress (and a merge for the event), and
        # a merged duplicate's email lands on its survivor.
        lead = Lead.objects.select_for_update(of=("self",)).select_related("merged_into").filter(email=email).first()
        if lead is not None and lead.merged_into_id is not None:
            lead = lead.merged_into
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


def lead_submission_accept(*, cleaned: dict[str, Any] | None = None, **receive: Any) -> Outcome:
    """Store and process a lead submission in one transaction: the caller's 2xx covers both.

    The submission is written once, already processed, in the transaction that
    makes or updates its lead (no savepoint, no second write of its status). If
    processing raises, that transaction, or the savepoint when the caller holds
    a transaction open (an idempotency key's), rolls back whole, and the raw
    submission is then stored on its own, failed with its error, to be
    replayed. Either way it is in the database before the caller answers.
    """
    submission = _submission_new(kind=SubmissionKind.LEAD, attempts=1, **receive)
    if cleaned is None:
        cleaned, errors = clean_lead_payload(submission.payload)
        if errors:
            return _submission_store_unprocessed(submission, SubmissionStatus.REJECTED, _format_errors(errors))
    assert cleaned is not None
    try:
        with transaction.atomic():
            upserted = lead_upsert(data=cleaned, source=submission.source)
            submission.status = SubmissionStatus.PROCESSED
            submission.processed_at = upserted.at
            submission.lead = upserted.lead
            submission.created_lead = upserted.created
            submission.save(force_insert=True)
            conversion_record(upserted, data=cleaned, submission=submission)
            _announce(submission, upserted.lead, created=upserted.created)
    except SubmissionInvalid as invalid:
        return _submission_store_unprocessed(submission, SubmissionStatus.REJECTED, _format_errors(invalid.errors))
    except Exception:  # noqa: BLE001 - any failure must leave the submission replayable
        error = traceback.format_exc(limit=6)[-4000:]
        outcome = _submission_store_unprocessed(submission, SubmissionStatus.FAILED, error)
        logger.exception("processing submission %s failed", outcome.submission.pk)
        return outcome
    return Outcome(submission=submission, lead=upserted.lead, created=upserted.created)


def _submission_store_unprocessed(submission: Submission, status: str, error: str) -> Outcome:
    """Store a submission that processing did not turn into a lead, with why (its first write may be rolled back)."""
    submission.pk = None
    submission._state.adding = True
    submission.lead = None
    submission.created_lead = False
    submission.status = status
    submission.error = error
    submission.processed_at = timezone.now()
    submission.save(force_insert=True)
    return Outcome(submission=submission, lead=None, created=False)


def _announce(submission: Submission, lead: Lead, *, created: bool) -> None:
    """Send ``submission_processed`` once this transaction commits (never, if it rolls back)."""
    submission_id, lead_id, kind = submission.pk, lead.pk, submission.kind
    transaction.on_commit(
        lambda: submission_processed.send_robust(
            sender=Submission, submission_id=submission_id, lead_id=lead_id, kind=kind, created=created
        )
    )


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
