"""The rep's pages: the live board (and a manager watching a rep's), the lead page and its actions."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from inbound import selectors
from inbound.models import Lead
from sdr_desk.board.lead_page import lead_timeline_with_touches, outcomes_hidden
from sdr_desk.board.live import board_sections, latest_seq, viewer_for, viewer_of_rep, watched_rep
from sdr_desk.board.models import BoardPreference
from sdr_desk.board.zones import viewer_zone
from sdr_desk.homes import has_board, home_of
from sdr_desk.navigation import posted_next
from sdr_desk.routing.business_hours import day_ends, zone_or_utc
from sdr_desk.routing.models import OWNED_OPEN, CallOutcome, LeadAssignment, LeadState, Rep, TouchChannel
from sdr_desk.routing.ownership import OwnershipError, lead_claim, may_claim
from sdr_desk.routing.queue import queue_summary
from sdr_desk.routing.touches import TouchInvalid, lead_next_step_set, touch_log

NO_ROLE = ("Your account has no role on the desk yet, so there is nothing here for you to open. "
           "Ask an admin to add you to SDR, AE, Manager or Marketing.")
NO_BOARD = ("The board is where SDRs and managers work the leads offered to their teams; you are neither a rep "
            "nor a team's manager, so it would be empty. The leads you may see are on your home page.")


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Each role's home, as the apps declare it (sdr_desk/homes.py): reps and managers on the board,
    everyone else on the lead list until a page made for their job takes over."""
    url_name = home_of(request.user)
    if url_name is None:
        raise PermissionDenied(NO_ROLE)
    return redirect(url_name)


@require_GET
@permission_required("inbound.view_lead", raise_exception=True)
def board(request: HttpRequest) -> HttpResponse:
    """The SDR's home: hot leads by SLA time left, what is due today, their open leads; managers see their queues."""
    if not has_board(request.user):
        # An AE or marketer would see an empty board with Claim buttons they may not use: say why, point home.
        raise PermissionDenied(NO_BOARD)
    viewer = viewer_for(request.user)
    seq = latest_seq()  # before the query: a change during rendering is caught up by the socket
    sections = board_sections(viewer, csrf_token=get_token(request))
    preference = BoardPreference.objects.filter(user=request.user).first()
    return render(request, "board/board.html", {
        "seq": seq, "sections": sections, "is_manager": bool(viewer.managed_team_ids),
        "sound": bool(preference and preference.sound), "ws_url": "/ws/board/",
        "team_boards": team_boards(request.user) if viewer.managed_team_ids else [],
        "queue": queue_summary(viewer.managed_team_ids) if viewer.managed_team_ids else None,
    })


@require_GET
@permission_required("inbound.view_lead", raise_exception=True)
def rep_board(request: HttpRequest, user_id: int) -> HttpResponse:
    """A rep's board as their manager watches it: live, exactly what the rep sees, from the onlooker's side."""
    if user_id == request.user.pk:
        return redirect("board")
    rep = watched_rep(request.user, user_id)
    if rep is None:
        raise Http404("No rep of a team you manage.")
    seq = latest_seq()
    return render(request, "board/board.html", {
        "seq": seq, "sections": board_sections(viewer_of_rep(rep), watching=True), "is_manager": False,
        "watched": rep,
        "ws_url": f"/ws/board/?rep={user_id}",
    })


def team_boards(manager: object) -> list[dict[str, object]]:
    """Each rep of the manager's teams with what is on their board: open, hot and untouched, due today."""
    reps = list(Rep.objects.filter(team__manager=manager).select_related("user", "team")
                .order_by("team__name", "user__username"))
    user_ids = [rep.user_id for rep in reps]
    counts = {row["owner_id"]: row for row in LeadAssignment.objects.filter(
        owner_id__in=user_ids, state__in=OWNED_OPEN).values("owner_id").annotate(
        open=Count("pk"), hot=Count("pk", filter=Q(is_hot=True, first_touch_at__isnull=True)))}
    now = timezone.now()
    next_steps = LeadAssignment.objects.filter(owner_id__in=user_ids, state__in=OWNED_OPEN,
                                               next_step_at__lt=now + timedelta(days=2)).values_list(
        "owner_id", "next_step_at")
    due: dict[int, int] = {}
    ends = {rep.user_id: day_ends(zone_or_utc(rep.time_zone), now) for rep in reps}
    for owner_id, at in next_steps:
        if at < ends[owner_id]:
            due[owner_id] = due.get(owner_id, 0) + 1
    return [{"rep": rep, "open": counts.get(rep.user_id, {}).get("open", 0),
             "hot": counts.get(rep.user_id, {}).get("hot", 0), "due": due.get(rep.user_id, 0)} for rep in reps]


@require_POST
@permission_required("inbound.view_lead", raise_exception=True)
def board_preferences(request: HttpRequest) -> HttpResponse:
    """The board's settings, kept per user: ``sound`` is "on" or "off"."""
    sound = request.POST.get("sound", "")
    if sound not in ("on", "off"):
        return HttpResponse('sound must be "on" or "off".', status=400, content_type="text/plain")
    BoardPreference.objects.update_or_create(user=request.user, defaults={"sound": sound == "on"})
    if request.headers.get("X-Requested-With") == "fetch" or request.htmx:
        return HttpResponse(status=204)
    messages.success(request, f"Sound {sound} for new hot leads.")
    return redirect("board")


