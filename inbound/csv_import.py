"""CSV import of leads: upload, column mapping, then resumable chunks in Django-Q.

The flow is three steps, each one service:

1. ``import_job_create`` checks the upload and stores it re-encoded as plain
   UTF-8, comma separated (whatever the export used), so every later read is
   one simple streaming pass; it proposes a mapping from the column names
   Salesforce and HubSpot exports use.
2. ``import_job_start`` takes the confirmed mapping and queues the first chunk.
3. ``import_chunk_run`` (the Django-Q task) imports ``CHUNK_ROWS`` rows in one
   transaction, each stored raw as a CSV ``Submission`` and processed by
   ``submission_process`` (the one way leads are made), then queues the next.

The file is never read whole: every pass streams it row by row. A chunk
records its resume point (``ImportJob.next_row``) in the same transaction as
its rows, so a crashed worker, a lost task or a task run twice neither skips
nor repeats a row.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import logging
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from inbound.models import ImportJob, ImportStatus, Source, Submission, SubmissionChannel, SubmissionStatus
from inbound.payloads import LeadPayloadSerializer
from inbound.services import Outcome, leads_batch_announce, submission_process, submission_receive

logger = logging.getLogger(__name__)

# Rows per Django-Q task: about a second or two of work, far below the
# cluster's 300 s timeout, and small enough that a retried chunk costs little.
CHUNK_ROWS = 1000
CHUNK_TASK = "inbound.csv_import.import_chunk_run"

CUSTOM = "custom"
IGNORE = ""

ACTIVE_STATUSES = (ImportStatus.QUEUED, ImportStatus.RUNNING)

_LABELS = {
    "email": "Email",
    "employee_count": "Number of employees",
    "state": "State / region",
    "time_zone": "Time zone",
    "page_url": "Page URL",
    "utm_source": "Lead source (utm_source)",
    "visitor_id": "Visitor ID",
}
# The lead contract's own fields, so a field added there can be mapped here at once.
LEAD_FIELDS: list[tuple[str, str]] = [
    (name, _LABELS.get(name, name.replace("_", " ").capitalize()))
    for name in LeadPayloadSerializer().fields
    if name != CUSTOM
]
MAPPING_CHOICES: list[tuple[str, str]] = [(IGNORE, "Ignore"), (CUSTOM, "Keep as custom field"), *LEAD_FIELDS]
_FIELD_NAMES = frozenset(name for name, _ in LEAD_FIELDS)

# Column names of Salesforce and HubSpot lead and contact exports (and common
# hand-made ones), best first: when two columns claim one field, the better
# name wins and the other is kept as a custom field rather than lost.
_ALIASES: dict[str, list[str]] = {
    "email": ["Email", "Email Address", "E-mail", "Work Email", "Business Email", "Primary Email"],
    "first_name": ["First Name", "Given Name", "FName"],
    "last_name": ["Last Name", "Surname", "Family Name", "LName"],
    "phone": ["Phone", "Phone Number", "Business Phone", "Work Phone", "Direct Phone", "Telephone",
              "Mobile", "Mobile Phone", "Mobile Phone Number", "Cell Phone"],
    "job_title": ["Title", "Job Title", "Position"],
    "company": ["Company", "Company Name", "Account Name", "Organization", "Organisation",
                "Associated Company"],
    "website": ["Website", "Website URL", "Company Website", "Company Domain Name", "Domain"],
    "employee_count": ["Number of Employees", "No. of Employees", "Employees", "Employee Count", "Company Size",
                       "Annual Revenue Employees"],
    "industry": ["Industry"],
    "country": ["Country", "Country/Region", "Country Code", "Mailing Country", "Address Country"],
    "state": ["State", "State/Province", "State/Region", "Province", "Mailing State", "Address State"],
    "city": ["City", "Town", "Mailing City", "Address City"],
    "time_zone": ["Time Zone", "Timezone", "IP Timezone"],
    "form_type": ["Form Type"],
    "asset": ["Asset"],
    "page_url": ["Page URL", "Conversion Page"],
    "campaign": ["Campaign", "Campaign Name", "Primary Campaign Source"],
    "utm_source": ["Lead Source", "Original Source", "UTM Source", "Source"],
    "utm_medium": ["UTM Medium", "Medium"],
    "utm_campaign": ["UTM Campaign"],
    "utm_term": ["UTM Term"],
    "utm_content": ["UTM Content"],
    "referrer": ["Referrer", "First Referring Site", "Referring URL"],
    "landing_page": ["Landing Page", "First Page Seen"],
    "consent": ["Consent", "Marketing Consent", "GDPR Consent"],
    "visitor_id": ["Visitor ID"],
    # The CRM's own ids and owners: worth keeping next to the lead, not a lead field.
    CUSTOM: ["Record ID", "Lead ID", "Contact ID", "ID", "Lead Owner", "Contact Owner"],
}
# Columns that look like a field but must not fill it: statuses and scores are
# the CRM's opinion (the desk keeps its own), and an opt-OUT is not consent.
_IGNORED = ["Lead Status", "Lifecycle Stage", "Status", "Rating", "Lead Score", "HubSpot Score",
            "Email Opt Out", "Unsubscribed from all email", "Email Bounced", "Has Opted Out of Email",
            "Do Not Call", "Email Domain", "Lead Record Type"]


def _header_key(header: str) -> str:
    """'First Name', 'first_name' and 'FIRSTNAME' are one column name."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


