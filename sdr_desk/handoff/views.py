"""The lead page's handoff form, and the AE's inbox with its verdict and meeting actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from inbound.models import Lead
from sdr_desk.board.views import lead_rerender
from sdr_desk.board.zones import viewer_zone
from sdr_desk.handoff.models import Handoff, RejectionReason
from sdr_desk.handoff.selectors import inbox, lead_zones_set
from sdr_desk.handoff.services import (
    HandoffInvalid,
    handoff_cancel,
    handoff_reassign,
    handoff_verdict,
    lead_handoff,
    meeting_outcome,
)
from sdr_desk.homes import desk_roles
from sdr_desk.navigation import posted_next
from sdr_desk.roles import Role
from sdr_desk.routing.models import Rep, RepRole, Team
from sdr_desk.routing.ownership import FieldsInvalid, OwnershipError

INBOX_ROLES = frozenset({Role.AE, Role.MANAGER, Role.ADMIN})


def _local_time_posted(request: HttpRequest, name: str) -> datetime | None:
    """A ``datetime-local`` field, read in the viewer's zone; not a time: the service's own kind of field error."""
    raw = request.POST.get(name, "").strip()
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise HandoffInvalid({name: ["Enter a date and time, such as 2026-12-02 10:30."]}) from None
    return parsed.replace(tzinfo=viewer_zone(request).zone) if timezone.is_naive(parsed) else parsed


@require_POST
@permission_required("handoff.add_handoff", raise_exception=True)
def lead_handoff_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand the lead off from its page; errors by field beside the form, changing nothing."""
    lead = get_object_or_404(Lead, pk=pk)
    ae = request.POST.get("ae", "").strip()
    try:
        if ae and not ae.isdigit():
            raise HandoffInvalid({"ae": ["Choose an AE from the list, or let the desk route it."]})
        handoff = lead_handoff(lead.pk, sdr=request.user, ae=int(ae) if ae else None,
                               note=request.POST.get("note", ""), meeting_at=_local_time_posted(request, "meeting_at"))
    except FieldsInvalid as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        return lead_rerender(request, pk, handoff_errors=error.errors, handoff_form=request.POST)
    except OwnershipError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, error.message)
        return redirect("lead-detail", pk=lead.pk)
    messages.success(request, f"Handed off to {handoff.ae.get_full_name() or handoff.ae.get_username()}.")
    return redirect("lead-detail", pk=lead.pk)


def _inbox_allowed(request: HttpRequest) -> None:
    if not (desk_roles(request.user) & INBOX_ROLES and request.user.has_perm("handoff.view_handoff")):
        raise PermissionDenied("The handoff inbox is for AEs and their managers.")


@require_GET
def handoff_inbox(request: HttpRequest) -> HttpResponse:
    """The AE's home: pending handoffs first with the time left to accept, then the rest; managers see their teams'."""
    _inbox_allowed(request)
    handoffs = lead_zones_set(list(inbox(request.user)[:200]))
    # The AEs a manager may move a pending handoff to (read once, only when one of them is theirs to move).
    reassignable = any(h.status == "pending" and h.ae_team is not None and h.ae_team.manager_id == request.user.pk
                       for h in handoffs) or (request.user.is_superuser and handoffs)
    aes = (list(Rep.objects.filter(role=RepRole.AE, team__isnull=False).select_related("user", "team")
                .order_by("team__name", "user__first_name", "user__username")) if reassignable else [])
    return render(request, "handoff/inbox.html", {
        "handoffs": handoffs, "reasons": RejectionReason.objects.filter(is_active=True), "aes": aes,
        "now": timezone.now(), "zone": viewer_zone(request).key,
        "min": timezone.now().astimezone(viewer_zone(request).zone).strftime("%Y-%m-%dT%H:%M"),
    })


def _back(request: HttpRequest, default: str) -> HttpResponse:
    return redirect(posted_next(request) or default)