@require_GET
@permission_required("inbound.view_lead", raise_exception=True)
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead page: the timeline as the spine; beside it the person, the company and the score explained."""
    lead = get_object_or_404(_page_leads(), pk=pk)
    return render(request, "board/lead_detail.html", _lead_context(request, lead, **_lead_actions(request, lead)))


def _lead_actions(request: HttpRequest, lead: Lead) -> dict[str, object]:
    """What the viewer may do on the lead page beyond reading it: Claim only for whom the claim would succeed."""
    assignment = getattr(lead, "assignment", None)
    claimable = bool(assignment and assignment.owner_id is None
                     and assignment.state in (LeadState.OFFERED, LeadState.QUEUED, LeadState.ESCALATED))
    return {"may_claim": claimable and may_claim(request.user, assignment)}


def _page_leads() -> QuerySet[Lead]:
    """Leads with what the lead page shows beside them, in one query."""
    return Lead.objects.select_related("source", "account", "score", "assignment__owner", "assignment__team")


def _viewer_zone(request: HttpRequest) -> ZoneInfo:
    """The viewer's zone (their rep profile's, else their browser's): forms take local times there."""
    return viewer_zone(request).zone


def _next_step_at_posted(request: HttpRequest) -> datetime | None:
    """The form's ``next_step_at`` ("2026-12-02T10:30", the rep's local time); None when empty.

    Not a time: the same field error the service gives for a bad one, so one path renders both.
    """
    value = request.POST.get("next_step_at", "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise TouchInvalid({"next_step_at": ["Enter a date and time, such as 2026-12-02 10:30."]}) from None
    return parsed.replace(tzinfo=_viewer_zone(request)) if timezone.is_naive(parsed) else parsed


@cache
def _lead_panels() -> tuple[str, ...]:
    """Templates other apps add to the lead page (``lead_panels`` on their AppConfig): the board imports none of them."""
    return tuple(panel for config in apps.get_app_configs() for panel in getattr(config, "lead_panels", ()))


def _lead_context(request: HttpRequest, lead: Lead, **extra: object) -> dict[str, object]:
    assignment = getattr(lead, "assignment", None)
    zone = _viewer_zone(request)
    return {
        "zone": zone.key,
        "next_step_min": timezone.now().astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
        "lead": lead,
        "score": getattr(lead, "score", None),
        "assignment": assignment,
        # The owner may work the lead while it is open; a closed (dispositioned) lead offers no touch actions.
        "is_owner": bool(assignment and assignment.owner_id == request.user.pk and assignment.state in OWNED_OPEN),
        "timeline": lead_timeline_with_touches(lead, hidden=outcomes_hidden(request.user, assignment)),
        "activities": selectors.lead_activities(lead),
        "channels": TouchChannel.choices,
        "outcomes": CallOutcome.choices,
        "lead_panels": _lead_panels(),
        **extra,
    }


@require_POST
@permission_required("inbound.view_lead", raise_exception=True)
def lead_claim_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Claim from the lead page or a board card (no JavaScript needed): the winner goes to the lead to call,
    a loser back to where they came from (``next``), told who took it."""
    lead = get_object_or_404(Lead, pk=pk)
    try:
        lead_claim(lead.pk, user=request.user)
        messages.success(request, "It's yours: call now, the clock is running.")
    except OwnershipError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, error.message)
        back = posted_next(request)
        if back:
            return redirect(back)
    return redirect("lead-detail", pk=lead.pk)


def lead_rerender(request: HttpRequest, pk: int, **extra: object) -> HttpResponse:
    """The lead page again with the form's errors beside it (400)."""
    lead = _page_leads().get(pk=pk)
    return render(request, "board/lead_detail.html",
                  _lead_context(request, lead, **_lead_actions(request, lead), **extra), status=400)


@require_POST
@permission_required("inbound.view_lead", raise_exception=True)
def lead_next_step_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Plan the owner's next step on the lead, or clear it (``clear``, or an empty time)."""
    lead = get_object_or_404(Lead, pk=pk)
    clear = request.POST.get("clear") == "1"
    try:
        at = None if clear else _next_step_at_posted(request)
        lead_next_step_set(lead.pk, rep=request.user, at=at, note="" if clear else request.POST.get("next_step", ""))
    except OwnershipError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        errors = getattr(error, "errors", {})
        return lead_rerender(request, pk, next_step_errors=errors, next_step_form=request.POST)
    messages.success(request, "Next step planned: it shows under Due on your board that day." if at
                     else "Next step cleared.")
    return redirect("lead-detail", pk=lead.pk)


@require_POST
@permission_required("inbound.view_lead", raise_exception=True)
def lead_touch_view(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead, pk=pk)
    try:
        touch_log(lead.pk, rep=request.user, channel=request.POST.get("channel", ""),
                  outcome=request.POST.get("outcome", ""), notes=request.POST.get("notes", ""),
                  next_step_at=_next_step_at_posted(request), next_step=request.POST.get("next_step", ""))
    except OwnershipError as error:
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        errors = getattr(error, "errors", {})
        return lead_rerender(request, pk, touch_errors=errors, touch_form=request.POST)
    messages.success(request, "Touch logged.")
    return redirect("lead-detail", pk=lead.pk)
