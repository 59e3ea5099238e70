"""The lead page's disposition form, and the manager's review page with its change and reopen actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inbound.models import Lead
from sdr_desk.board.views import lead_rerender
from sdr_desk.dispositions.codes import CodeInvalid, code_active_set, code_move, code_save
from sdr_desk.dispositions.forms import DispositionCodeForm, ReviewFilterForm
from sdr_desk.dispositions.merge import DUPLICATE_CODE, MergeInvalid, lead_merge, merge_target
from sdr_desk.dispositions.models import Disposition, DispositionCode
from sdr_desk.dispositions.selectors import (
    dispositions_counts,
    dispositions_filter,
    dispositions_reviewable,
    review_rows_attach,
)
from sdr_desk.dispositions.services import (
    DispositionInvalid,
    disposition_change,
    disposition_reopen,
    lead_disposition,
)
from sdr_desk.navigation import posted_next
from sdr_desk.routing.ownership import OwnershipError


@require_POST
@permission_required("inbound.view_lead", raise_exception=True)
def lead_disposition_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the disposition from the lead page; errors by field beside the form, changing nothing."""
    lead = get_object_or_404(Lead, pk=pk)
    if request.POST.get("code", "") == DUPLICATE_CODE:
        return _lead_merge_posted(request, lead)
    try:
        disposition = lead_disposition(lead.pk, user=request.user, code=request.POST.get("code", ""),
                                       reason=request.POST.get("reason", ""), note=request.POST.get("note", ""),
                                       reengage_on=_reengage_posted(request))
    except DispositionInvalid as error:
        return lead_rerender(request, pk, disposition_errors=error.errors, disposition_form=request.POST)
    except OwnershipError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, error.message)
        return redirect("lead-detail", pk=lead.pk)
    messages.success(request, f"Recorded: {disposition.code.name}. The lead has left the board.")
    return redirect("lead-detail", pk=lead.pk)


def _lead_merge_posted(request: HttpRequest, lead: Lead) -> HttpResponse:
    """"Duplicate" chosen: the survivor typed (an id or an email) is merged into, instead of a plain disposition."""
    typed = request.POST.get("into", "").strip()
    try:
        into_id = merge_target(typed)
        if typed and into_id is None:
            raise MergeInvalid({"into": [f"No lead with the id or email “{typed[:254]}”."]})
        merge = lead_merge(lead.pk, into_id=into_id, user=request.user, reason=request.POST.get("reason", ""),
                           note=request.POST.get("note", ""))
    except DispositionInvalid as error:
        return lead_rerender(request, lead.pk, disposition_errors=error.errors, disposition_form=request.POST)
    except OwnershipError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, error.message)
        return redirect("lead-detail", pk=lead.pk)
    messages.success(request, f"Merged into this lead: the duplicate #{lead.pk} is closed and its history is here.")
    return redirect("lead-detail", pk=merge.survivor_id)


def _back_to_review(request: HttpRequest) -> HttpResponse:
    return redirect(posted_next(request) or "disposition-review")


def _reengage_posted(request: HttpRequest) -> date | None:
    """The form's re-engage date; a malformed one is a field error like the service's own."""
    raw = request.POST.get("reengage_on", "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        raise DispositionInvalid({"reengage_on": ["Give a date as YYYY-MM-DD."]}) from None


@dataclass(frozen=True)
class ReviewColumn:
    """A column another app adds to the review page (``review_columns`` on its AppConfig): a header, the
    template of a row's cell (it gets ``d``, the disposition), and ``attach(rows)``, which reads what the
    cells show for the page's rows in one query (dispositions import nothing of that app)."""

    header: str
    cell: str
    attach: Callable[[list[Disposition]], None]


@cache
def _review_columns() -> tuple[ReviewColumn, ...]:
    return tuple(ReviewColumn(header=c["header"], cell=c["cell"], attach=import_string(c["attach"]))
                 for config in apps.get_app_configs() for c in getattr(config, "review_columns", ()))


class KnownCountPaginator(Paginator):
    """A paginator told its count (already known to the caller), so it never runs COUNT(*) itself."""

    def __init__(self, *args: Any, count: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.__dict__["count"] = count  # ``count`` is a cached_property: this is its cached value


@require_GET
@permission_required("dispositions.change_disposition", raise_exception=True)
def review(request: HttpRequest) -> HttpResponse:
    """The manager's page: their teams' dispositions by rep, team, code, source and date, with the touches behind each."""
    form = ReviewFilterForm(request.GET or None, user=request.user)
    query = dispositions_reviewable(request.user)
    if form.is_valid():
        query = dispositions_filter(query, form.cleaned_data)
    counts = dispositions_counts(query)
    # The summary already counted every row: the paginator takes that total instead of a second COUNT(*).
    page = KnownCountPaginator(query, 50, count=sum(c["n"] for c in counts)).get_page(request.GET.get("page"))
    rows = review_rows_attach(list(page.object_list))
    columns = _review_columns()
    for column in columns:
        column.attach(rows)
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "dispositions/review.html", {
        "form": form, "page": page, "rows": rows, "counts": counts, "params": params.urlencode(),
        "columns": columns, "colspan": 8 + len(columns), "next": request.get_full_path(),
    }, status=400 if form.errors else 200)


@require_GET
@permission_required("dispositions.change_disposition", raise_exception=True)
def disposition_actions(request: HttpRequest, pk: int) -> HttpResponse:
    """The change and reopen forms of one row, asked for when the manager opens them.

    The review page renders none of them (50 forms, each with every code, were most of its time): htmx swaps
    this fragment into the row, and without JavaScript the row's link opens it as a page of its own.
    """
    disposition = get_object_or_404(Disposition.objects.select_related("lead", "code", "rep", "team"), pk=pk)
    if not dispositions_reviewable(request.user).filter(pk=pk).exists():
        raise PermissionDenied("Only the manager of the lead's team may change or reopen its disposition.")
    back = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        back = ""
    context = {"d": disposition, "codes": DispositionCode.objects.filter(is_active=True).exclude(slug=DUPLICATE_CODE),
               "next": back or reverse("disposition-review")}
    template = "dispositions/_review_actions.html" if request.htmx else "dispositions/review_actions.html"
    return render(request, template, context)


def _review_action(request: HttpRequest, action: Callable[[], object], done: str) -> HttpResponse:
    try:
        action()
    except DispositionInvalid as error:
        for field, errors in error.errors.items():
            messages.error(request, f"{field.replace('_', ' ').capitalize()}: {' '.join(errors)}")
        return _back_to_review(request)
    except OwnershipError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, error.message)
        return _back_to_review(request)
    messages.success(request, done)
    return _back_to_review(request)