_ALIAS_RANK: dict[str, tuple[str, int]] = {
    _header_key(alias): (field, rank) for field, aliases in _ALIASES.items() for rank, alias in enumerate(aliases)
}
_IGNORED_KEYS = frozenset(_header_key(name) for name in _IGNORED)
_NOT_AN_EMAIL_COLUMN = ("opt", "bounce", "domain", "unsubscribe", "status", "consent", "date")


# --- mapping ------------------------------------------------------------------------


def mapping_propose(headers: list[str]) -> dict[str, str]:
    """A lead field (or ``custom``, or ``""`` to ignore) for every column, as a starting point.

    Unknown columns are ignored by default: a HubSpot export has dozens of
    dates and counters nobody wants on a lead; the user can keep any of them.
    """
    proposal = dict.fromkeys(headers, IGNORE)
    candidates: list[tuple[int, int, str, str]] = []
    for index, header in enumerate(headers):
        key = _header_key(header)
        if key in _IGNORED_KEYS:
            continue
        match = _ALIAS_RANK.get(key)
        if match is None and "email" in key and not any(word in key for word in _NOT_AN_EMAIL_COLUMN):
            match = ("email", len(_ALIASES["email"]))  # "Contact e-mail 1" and the like, after real aliases
        if match is not None:
            candidates.append((match[1], index, header, match[0]))
    taken: set[str] = set()
    for _rank, _index, header, field in sorted(candidates):
        if field != CUSTOM and field in taken:
            proposal[header] = CUSTOM  # a second phone column: keep it rather than lose it
            continue
        proposal[header] = field
        taken.add(field)
    return proposal


def mapping_validate(headers: list[str], mapping: dict[str, str], *, keep_unmapped: bool = False) -> dict[str, str]:
    """The mapping to store: only the columns that are imported, each checked.

    Raises ``ValidationError`` naming the columns at fault.
    """
    errors: list[str] = []
    unknown_columns = [column for column in mapping if column not in headers]
    if unknown_columns:
        errors.append(f"The file has no column {', '.join(repr(c) for c in unknown_columns)}.")
    bad_fields = sorted({field for field in mapping.values() if field not in _FIELD_NAMES | {CUSTOM, IGNORE}})
    if bad_fields:
        errors.append(f"Unknown lead field {', '.join(repr(f) for f in bad_fields)}.")
    chosen: dict[str, str] = {}
    for column in headers:
        field = mapping.get(column, IGNORE)
        if field == IGNORE and keep_unmapped:
            field = CUSTOM
        if field != IGNORE:
            chosen[column] = field
    by_field: dict[str, list[str]] = {}
    for column, field in chosen.items():
        by_field.setdefault(field, []).append(column)
    if not by_field.get("email"):
        errors.append("Map one column to Email: it is how a lead is recognised.")
    for field, columns in by_field.items():
        if field != CUSTOM and len(columns) > 1:
            label = dict(LEAD_FIELDS)[field] if field in _FIELD_NAMES else field
            errors.append(f"{label} is mapped from {len(columns)} columns ({', '.join(columns)}): choose one.")
    if errors:
        raise ValidationError(errors)
    return chosen


