"""Staff pages of intake: the leads list. The lead page is the desk's (sdr_desk.board.views.lead_detail)."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from inbound import selectors
from inbound.models import LeadStatus, Source


@require_GET
@permission_required("inbound.view_lead", raise_exception=True)
def lead_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    if status not in LeadStatus.values:
        status = ""
    source = request.GET.get("source", "")
    source_id = int(source) if source.isdigit() else None
    leads = selectors.lead_list(query=query, status=status, source_id=source_id)
    page = Paginator(leads, 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "query": query,
        "status": status,
        "source_id": source_id,
        "statuses": LeadStatus.choices,
        "sources": Source.objects.all(),
    }
    template = "inbound/_lead_rows.html" if request.htmx and request.htmx.target == "lead-rows" else "inbound/lead_list.html"
    return render(request, template, context)
