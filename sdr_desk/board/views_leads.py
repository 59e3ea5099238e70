"""The leads list page: search, filters and sort kept in the URL; HTMX swaps only the rows."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from inbound.models import LeadStatus, Source
from scoring.models import Tier
from sdr_desk.board.lead_list import PAGE_SIZE, UNASSIGNED, LeadFilters, lead_list_rows
from sdr_desk.routing.models import LeadState, Rep

COLUMNS = [("name", "Lead"), ("source", "Source"), ("score", "Score"), ("tier", "Tier"), ("owner", "Owner"),
           ("state", "State"), ("sla", "First touch"), ("created", "Created")]


@require_GET
@permission_required("inbound.view_lead", raise_exception=True)
def lead_list(request: HttpRequest) -> HttpResponse:
    """Every lead with its score, tier, owner, desk state and first-touch label, 50 a page."""
    filters = LeadFilters.from_query(request.GET)
    page = Paginator(lead_list_rows(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "columns": [{"key": key, "label": label, "next": filters.next_sort(key),
                     "current": "desc" if key == filters.sort_column and filters.descending
                     else "asc" if key == filters.sort_column else ""} for key, label in COLUMNS],
        "unassigned": UNASSIGNED,
        "statuses": LeadStatus.choices,
        "tiers": Tier.choices,
        "states": LeadState.choices,
        "sources": Source.objects.all(),
        "owners": Rep.objects.select_related("user").order_by("user__first_name", "user__username"),
    }
    partial = request.htmx and request.htmx.target == "lead-rows"
    return render(request, "board/_lead_rows.html" if partial else "board/lead_list.html", context)