# --- upload -------------------------------------------------------------------------

_SNIFF_BYTES = 8192
_BLOCK_BYTES = 1 << 20
_CSV_SUFFIXES = (".csv", ".txt", ".tsv")
_SPREADSHEET_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")


def import_job_create(
    *, uploaded_file: File, source: Source, user: AbstractBaseUser | AnonymousUser | None
) -> ImportJob:
    """Check an uploaded CSV, store it as UTF-8 and return a job waiting for its mapping.

    Raises ``ValidationError`` with a message fit for the person who uploaded
    it; nothing is stored then.
    """
    name = os.path.basename(uploaded_file.name or "upload.csv")[:255]
    _upload_check(name, uploaded_file.size)
    raw = _binary(uploaded_file)
    encoding = _encoding_detect(raw)
    with tempfile.TemporaryFile() as stored:
        headers, rows = _csv_rewrite(raw, encoding, stored)
        proposal = mapping_propose(headers)
        if "email" not in proposal.values():
            raise ValidationError(
                f"No column holds email addresses. Name that column “Email”; the file's columns are: "
                f"{', '.join(headers[:20])}{'…' if len(headers) > 20 else ''}.",
                code="no_email_column",
            )
        stored.seek(0)
        job = ImportJob(
            original_name=name,
            source=source,
            created_by=user if user is not None and user.is_authenticated else None,
            headers=headers,
            mapping=proposal,
            total_rows=rows,
        )
        job.file.save(name, File(stored, name=name), save=False)
    job.save()
    return job


def _upload_check(name: str, size: int | None) -> None:
    lowered = name.lower()
    if lowered.endswith(_SPREADSHEET_SUFFIXES):
        raise ValidationError(
            "This is a spreadsheet, not a CSV file. Save or export it as CSV (comma separated) and upload that.",
            code="spreadsheet",
        )
    if not lowered.endswith(_CSV_SUFFIXES):
        raise ValidationError("Upload a .csv file, as exported from Salesforce, HubSpot or a spreadsheet.",
                              code="not_csv")
    if not size:
        raise ValidationError("The file is empty.", code="empty")
    limit = settings.IMPORT_MAX_FILE_BYTES
    if size > limit:
        raise ValidationError(
            f"The file is {_size(size)}; the limit is {_size(limit)}. Split it and import the parts.",
            code="too_large",
        )


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def _binary(django_file: File) -> IO[bytes]:
    """The OS-level binary file under Django's wrappers, rewound, for ``io.TextIOWrapper``.

    An upload wraps a temp file or a BytesIO; a stored file wraps a File that wraps the real one.
    """
    django_file.open("rb")
    raw: Any = django_file
    while isinstance(raw, File):
        raw = raw.file
    raw.seek(0)
    return raw


