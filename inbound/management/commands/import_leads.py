from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from inbound import csv_import
from inbound.models import Channel, ImportJob, Source

SHOWN_PROBLEMS = 20


class Command(BaseCommand):
    help = (
        "Import leads from a CSV file (Salesforce and HubSpot exports are understood), in this process, "
        "in the same resumable chunks the browser import runs in Django-Q."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file")
        parser.add_argument("--source", required=True, help="the source to credit (created if missing)")
        parser.add_argument(
            "--map", action="append", default=[], metavar="COLUMN=FIELD",
            help="override the proposed mapping of one column; FIELD is a lead field, 'custom', or empty to "
                 "ignore the column (repeatable)",
        )
        parser.add_argument("--keep-unmapped", action="store_true",
                            help="keep the columns left unmapped as custom fields instead of ignoring them")
        parser.add_argument("--dry-run", action="store_true",
                            help="run the whole import in a transaction that is rolled back: real numbers, "
                                 "nothing kept")

    def handle(self, *args: Any, file: str, source: str, map: list[str], keep_unmapped: bool, dry_run: bool,
               **options: Any) -> None:
        if not os.path.isfile(file):
            raise CommandError(f"No such file: {file}")
        source_name = source.strip()
        if not source_name:
            raise CommandError("The source name may not be blank.")
        overrides = _overrides_parse(map)
        if not dry_run:
            # No outer transaction: each chunk commits on its own, as in Django-Q.
            self._report(self._import(file, source_name, overrides, keep_unmapped), dry_run=False)
            return
        with transaction.atomic():
            job = self._import(file, source_name, overrides, keep_unmapped)
            try:
                self._report(job, dry_run=True)
            finally:
                transaction.set_rollback(True)
                job.file.storage.delete(job.file.name)

    def _import(self, path: str, source_name: str, overrides: dict[str, str], keep_unmapped: bool) -> ImportJob:
        source, created = Source.objects.get_or_create(name=source_name, defaults={"channel": Channel.IMPORT})
        if created:
            self.stderr.write(f"Created source {source.name!r} (Import).")
        with open(path, "rb") as handle:
            try:
                job = csv_import.import_job_create(uploaded_file=File(handle, name=os.path.basename(path)),
                                                   source=source, user=None)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
        unknown = [column for column in overrides if column not in job.headers]
        if unknown:
            _job_discard(job)
            raise CommandError(f"--map names no column of the file: {', '.join(unknown)}. "
                               f"The columns are: {', '.join(job.headers)}.")
        mapping = {**job.mapping, **overrides}
        try:
            job = csv_import.import_job_start(job, mapping, keep_unmapped=keep_unmapped, enqueue=False)
        except ValidationError as error:
            self._mapping_print(job.headers, mapping)
            _job_discard(job)
            raise CommandError(" ".join(error.messages)) from None
        self._mapping_print(job.headers, job.mapping)
        self.stdout.write(f"Importing {job.total_rows:,} rows into source {source.name!r}…")
        return csv_import.import_job_run_inline(job, on_progress=self._progress)

    def _mapping_print(self, headers: list[str], mapping: dict[str, str]) -> None:
        width = max(len(header) for header in headers)
        self.stdout.write("Column mapping:")
        for header in headers:
            field = mapping.get(header, csv_import.IGNORE) or "(ignored)"
            self.stdout.write(f"  {header.ljust(width)}  ->  {field}")

    def _progress(self, job: ImportJob) -> None:
        self.stdout.write(f"  {job.next_row:,} / {job.total_rows or 0:,} rows ({job.percent}%)")

    def _report(self, job: ImportJob, *, dry_run: bool) -> None:
        if job.error:
            self.stderr.write(f"Import failed: {job.error}")
        self.stdout.write(
            f"created {job.created_count}, merged {job.merged_count}, rejected {job.rejected_count}, "
            f"failed {job.failed_count}" + (" (dry run: nothing was kept)" if dry_run else "")
        )
        problems = csv_import.import_job_problems(job)[:SHOWN_PROBLEMS]
        for submission in problems:
            problem = csv_import.row_problem(job, submission)
            self.stdout.write(f"  row {problem.row_number}: {problem.reason.replace(chr(10), '; ')}")
        hidden = job.rejected_count + job.failed_count - SHOWN_PROBLEMS
        if hidden > 0:
            where = "" if dry_run else f"; see {job.get_absolute_url()}"
            self.stdout.write(f"  … and {hidden} more{where}")


def _job_discard(job: ImportJob) -> None:
    """Forget a job that never started, file and all."""
    job.file.delete(save=False)
    job.delete()


def _overrides_parse(items: list[str]) -> dict[str, str]:
    """'Work Phone=phone' -> {'Work Phone': 'phone'}; 'Notes=' ignores the column."""
    allowed = {name for name, _ in csv_import.MAPPING_CHOICES}
    overrides: dict[str, str] = {}
    for item in items:
        column, sep, field = item.partition("=")
        column, field = column.strip(), field.strip()
        if field.lower() in ("ignore", "none", "-"):
            field = csv_import.IGNORE
        if not sep or not column:
            raise CommandError(f"--map {item!r}: write it as \"Column name=field\".")
        if field not in allowed:
            raise CommandError(f"--map {item!r}: {field!r} is not a lead field. Choose from: "
                               f"{', '.join(sorted(a for a in allowed if a))}, or leave it empty to ignore.")
        overrides[column] = field
    return overrides
