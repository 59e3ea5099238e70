"""The manager's scoring page: edit every rule, preview the draft on recent leads, publish a version."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_q.tasks import async_task

from inbound.models import LeadStatus
from scoring.forms import RuleForms
from scoring.models import Grade, RuleFailure, RuleSetVersion, Tier
from scoring.services import ruleset_publish, whatif_preview

PREVIEW, PUBLISH = "preview", "publish"
WHATIF_DAYS = 90
RESCORE_TASK = "scoring.tasks.scores_rescore_after_publish"

# Publishing writes every kind of rule, so it needs every right the page's forms use.
PUBLISH_PERMISSIONS = [
    "scoring.change_fitrule", "scoring.add_fitrule", "scoring.delete_fitrule", "scoring.change_intentrule",
    "scoring.change_scoringsettings", "scoring.change_hotleadcriteria", "scoring.add_hotleadcriteria",
    "scoring.delete_hotleadcriteria",
]
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.WORKING)
OUTCOME_LABELS = [
    (LeadStatus.QUALIFIED, "Qualified"),
    (LeadStatus.DISQUALIFIED, "Disqualified"),
    (LeadStatus.HANDED_OFF, "Handed off"),
    ("open", "Still open"),
]


@require_http_methods(["GET", "POST"])
@permission_required("scoring.change_fitrule", raise_exception=True)
def rules_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _render(request, RuleForms.build())
    forms = RuleForms.build(request.POST)
    action = request.POST.get("action")
    if action not in (PREVIEW, PUBLISH):
        return _render(request, forms, status=400, problem="Choose Preview or Publish.")
    if action == PUBLISH and not request.user.has_perms(PUBLISH_PERMISSIONS):
        raise PermissionDenied
    if not forms.is_valid():
        return _render(request, forms, status=400)
    if action == PREVIEW:
        # Runs the draft on recent leads in memory; nothing is written.
        preview = whatif_preview(forms.draft_snapshot(), days=WHATIF_DAYS)
        return _render(request, forms, preview=preview)
    version = _publish(forms, request)
    messages.success(request, f"Published rules v{version.number}; rescoring open leads")
    response = HttpResponseRedirect(reverse("scoring-rules"))
    response.status_code = 303  # a POST answered with "see the page", never re-posted on reload
    return response


def _publish(forms: RuleForms, request: HttpRequest) -> RuleSetVersion:
    """Save the forms and freeze them as the next version, all or nothing; rescoring follows the commit."""
    with transaction.atomic():
        forms.save()
        version = ruleset_publish(user=request.user, note=forms.note.cleaned_data["note"])
        # robust: the rules are saved either way; if the queue is down, the nightly decay run
        # rescores every open lead under the new version anyway.
        transaction.on_commit(lambda: async_task(RESCORE_TASK, q_options={"group": "scoring-rules"}), robust=True)
    return version


def _render(
    request: HttpRequest,
    forms: RuleForms,
    *,
    preview: dict[str, Any] | None = None,
    status: int = 200,
    problem: str = "",
) -> HttpResponse:
    versions = list(RuleSetVersion.objects.select_related("created_by").defer("snapshot")[:10])
    context = {
        "forms": forms,
        "versions": versions,
        "current_version": versions[0] if versions else None,
        "failures": list(RuleFailure.objects.all()[:50]),
        "preview": preview,
        "comparison": _comparison(preview) if preview else None,
        "whatif_days": WHATIF_DAYS,
        "problem": problem,
        "has_errors": status == 400,
    }
    return render(request, "scoring/rules.html", context, status=status)


def _comparison(preview: dict[str, Any]) -> dict[str, Any]:
    """The what-if for the page: the hot count, and sections of rows with current and draft counts and bar widths."""
    total = preview["leads"] or 1
    current, draft = preview["current"], preview["draft"]

    def row(label: str, now: int, then: int) -> dict[str, Any]:
        delta = then - now
        return {"label": label, "current": now, "draft": then, "delta": delta,
                "delta_text": f"+{delta}" if delta > 0 else f"−{-delta}" if delta < 0 else "·",
                "current_pct": round(100 * now / total), "draft_pct": round(100 * then / total)}

    def outcomes(side: dict[str, Any], heat: str) -> dict[str, int]:
        by_status = side["outcomes"].get(heat, {})
        counts = {status: by_status.get(status, 0) for status, _ in OUTCOME_LABELS if status != "open"}
        counts["open"] = sum(by_status.get(status, 0) for status in OPEN_STATUSES)
        return counts

    sections = [
        {"title": "Grade", "rows": [row(f"Grade {g}", current["grades"][g], draft["grades"][g]) for g in Grade.values]},
        {"title": "Tier", "rows": [row(label, current["tiers"][t], draft["tiers"][t]) for t, label in Tier.choices]},
    ]
    for heat, title in (("hot", "Hot leads became"), ("not_hot", "The rest became")):
        now, then = outcomes(current, heat), outcomes(draft, heat)
        sections.append({"title": title, "rows": [row(label, now[s], then[s]) for s, label in OUTCOME_LABELS]})
    return {"hot": row("Would have been hot", current["hot"], draft["hot"]), "sections": sections}