def _encoding_detect(raw: IO[bytes]) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's "Unicode text"), else Windows-1252.

    The check streams the whole file: a CSV that is UTF-8 for a million rows
    and cp1252 in the last one must not fail half-way through the import.
    """
    head = raw.read(_SNIFF_BYTES)
    raw.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise ValidationError(
            "This is not a CSV file: it holds binary data. Export the leads as CSV and upload that.", code="binary"
        )
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for block in iter(lambda: raw.read(_BLOCK_BYTES), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
        finally:
            raw.seek(0)
    return "latin-1"  # decodes any byte: better a wrong accent than a refused file


def _delimiter_guess(first_line: str) -> str:
    """Comma, or what European spreadsheets and "tab separated" exports use instead."""
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rewrite(raw: IO[bytes], encoding: str, stored: IO[bytes]) -> tuple[list[str], int]:
    """Copy the CSV into ``stored`` as UTF-8, comma separated; return (header names, data rows)."""
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    out = io.TextIOWrapper(stored, encoding="utf-8", newline="")
    try:
        first_line = text.readline()
        text.seek(0)
        # PostgreSQL text cannot hold NUL; it is never meaningful in a CSV cell.
        lines = (line.replace("\x00", "") for line in text)
        reader = csv.reader(lines, delimiter=_delimiter_guess(first_line))
        writer = csv.writer(out)
        try:
            headers = _headers_clean(next(reader, []))
            writer.writerow(headers)
            rows = 0
            for cells in reader:
                writer.writerow(cells)
                rows += 1
        except csv.Error as error:
            raise ValidationError(
                f"Line {reader.line_num} of the file cannot be read as CSV ({error}).", code="bad_csv"
            ) from None
        except UnicodeDecodeError:
            raise ValidationError(
                f"Line {reader.line_num + 1} of the file is not valid {encoding} text. Save it again as CSV UTF-8.",
                code="bad_encoding",
            ) from None
        if rows == 0:
            raise ValidationError("The file has column names but no rows to import.", code="no_rows")
        out.flush()
        return headers, rows
    finally:
        out.detach()
        text.detach()


def _headers_clean(cells: list[str]) -> list[str]:
    """Column names as the mapping shows them: trimmed, blank ones numbered, repeats told apart."""
    if not any(cell.strip() for cell in cells):
        raise ValidationError(
            "The first row is empty: the file needs a header row with the column names (Email, First Name…).",
            code="no_header",
        )
    if any("@" in cell and " " not in cell.strip() for cell in cells):
        raise ValidationError(
            "The first row holds data (an email address), not column names: add a header row "
            "such as “Email,First Name,Last Name”.",
            code="no_header",
        )
    headers: list[str] = []
    seen: Counter[str] = Counter()
    for position, cell in enumerate(cells, start=1):
        name = cell.strip()[:200] or f"Column {position}"
        seen[name] += 1
        headers.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return headers


@contextmanager
def _rows_open(job: ImportJob) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """(index, cells) for every data row of the stored file, streamed.

    ``csv.reader`` rather than ``DictReader``: DictReader silently drops empty
    lines, which would shift every row number after one away from the row the
    user sees in their spreadsheet.
    """
    raw = _binary(job.file)
    try:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        try:
            reader = csv.reader(text)
            next(reader, None)  # the header row; the job keeps the cleaned names
            yield enumerate(reader)
        finally:
            text.detach()
    finally:
        job.file.close()


def row_number_of(index: int) -> int:
    """The row as a spreadsheet numbers it: the header is row 1."""
    return index + 2


def import_job_preview(job: ImportJob, *, rows: int = 3) -> dict[str, list[str]]:
    """A few sample values per column for the mapping page, from the first non-blank rows."""
    samples: dict[str, list[str]] = {header: [] for header in job.headers}
    with _rows_open(job) as reader:
        non_blank = (cells for _, cells in reader if any(cell.strip() for cell in cells))
        for cells in itertools.islice(non_blank, rows):
            for header, cell in zip(job.headers, cells):
                if cell.strip():
                    samples[header].append(cell.strip())
    return samples


# --- running ------------------------------------------------------------------------


def import_job_start(job: ImportJob, mapping: dict[str, str], *, keep_unmapped: bool = False,
                     enqueue: bool = True) -> ImportJob:
    """Confirm the mapping and queue the import; ``enqueue=False`` leaves running to the caller.

    The job row is locked so a double-clicked "Import" starts one import.
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportStatus.MAPPING:
            raise ValidationError("This import has already started.", code="started")
        job.mapping = mapping_validate(job.headers, mapping, keep_unmapped=keep_unmapped)
        job.status = ImportStatus.QUEUED
        job.next_row = 0
        job.save(update_fields=["mapping", "status", "next_row"])
        if enqueue:
            _chunk_enqueue_on_commit(job.pk, 0)
    return job


def import_chunk_run(job_id: int, start_row: int) -> str:
    """The Django-Q task: import one chunk, then queue the next one after commit.

    Doing nothing is the answer to every surprise (a task run twice, a stale
    ``start_row``, a job finished or failed meanwhile): the job row says what
    is left to do, not the queue. File problems fail the job for good; a lost
    database connection raises, so Django-Q retries the same chunk.
    """
    try:
        return _chunk_import(job_id, start_row, enqueue_next=True)
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:  # noqa: BLE001 - a broken file or bug must show on the job, not loop in the queue
        logger.exception("import %s failed at row %s", job_id, start_row)
        _job_fail(job_id, f"Stopped at row {row_number_of(start_row)}: {error.__class__.__name__}: {error}")
        return "failed"