def _inbox_action(request: HttpRequest, action, done: str,  # noqa: ANN001
                  back: str = "handoff-inbox") -> HttpResponse:
    try:
        action()
    except OwnershipError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        for field, errors in getattr(error, "errors", {}).items():
            messages.error(request, f"{field.replace('_', ' ').capitalize()}: {' '.join(errors)}")
        if not getattr(error, "errors", None):
            messages.error(request, error.message)
        return _back(request, back)
    messages.success(request, done)
    return _back(request, back)


@require_POST
@permission_required("handoff.change_handoff", raise_exception=True)
def handoff_verdict_view(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Handoff, pk=pk)
    accept = request.POST.get("verdict") == "accept"
    return _inbox_action(request, lambda: handoff_verdict(pk, ae=request.user, accept=accept,
                                                          reason=request.POST.get("reason", "")),
                         "Accepted: the lead is yours." if accept else "Rejected: the lead is back with its SDR.")


@require_POST
@permission_required("handoff.view_handoff", raise_exception=True)
def handoff_meeting_view(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Handoff, pk=pk)
    outcome = request.POST.get("outcome", "")
    return _inbox_action(request, lambda: meeting_outcome(pk, user=request.user, outcome=outcome,
                                                          new_time=_local_time_posted(request, "new_time")),
                         f"Meeting recorded: {outcome.replace('_', '-')}.")


@require_POST
@permission_required("handoff.view_handoff", raise_exception=True)
def handoff_reassign_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The AE team's manager moves a pending handoff to another AE (the service says who may)."""
    get_object_or_404(Handoff, pk=pk)
    ae = request.POST.get("ae", "").strip()

    def reassign() -> Handoff:
        if not ae.isdigit():
            raise HandoffInvalid({"ae": ["Choose an AE of an AE team."]})
        return handoff_reassign(pk, user=request.user, ae=int(ae), why=request.POST.get("why", ""))

    return _inbox_action(request, reassign, "Reassigned: the new AE has it, with a fresh deadline.")


@require_POST
@permission_required("handoff.view_handoff", raise_exception=True)
def handoff_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The SDR (or their manager) withdraws a pending handoff; the lead is back on their board, qualified."""
    handoff = get_object_or_404(Handoff, pk=pk)
    return _inbox_action(request, lambda: handoff_cancel(pk, user=request.user, reason=request.POST.get("reason", "")),
                         "Handoff cancelled: the lead is back on the SDR's board, still qualified.",
                         back=reverse("lead-detail", args=[handoff.lead_id]))


# --- the managers' handoff settings: territories, SLAs, fallbacks ---------------------------------------------


def _settings_render(request: HttpRequest, *, bound: Any = None, status: int = 200) -> HttpResponse:
    from sdr_desk.handoff.routing import ae_teams
    from sdr_desk.handoff.territories import settings_form, teams_managed

    ae_ids = {team.pk for team in ae_teams()}
    rows = []
    for team in teams_managed(request.user):
        is_ae = team.pk in ae_ids
        form = bound if bound is not None and bound.instance.team_id == team.pk else settings_form(team, is_ae=is_ae)
        rows.append({"team": team, "is_ae": is_ae, "form": form})
    return render(request, "handoff/settings.html", {
        "ae_rows": [r for r in rows if r["is_ae"]], "sdr_rows": [r for r in rows if not r["is_ae"]],
    }, status=status)


@require_GET
@permission_required("handoff.change_handoffsettings", raise_exception=True)
def handoff_settings(request: HttpRequest) -> HttpResponse:
    """Per AE team its territory, order and acceptance SLA; per SDR team its fallback AE team (the teams one manages)."""
    return _settings_render(request)


@require_POST
@permission_required("handoff.change_handoffsettings", raise_exception=True)
def handoff_settings_save(request: HttpRequest, team_id: int) -> HttpResponse:
    """Save one team's settings; field errors come back beside that team's form (400), saving nothing."""
    from sdr_desk.handoff.territories import territory_save

    get_object_or_404(Team, pk=team_id)
    try:
        saved, form = territory_save(team_id, user=request.user, data=request.POST)
    except OwnershipError as error:
        raise PermissionDenied(error.message) from error
    if saved is None:
        return _settings_render(request, bound=form, status=400)
    messages.success(request, f"{saved.team.name}: handoff settings saved (version {saved.version}).")
    return redirect("handoff-settings")
