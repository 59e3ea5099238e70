"""The lead page's disposition form."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from inbound.models import Lead
from sdr_desk.board.views import lead_rerender
from sdr_desk.dispositions.services import DispositionInvalid, lead_disposition
from sdr_desk.routing.ownership import OwnershipError


@require_POST
@permission_required("inbound.view_lead", raise_exception=True)
def lead_disposition_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the disposition from the lead page; errors by field beside the form, changing nothing."""
    lead = get_object_or_404(Lead, pk=pk)
    reengage_on: date | None = None
    raw_date = request.POST.get("reengage_on", "").strip()
    try:
        reengage_on = date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        return lead_rerender(request, pk, disposition_errors={"reengage_on": ["Give a date as YYYY-MM-DD."]},
                             disposition_form=request.POST)
    try:
        disposition = lead_disposition(lead.pk, user=request.user, code=request.POST.get("code", ""),
                                       reason=request.POST.get("reason", ""), note=request.POST.get("note", ""),
                                       reengage_on=reengage_on)
    except DispositionInvalid as error:
        return lead_rerender(request, pk, disposition_errors=error.errors, disposition_form=request.POST)
    except OwnershipError as error:
        if error.status == 403:
            return HttpResponse(error.message, status=403)
        messages.error(request, error.message)
        return redirect("lead-detail", pk=lead.pk)
    messages.success(request, f"Recorded: {disposition.code.name}. The lead has left the board.")
    return redirect("lead-detail", pk=lead.pk)