def import_job_run_inline(job: ImportJob, *, on_progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Run every chunk of a started job in this process (the management command), one transaction each."""
    while True:
        result = _chunk_import(job.pk, job.next_row, enqueue_next=False)
        job.refresh_from_db()
        if on_progress is not None:
            on_progress(job)
        if result == "skipped" or job.status not in ACTIVE_STATUSES:
            return job


def import_job_resume(job: ImportJob) -> ImportJob:
    """Queue a stalled or failed job again from its resume point; rows already imported stay imported."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in (*ACTIVE_STATUSES, ImportStatus.FAILED):
            return job
        if job.status == ImportStatus.FAILED:
            job.status = ImportStatus.RUNNING if job.started_at else ImportStatus.QUEUED
            job.error = ""
            job.finished_at = None
            job.save(update_fields=["status", "error", "finished_at"])
        _chunk_enqueue_on_commit(job.pk, job.next_row)
    return job


def _chunk_enqueue_on_commit(job_id: int, start_row: int) -> None:
    # After commit: a task that starts before the commit would not see the job's new state (django-q #154).
    transaction.on_commit(
        lambda: async_task(CHUNK_TASK, job_id, start_row, task_name=f"import {job_id} from row {start_row}",
                           group="imports")
    )


def _chunk_import(job_id: int, start_row: int, *, enqueue_next: bool) -> str:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update(of=("self",)).select_related("source").filter(pk=job_id).first()
        if job is None or job.status not in ACTIVE_STATUSES or job.next_row != start_row:
            return "skipped"
        now = timezone.now()
        if job.status == ImportStatus.QUEUED:
            job.status = ImportStatus.RUNNING
            job.started_at = now
        tally: Counter[str] = Counter()
        lead_ids: list[int] = []
        read = 0
        columns = _columns(job)
        with _rows_open(job) as rows:
            for index, cells in itertools.islice(rows, start_row, start_row + CHUNK_ROWS):
                read += 1
                outcome = _row_import(job, columns, row_number_of(index), cells)
                if outcome is not None:
                    tally[_outcome_kind(outcome)] += 1
                    if outcome.ok and outcome.lead is not None:
                        lead_ids.append(outcome.lead.pk)
        # One hand-on for the chunk: scoring a thousand leads in bulk, not one by one.
        leads_batch_announce(lead_ids, channel=SubmissionChannel.CSV)
        job.next_row = start_row + read
        job.created_count += tally["created"]
        job.merged_count += tally["merged"]
        job.rejected_count += tally[SubmissionStatus.REJECTED]
        job.failed_count += tally[SubmissionStatus.FAILED]
        finished = read < CHUNK_ROWS or job.next_row >= (job.total_rows or 0)
        if finished:
            job.status = ImportStatus.DONE
            job.finished_at = now
            job.total_rows = job.next_row  # the truth, should the stored count ever differ
        job.save(update_fields=["status", "started_at", "finished_at", "next_row", "total_rows", "created_count",
                                "merged_count", "rejected_count", "failed_count"])
        if not finished and enqueue_next:
            _chunk_enqueue_on_commit(job.pk, job.next_row)
    return "done" if finished else f"rows {row_number_of(start_row)}-{row_number_of(job.next_row - 1)}"


def _job_fail(job_id: int, error: str) -> None:
    ImportJob.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES).update(
        status=ImportStatus.FAILED, error=error[:4000], finished_at=timezone.now()
    )


@dataclass(frozen=True)
class _Column:
    position: int
    header: str
    field: str


def _columns(job: ImportJob) -> list[_Column]:
    return [
        _Column(position, header, job.mapping[header])
        for position, header in enumerate(job.headers)
        if job.mapping.get(header, IGNORE) != IGNORE
    ]


def row_payload(columns: Iterable[_Column], cells: list[str]) -> dict[str, Any]:
    """The lead payload of one row, values as written; an empty cell means "not given"."""
    payload: dict[str, Any] = {}
    custom: dict[str, str] = {}
    for column in columns:
        value = cells[column.position] if column.position < len(cells) else ""
        if not value.strip():
            continue
        if column.field == CUSTOM:
            custom[column.header] = value
        else:
            payload[column.field] = value
    if custom:
        payload[CUSTOM] = custom
    return payload


def _row_import(job: ImportJob, columns: list[_Column], row_number: int, cells: list[str]) -> Outcome | None:
    if not any(cell.strip() for cell in cells):
        return None  # a blank line: nothing was sent, so there is nothing to store
    submission = submission_receive(
        payload=row_payload(columns, cells),
        channel=SubmissionChannel.CSV,
        source=job.source,
        import_job=job,
        row_number=row_number,
    )
    return submission_process(submission, announce=False)