@require_POST
@permission_required("dispositions.change_disposition", raise_exception=True)
def disposition_change_view(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Disposition, pk=pk)
    return _review_action(request, lambda: disposition_change(
        pk, user=request.user, code=request.POST.get("code", ""), reason=request.POST.get("reason", ""),
        note=request.POST.get("note", ""), reengage_on=_reengage_posted(request), why=request.POST.get("why", "")),
        "Disposition changed; the old one is kept in the lead's history.")


@require_POST
@permission_required("dispositions.change_disposition", raise_exception=True)
def disposition_reopen_view(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Disposition, pk=pk)
    return _review_action(request, lambda: disposition_reopen(pk, user=request.user, why=request.POST.get("why", "")),
                          "Reopened: the lead is back on its rep's board.")


# --- the codes, as managers keep them ------------------------------------------------------------------------


def _codes_render(request: HttpRequest, form: DispositionCodeForm, *, status: int = 200,
                  errors: dict[str, list[str]] | None = None) -> HttpResponse:
    return render(request, "dispositions/codes.html", {
        "codes": DispositionCode.objects.order_by("position", "name"), "form": form, "errors": errors or {},
    }, status=status)


@require_http_methods(["GET", "POST"])
@permission_required("dispositions.change_dispositioncode", raise_exception=True)
def codes_page(request: HttpRequest) -> HttpResponse:
    """Every code in the order reps see them, with what each asks; POST adds one (400 with its field errors)."""
    if request.method == "GET":
        return _codes_render(request, DispositionCodeForm())
    form = DispositionCodeForm(request.POST)
    try:
        code = code_save(form, user=request.user)
    except CodeInvalid:
        return _codes_render(request, form, status=400)
    messages.success(request, f"“{code.name}” added at the end of the list.")
    return redirect("disposition-codes")


@require_http_methods(["GET", "POST"])
@permission_required("dispositions.change_dispositioncode", raise_exception=True)
def code_edit(request: HttpRequest, pk: int) -> HttpResponse:
    code = get_object_or_404(DispositionCode, pk=pk)
    form = DispositionCodeForm(request.POST if request.method == "POST" else None, instance=code)
    if request.method == "POST":
        try:
            code = code_save(form, user=request.user)
        except CodeInvalid:
            return render(request, "dispositions/code_edit.html", {"form": form, "code": code}, status=400)
        messages.success(request, f"“{code.name}” saved.")
        return redirect("disposition-codes")
    return render(request, "dispositions/code_edit.html", {"form": form, "code": code})


@require_POST
@permission_required("dispositions.change_dispositioncode", raise_exception=True)
def code_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a code up or down, or deactivate or reactivate it (``action``)."""
    get_object_or_404(DispositionCode, pk=pk)
    action = request.POST.get("action", "")
    if action in ("up", "down"):
        code_move(pk, up=action == "up", user=request.user)
    elif action in ("deactivate", "reactivate"):
        code = code_active_set(pk, active=action == "reactivate", user=request.user)
        messages.success(request, f"“{code.name}” is back in the choices." if code.is_active else
                         f"“{code.name}” deactivated: it leaves the choices and stays on past dispositions.")
    else:
        return _codes_render(request, DispositionCodeForm(), status=400,
                             errors={"action": ["Choose one of: up, down, deactivate, reactivate."]})
    return redirect("disposition-codes")
