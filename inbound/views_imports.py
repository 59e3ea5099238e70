"""Staff pages of the CSV import: upload, confirm the column mapping, watch it run, read the result.

Managers are trusted with imports, so everyone allowed to import sees every
job. The import itself runs in Django-Q; these views only read and queue.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inbound import csv_import
from inbound.models import ImportJob, ImportStatus, Source, Submission, SubmissionStatus

PROBLEMS_PER_PAGE = 50
LEADS_PER_PAGE = 50
# The import's leads page lists either outcome: the leads the file created, or the known ones it converted again.
LEAD_OUTCOMES = {"created": "New leads created", "merged": "Merged into known leads"}


class ImportUploadForm(forms.Form):
    source = forms.ModelChoiceField(
        queryset=Source.objects.filter(is_active=True), empty_label="Choose a source…",
        help_text="Where these leads came from: credited on every lead created.",
    )
    file = forms.FileField(widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,text/csv"}))


def _job_get(pk: int) -> ImportJob:
    return get_object_or_404(ImportJob.objects.select_related("source", "created_by"), pk=pk)


def _list_render(request: HttpRequest, form: ImportUploadForm, *, status: int = 200) -> HttpResponse:
    jobs = ImportJob.objects.select_related("source", "created_by")
    page = Paginator(jobs, 25).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "max_bytes": settings.IMPORT_MAX_FILE_BYTES}
    return render(request, "inbound/import_list.html", context, status=status)


@require_GET
@permission_required("inbound.add_importjob", raise_exception=True)
def import_list(request: HttpRequest) -> HttpResponse:
    return _list_render(request, ImportUploadForm())


@require_POST
@permission_required("inbound.add_importjob", raise_exception=True)
def import_new(request: HttpRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            job = csv_import.import_job_create(
                uploaded_file=form.cleaned_data["file"], source=form.cleaned_data["source"], user=request.user
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            return redirect("import-mapping", pk=job.pk)
    return _list_render(request, form, status=400)


@require_http_methods(["GET", "POST"])
@permission_required("inbound.add_importjob", raise_exception=True)
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_get(pk)
    if job.status != ImportStatus.MAPPING:
        return redirect(job)
    mapping = job.mapping
    keep_unmapped = False
    errors: list[str] = []
    if request.method == "POST":
        # Columns are posted by position: header names may hold anything.
        mapping = {header: request.POST.get(f"col-{index}", "") for index, header in enumerate(job.headers)}
        keep_unmapped = request.POST.get("keep_unmapped") == "on"
        try:
            csv_import.import_job_start(job, mapping, keep_unmapped=keep_unmapped)
        except ValidationError as error:
            errors = error.messages
        else:
            return redirect(job)
    samples = csv_import.import_job_preview(job)
    columns = [
        {"index": index, "header": header, "field": mapping.get(header, ""), "samples": samples.get(header, [])}
        for index, header in enumerate(job.headers)
    ]
    context = {"job": job, "columns": columns, "lead_fields": csv_import.LEAD_FIELDS, "errors": errors,
               "keep_unmapped": keep_unmapped}
    return render(request, "inbound/import_mapping.html", context, status=400 if errors else 200)


def _detail_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    context: dict[str, Any] = {"job": job, "active": job.status in csv_import.ACTIVE_STATUSES}
    if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
        page = Paginator(csv_import.import_job_problems(job), PROBLEMS_PER_PAGE).get_page(request.GET.get("page"))
        context["page"] = page
        context["problems"] = [csv_import.row_problem(job, submission) for submission in page]
        imported = job.created_count + job.merged_count + job.rejected_count + job.failed_count
        context["skipped"] = max(0, job.next_row - imported)
    if job.started_at and job.finished_at:
        context["duration"] = _duration_text((job.finished_at - job.started_at).total_seconds())
    return context


def _duration_text(seconds: float) -> str:
    """'under a second', '42 s', '3 min 5 s', '1 h 12 min': timesince rounds a fast import to '0 minutes'."""
    if seconds < 1:
        return "under a second"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


@require_GET
@permission_required("inbound.add_importjob", raise_exception=True)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_get(pk)
    if job.status == ImportStatus.MAPPING:
        return redirect("import-mapping", pk=job.pk)
    template = "inbound/_import_progress.html" if request.htmx else "inbound/import_detail.html"
    return render(request, template, _detail_context(request, job))


@require_GET
@permission_required("inbound.add_importjob", raise_exception=True)
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress fragment htmx polls; without htmx, the page it belongs to."""
    job = _job_get(pk)
    if not request.htmx:
        return redirect(job)
    return render(request, "inbound/_import_progress.html", _detail_context(request, job))


@require_GET
@permission_required("inbound.add_importjob", raise_exception=True)
def import_leads(request: HttpRequest, pk: int) -> HttpResponse:
    """The leads the import made (``?outcome=created``, the default) or converted again (``merged``), in file order."""
    job = _job_get(pk)
    outcome = request.GET.get("outcome", "created")
    if outcome not in LEAD_OUTCOMES:
        outcome = "created"
    rows = (Submission.objects.filter(import_job=job, status=SubmissionStatus.PROCESSED, lead__isnull=False,
                                      created_lead=outcome == "created")
            .select_related("lead").only("row_number", "lead__id", "lead__email", "lead__first_name",
                                         "lead__last_name", "lead__company", "lead__status", "lead__created_at")
            .order_by("row_number", "pk"))
    page = Paginator(rows, LEADS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "inbound/import_leads.html",
                  {"job": job, "page": page, "outcome": outcome, "outcomes": LEAD_OUTCOMES})


@require_GET
@permission_required("inbound.add_importjob", raise_exception=True)
def import_rejected_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The rows that made no lead, with their row number and reason, as a CSV to fix and import again.

    Built in memory: under ASGI Django reads a synchronous stream whole before sending it anyway, and the
    rows are at most the uploaded file (IMPORT_MAX_FILE_BYTES).
    """
    job = _job_get(pk)
    out = io.StringIO()
    csv.writer(out).writerows(csv_import.import_job_problem_rows(job))
    stem = job.original_name.rsplit(".", 1)[0] or "import"
    response = HttpResponse(out.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    # utf-8-sig: Excel opens a BOM-less UTF-8 CSV as Windows-1252. The name is the upload's, ASCII only.
    safe_stem = "".join(char if char.isascii() and (char.isalnum() or char in "-_") else "_" for char in stem)[:80]
    response["Content-Disposition"] = f'attachment; filename="{safe_stem}-rejected-rows.csv"'
    return response
