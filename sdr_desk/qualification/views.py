"""The lead page's checklist answers (htmx, saved as the rep types) and the manager's checklist page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from inbound.models import Lead
from sdr_desk.navigation import see_other
from sdr_desk.qualification import services
from sdr_desk.qualification.services import FieldsInvalid, NotAllowed
from sdr_desk.routing.models import Team


@require_POST
@permission_required("qualification.change_answer", raise_exception=True)
def answer_view(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    """Save one answer. htmx gets the item's status line back (saved, or the error, 400); a plain form the page."""
    get_object_or_404(Lead, pk=pk)
    try:
        answer = services.answer_record(pk, user=request.user, item=item_id, text=request.POST.get("text", ""))
    except NotAllowed as error:
        raise PermissionDenied(error.message) from None
    except FieldsInvalid as error:
        if request.htmx:
            return render(request, "qualification/_answer_status.html", {"errors": error.errors}, status=400)
        messages.error(request, f"Not saved: {error.message}")
        return see_other(reverse("lead-detail", args=[pk]))
    if request.htmx:
        return render(request, "qualification/_answer_status.html", {"answer": answer, "saved": True})
    messages.success(request, "Answer saved.")
    return see_other(reverse("lead-detail", args=[pk]) + "#qualification")


ACTIONS = ("add", "save", "up", "down", "remove")


@require_http_methods(["GET", "POST"])
@permission_required("qualification.change_checklistitem", raise_exception=True)
def checklist_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The team's checklist as its manager shapes it: add, rename, require, reorder, retire."""
    team = get_object_or_404(Team.objects.select_related("manager"), pk=pk)
    if not services.may_edit_checklist(request.user, team):
        raise PermissionDenied("Only the team's manager shapes its checklist.")
    errors: dict[str, list[str]] = {}
    failed_item = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        item_id = request.POST.get("item", "")
        item = int(item_id) if item_id.isdigit() else 0
        fields = {"label": request.POST.get("label", ""), "help_text": request.POST.get("help_text", ""),
                  "required": request.POST.get("required") == "on"}
        try:
            if action == "add":
                added = services.item_add(team, user=request.user, **fields)
                messages.success(request, f"“{added.label}” added.")
            elif action == "save":
                saved = services.item_update(team, item, user=request.user, **fields)
                messages.success(request, f"“{saved.label}” saved.")
            elif action in ("up", "down"):
                services.item_move(team, item, user=request.user, up=action == "up")
            elif action == "remove":
                removed = services.item_remove(team, item, user=request.user)
                messages.success(request, f"“{removed.label}” removed; its answers stay in the leads' history.")
            else:
                errors = {"action": [f"Choose one of: {', '.join(ACTIONS)}."]}
        except FieldsInvalid as error:
            errors, failed_item = error.errors, (item if action == "save" else None)
        if not errors:
            return see_other(reverse("team-checklist", args=[team.pk]))
    return render(request, "qualification/checklist.html", {
        "team": team, "items": services.checklist(team.pk), "errors": errors, "failed_item": failed_item,
        "form": request.POST if errors else {},
    }, status=400 if errors else 200)
