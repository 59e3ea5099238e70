from __future__ import annotations

from django.contrib.auth.decorators import login_not_required, permission_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from inbound import selectors
from inbound.models import Lead


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    # The board (a later issue) becomes home; until then the leads list is.
    return redirect("lead-list")


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when the database answers, 503 when it does not."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_GET
@permission_required("inbound.view_lead", raise_exception=True)
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead page: the timeline as the spine; beside it the person, the company and the score explained."""
    lead = get_object_or_404(Lead.objects.select_related("source", "account", "score"), pk=pk)
    return render(
        request,
        "sdr_desk/lead_detail.html",
        {
            "lead": lead,
            "score": getattr(lead, "score", None),
            "timeline": selectors.lead_timeline(lead),
            "activities": selectors.lead_activities(lead),
        },
    )
