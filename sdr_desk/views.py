from __future__ import annotations

from django.contrib.auth.decorators import login_not_required, permission_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from django.contrib import messages
from django.views.decorators.http import require_POST

from inbound import selectors
from inbound.models import Lead
from sdr_desk.board import board_sections, latest_seq, viewer_for
from sdr_desk.models import CallOutcome, LeadAssignment, Touch, TouchChannel
from sdr_desk.ownership import OwnershipError, lead_claim
from sdr_desk.touches import touch_log


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    # Reps and managers live on the board; everyone else starts at the leads list.
    return redirect("board" if request.user.has_perm("inbound.view_lead") else "lead-list")


@require_GET
@permission_required("inbound.view_lead", raise_exception=True)
def board(request: HttpRequest) -> HttpResponse:
    """The SDR's home: hot leads first by SLA time left, then their open leads; managers see their queues."""
    viewer = viewer_for(request.user)
    seq = latest_seq()  # before the query: a change during rendering is caught up by the socket
    sections = board_sections(viewer)
    return render(request, "sdr_desk/board.html", {
        "seq": seq, "sections": sections, "is_manager": bool(viewer.managed_team_ids),
    })


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
    lead = get_object_or_404(
        Lead.objects.select_related("source", "account", "score", "assignment__owner", "assignment__team"), pk=pk)
    return render(request, "sdr_desk/lead_detail.html", _lead_context(request, lead))


def _lead_context(request: HttpRequest, lead: Lead, **extra: object) -> dict[str, object]:
    assignment = getattr(lead, "assignment", None)
    return {
        "lead": lead,
        "score": getattr(lead, "score", None),
        "assignment": assignment,
        "is_owner": bool(assignment and assignment.owner_id == request.user.pk),
        "touches": list(Touch.objects.filter(lead=lead).select_related("rep")[:20]),
        "timeline": selectors.lead_timeline(lead),
        "activities": selectors.lead_activities(lead),
        "channels": TouchChannel.choices,
        "outcomes": CallOutcome.choices,
        **extra,
    }


@require_POST
@permission_required("inbound.view_lead", raise_exception=True)
def lead_claim_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    try:
        lead_claim(lead.pk, user=request.user)
        messages.success(request, "It's yours: call now, the clock is running.")
    except OwnershipError as error:
        messages.error(request, error.message)
        if error.status == 403:
            return HttpResponse(error.message, status=403)
    return redirect("lead-detail", pk=lead.pk)


@require_POST
@permission_required("inbound.view_lead", raise_exception=True)
def lead_touch_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    try:
        touch_log(lead.pk, rep=request.user, channel=request.POST.get("channel", ""),
                  outcome=request.POST.get("outcome", ""), notes=request.POST.get("notes", ""))
    except OwnershipError as error:
        if error.status == 403:
            return HttpResponse(error.message, status=403)
        lead = Lead.objects.select_related("source", "account", "score", "assignment__owner",
                                           "assignment__team").get(pk=pk)
        return render(request, "sdr_desk/lead_detail.html",
                      _lead_context(request, lead, touch_errors=getattr(error, "errors", {}), touch_form=request.POST),
                      status=400)
    messages.success(request, "Touch logged.")
    return redirect("lead-detail", pk=lead.pk)