def _outcome_kind(outcome: Outcome) -> str:
    """created, merged (the email was known, in the database or earlier in the file), rejected or failed."""
    if outcome.ok:
        return "created" if outcome.created else "merged"
    return outcome.submission.status


# --- results ------------------------------------------------------------------------


def import_job_problems(job: ImportJob) -> QuerySet[Submission]:
    """The rows that did not make a lead, in file order."""
    return (
        Submission.objects.filter(import_job=job, status__in=[SubmissionStatus.REJECTED, SubmissionStatus.FAILED])
        .order_by("row_number", "pk")
        .only("pk", "row_number", "status", "error", "payload")
    )


@dataclass(frozen=True)
class CellValue:
    column: str
    value: str
    at_fault: bool


@dataclass(frozen=True)
class RowProblem:
    row_number: int | None
    status: str
    reason: str
    values: list[CellValue]


def row_problem(job: ImportJob, submission: Submission) -> RowProblem:
    """A rejected or failed row told in the file's own column names, the cells at fault marked."""
    column_of = {field: column for column, field in job.mapping.items() if field != CUSTOM}
    fields_at_fault = {line.partition(": ")[0] for line in submission.error.splitlines()}
    values: list[CellValue] = []
    for column in job.headers:  # the mapping is stored as jsonb, which does not keep key order
        field = job.mapping.get(column, IGNORE)
        if field == IGNORE:
            continue
        value = (submission.payload.get(CUSTOM) or {}).get(column) if field == CUSTOM else submission.payload.get(field)
        if value not in (None, ""):
            values.append(CellValue(column, str(value), field in fields_at_fault))
    if submission.status == SubmissionStatus.FAILED:
        last_line = (submission.error.strip().splitlines() or ["unknown error"])[-1]
        reason = f"Could not be processed ({last_line}); it is retried automatically."
    else:
        reason = "\n".join(_reason_line(line, column_of) for line in submission.error.splitlines())
    return RowProblem(submission.row_number, submission.status, reason, values)


def _reason_line(line: str, column_of: dict[str, str]) -> str:
    """'email: Enter a valid email address.' -> 'Email Address: Enter a valid email address.'"""
    field, sep, message = line.partition(": ")
    if sep and field in column_of:
        return f"{column_of[field]}: {message}"
    if sep and field == "non_field_errors":
        return message
    return line


# --- the rejected rows, as a file to fix and import again ------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell_safe(value: object) -> str:
    """The cell as text a spreadsheet shows rather than runs: a formula-like start gets a leading quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def import_job_problem_rows(job: ImportJob) -> Iterator[list[str]]:
    """The rows not imported, in file order: row number, status, reason, then every cell of the file's row.

    The cells come from the stored file, so columns that were ignored come back too and the file can be
    fixed and imported again; should the file be gone, the values the row was imported with. Every cell
    is neutralised for spreadsheets (``csv_cell_safe``).
    """
    yield [csv_cell_safe(cell) for cell in ["Row", "Status", "Reason", *job.headers]]
    problems = import_job_problems(job).iterator(chunk_size=2000)
    if not job.file or not job.file.storage.exists(job.file.name):
        for submission in problems:
            yield _problem_row(job, submission, cells=None)
        return
    with _rows_open(job) as rows:
        last: tuple[int, list[str]] | None = None
        for submission in problems:
            while submission.row_number is not None and (last is None or last[0] < submission.row_number):
                index, cells = next(rows, (None, None))
                if index is None:
                    break
                last = (row_number_of(index), cells)
            found = last is not None and last[0] == submission.row_number
            yield _problem_row(job, submission, cells=last[1] if found else None)


def _problem_row(job: ImportJob, submission: Submission, *, cells: list[str] | None) -> list[str]:
    problem = row_problem(job, submission)
    if cells is None:
        by_column = {cell.column: cell.value for cell in problem.values}
        cells = [by_column.get(header, "") for header in job.headers]
    cells = [*cells, *[""] * (len(job.headers) - len(cells))]
    row = [problem.row_number if problem.row_number is not None else "", problem.status, problem.reason, *cells]
    return [csv_cell_safe(cell) for cell in row]
