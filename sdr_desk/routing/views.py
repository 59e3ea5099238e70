"""The manager's desk pages: routing rules with a tester, the teams, and one team's settings, reps and queue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from inbound.models import Account, FormType, Lead
from scoring.models import Tier
from sdr_desk.navigation import posted_next, see_other
from sdr_desk.routing.engine import Decision, route_decide, rules_forget, rules_load
from sdr_desk.routing.forms import (
    BaseRepFormSet,
    BaseRoutingRuleFormSet,
    RepFormSet,
    RoutingRuleFormSet,
    SampleLeadForm,
    TeamSettingsForm,
    user_label,
)
from sdr_desk.routing.models import LeadAssignment, LeadState, Rep, RepStatus, Team
from sdr_desk.routing.ownership import FieldsInvalid, NotAllowed, lead_assign, leads_assign, reps_to_hand_to
from sdr_desk.routing.queue import PAGE_SIZE as QUEUE_PAGE_SIZE
from sdr_desk.routing.queue import SORTS as QUEUE_SORTS
from sdr_desk.routing.queue import UNOWNED_STATES, QueueFilters, managed_teams, queue_leads

SAVE, TEST = "save", "test"
SETTINGS, REPS = "settings", "reps"
# Saving the rules page may add, change and delete rules in one go.
RULE_SAVE_PERMISSIONS = ["routing.change_routingrule", "routing.add_routingrule", "routing.delete_routingrule"]
# Leads nobody took: the team queue and the escalations, both the manager's to hand out.
MANAGER_QUEUE_STATES = [LeadState.QUEUED, LeadState.ESCALATED]
QUEUE_LIMIT = 100


@cache
def _time_zones() -> list[str]:
    return sorted(available_timezones())


# --- routing rules and the tester ---------------------------------------------------------


@dataclass
class TesterResult:
    """What the tester found for one sample lead; nothing of it is stored."""

    decision: Decision
    at: datetime
    domain: str
    account: Account | None
    facts: list[str] = field(default_factory=list)
    not_tried: list[str] = field(default_factory=list)

    @property
    def trace(self) -> dict[str, Any]:
        return self.decision.trace

    @property
    def state_label(self) -> str:
        return LeadState(self.decision.state).label

    @property
    def summary(self) -> str:
        """The one line that says why: the result, or the step that settled it before the team stage."""
        trace = self.decision.trace
        return trace.get("result") or trace.get("picked") or trace.get("account_owner") or ""

    @property
    def rep_label(self) -> str:
        return user_label(self.decision.rep) if self.decision.rep is not None else ""


@require_http_methods(["GET", "POST"])
@permission_required("routing.change_routingrule", raise_exception=True)
def routing_page(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _routing_render(request, RoutingRuleFormSet(prefix="rules"), SampleLeadForm(prefix="sample"))
    action = request.POST.get("action")
    if action == TEST:
        sample = SampleLeadForm(request.POST, prefix="sample")
        if not sample.is_valid():
            return _routing_render(request, RoutingRuleFormSet(prefix="rules"), sample, status=400,
                                   problem="the sample lead has problems, marked below.")
        return _routing_render(request, RoutingRuleFormSet(prefix="rules"), sample, tested=_tester_run(sample))
    if action != SAVE:
        return _routing_render(request, RoutingRuleFormSet(prefix="rules"), SampleLeadForm(prefix="sample"),
                               status=400, problem="choose Save or Test.")
    if not request.user.has_perms(RULE_SAVE_PERMISSIONS):
        raise PermissionDenied
    rules = RoutingRuleFormSet(request.POST, prefix="rules")
    if not rules.is_valid():
        return _routing_render(request, rules, SampleLeadForm(prefix="sample"), status=400)
    with transaction.atomic():  # every rule or none: a half-saved order would route leads by accident
        rules.save()
    rules_forget()
    messages.success(request, "Routing rules saved; new leads follow them from now on.")
    return see_other(reverse("routing-rules"))


def _tester_run(sample: SampleLeadForm) -> TesterResult:
    """Route the sample lead with the live decision function; it reads and writes nothing."""
    lead, account = sample.lead()
    at = sample.cleaned_data["at"] or timezone.now()
    compiled = rules_load()
    decision = route_decide(lead, now=at, rules=compiled)
    tried = len(decision.trace.get("rules", []))
    # The first match wins, so rules after it were never looked at; say so rather than hide them.
    not_tried = [c.rule.name for c in compiled[tried:]] if decision.trace.get("rules") and \
        decision.trace["rules"][-1]["matched"] else []
    return TesterResult(decision=decision, at=at, domain=sample.cleaned_data["email_domain"], account=account,
                        facts=_facts_labels(decision.trace["facts"], sample), not_tried=not_tried)


def _facts_labels(facts: dict[str, Any], sample: SampleLeadForm) -> list[str]:
    """What routing saw, as short chips: the sample plus what the account filled in."""
    source = sample.cleaned_data["source"]
    labels = [
        facts["country"], facts["state"], facts["industry"],
        f"{facts['employee_count']} employees" if facts["employee_count"] is not None else "",
        f"source {source.name}" if source else "",
        FormType(facts["form_type"]).label if facts["form_type"] in FormType.values else "",
        Tier(facts["tier"]).label if facts["tier"] in Tier.values else facts["tier"],
        f"grade {facts['grade']}" if facts["grade"] else "",
        "hot" if facts["is_hot"] else "not hot",
    ]
    return [label for label in labels if label]


def _routing_render(request: HttpRequest, rules: BaseRoutingRuleFormSet, sample: SampleLeadForm, *,
                    tested: TesterResult | None = None, status: int = 200, problem: str = "") -> HttpResponse:
    context = {
        "rules": rules,
        "sample": sample,
        "tested": tested,
        "default_team": Team.objects.filter(is_default=True).first(),
        "has_errors": status == 400,
        "problem": problem,
        "error_count": rules.total_error_count() if rules.is_bound else 0,
    }
    return render(request, "routing/routing.html", context, status=status)


# --- teams ---------------------------------------------------------------------------------


def _count(queryset: QuerySet, **where: Any) -> Coalesce:
    """A per-team count as a subquery: joining reps and leads in one query would multiply the rows."""
    counted = queryset.filter(team=OuterRef("pk"), **where).order_by().values("team").annotate(n=Count("pk"))
    return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), 0)


def teams_with_counts() -> QuerySet[Team]:
    reps, leads = Rep.objects.all(), LeadAssignment.objects.all()
    return Team.objects.select_related("manager").annotate(
        reps_available=_count(reps, status=RepStatus.AVAILABLE),
        reps_away=_count(reps, status=RepStatus.AWAY),
        reps_offline=_count(reps, status=RepStatus.OFFLINE),
        leads_offered=_count(leads, state=LeadState.OFFERED),
        leads_queued=_count(leads, state=LeadState.QUEUED),
        leads_escalated=_count(leads, state=LeadState.ESCALATED),
    ).order_by("name")


@require_GET
@permission_required("routing.change_team", raise_exception=True)
def team_list(request: HttpRequest) -> HttpResponse:
    return render(request, "routing/team_list.html", {"teams": list(teams_with_counts())})


def _team_for_manager(request: HttpRequest, pk: int) -> Team:
    """The team, if this user runs it: a manager edits only their own teams."""
    team = get_object_or_404(Team.objects.select_related("manager"), pk=pk)
    if not (request.user.is_superuser or team.manager_id == request.user.pk):
        raise PermissionDenied
    return team


@require_http_methods(["GET", "POST"])
@permission_required("routing.change_team", raise_exception=True)
def team_page(request: HttpRequest, pk: int) -> HttpResponse:
    team = _team_for_manager(request, pk)
    settings_form = TeamSettingsForm(instance=team, prefix="team")
    reps = RepFormSet(team=team, prefix="reps")
    if request.method == "GET":
        return _team_render(request, team, settings_form, reps)
    action = request.POST.get("action")
    if action == SETTINGS:
        # A fresh copy: the form changes its instance while validating, and the page header shows the stored team.
        settings_form = TeamSettingsForm(request.POST, instance=Team.objects.get(pk=team.pk), prefix="team")
        if not settings_form.is_valid():
            return _team_render(request, team, settings_form, reps, status=400, problem_in="settings")
        with transaction.atomic():
            settings_form.save()
        messages.success(request, f"{team.name}: settings saved.")
    elif action == REPS:
        if not request.user.has_perm("routing.change_rep"):
            raise PermissionDenied
        reps = RepFormSet(request.POST, team=team, prefix="reps")
        if not reps.is_valid():
            return _team_render(request, team, settings_form, reps, status=400, problem_in="reps")
        with transaction.atomic():
            reps.save()
        messages.success(request, f"{team.name}: reps saved.")
    else:
        return _team_render(request, team, settings_form, reps, status=400, problem_in="action")
    return see_other(reverse("team-settings", args=[team.pk]))


def team_queue(team: Team) -> QuerySet[LeadAssignment]:
    """The manager's queue: leads of the team nobody took (queued) or that ran out of time (escalated)."""
    return LeadAssignment.objects.filter(team=team, state__in=MANAGER_QUEUE_STATES) \
        .select_related("lead", "lead__account", "owner").order_by("-lead__created_at", "-lead_id")


def _team_render(request: HttpRequest, team: Team, settings_form: TeamSettingsForm, reps: BaseRepFormSet, *,
                 status: int = 200, problem_in: str = "") -> HttpResponse:
    queue = team_queue(team)
    waiting = list(queue[:QUEUE_LIMIT])
    for assignment in waiting:
        assignment.tier_label = Tier(assignment.tier).label if assignment.tier in Tier.values else assignment.tier
    context = {
        "team": team,
        "form": settings_form,
        "reps": reps,
        "queue": waiting,
        "queue_total": queue.count(),
        "queue_limit": QUEUE_LIMIT,
        "now": timezone.now(),
        "time_zones": _time_zones(),
        "problem_in": problem_in,
        "rep_error_count": reps.total_error_count() if reps.is_bound else 0,
        "settings_error_count": sum(len(e) for e in settings_form.errors.values()) if settings_form.is_bound else 0,
    }
    return render(request, "routing/team.html", context, status=status)


# --- the managers' queue and handing leads out --------------------------------------------


@require_GET
@permission_required("routing.change_leadassignment", raise_exception=True)
def queue_page(request: HttpRequest) -> HttpResponse:
    """Every unowned lead of the manager's teams as a compact table: sorted, filtered, handed out in bulk."""
    teams = managed_teams(request.user)  # a manager of no team yet sees an empty queue that says so
    team_ids = {team.pk for team in teams}
    filters = QueueFilters.of(request.GET, team_ids=team_ids)
    page = Paginator(queue_leads(team_ids, filters), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for assignment in rows:
        assignment.tier_label = Tier(assignment.tier).label if assignment.tier in Tier.values else assignment.tier
    sorts = [{"key": key, "label": label, "active": filters.sort.lstrip("-") == key,
              "descending": filters.sort == f"-{key}",
              "query": filters.query_string(sort=f"-{key}" if filters.sort == key else key, page="")}
             for key, (_, label) in QUEUE_SORTS.items()]
    return render(request, "routing/queue.html", {
        "teams": teams, "filters": filters, "page": page, "rows": rows, "sorts": sorts,
        "reps": reps_to_hand_to(request.user), "states": [(s, LeadState(s).label) for s in UNOWNED_STATES],
        "tiers": Tier.choices, "now": timezone.now(),
        "here": f"{reverse('queue')}?{filters.query_string(page=page.number if page.number > 1 else '')}",
        "page_query": filters.query_string(page=""),
    })


@require_POST
@permission_required("routing.change_leadassignment", raise_exception=True)
def queue_assign(request: HttpRequest) -> HttpResponse:
    """Hand the ticked leads of the queue to one rep, with one reason; each lead is assigned on its own."""
    back = posted_next(request) or reverse("queue")
    lead_ids = [int(value) for value in request.POST.getlist("lead") if value.isdigit()]
    rep = request.POST.get("rep", "")
    if not lead_ids:
        messages.error(request, "Nothing was assigned: tick the leads to hand out.")
        return see_other(back)
    try:
        done, refused = leads_assign(lead_ids, to=int(rep) if rep.isdigit() else 0, actor=request.user,
                                     reason=request.POST.get("reason", ""))
    except FieldsInvalid as error:
        messages.error(request, f"Nothing was assigned: {error.message}")
        return see_other(back)
    if done:
        name = next((str(r) for r in reps_to_hand_to(request.user) if r.user_id == int(rep)), "the rep")
        messages.success(request, f"Assigned {len(done)} lead{'s' if len(done) != 1 else ''} to {name}.")
    for lead_id, why in refused.items():
        messages.warning(request, f"Lead {lead_id} not assigned: {why}")
    return see_other(back)


@require_POST
@permission_required("routing.change_leadassignment", raise_exception=True)
def lead_assign_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign or reassign one lead from its page (the routing panel) or an escalation."""
    get_object_or_404(Lead, pk=pk)
    back = posted_next(request) or reverse("lead-detail", args=[pk])
    rep = request.POST.get("rep", "")
    try:
        assignment = lead_assign(pk, to=int(rep) if rep.isdigit() else 0, actor=request.user,
                                 reason=request.POST.get("reason", ""))
    except NotAllowed as error:
        raise PermissionDenied(error.message) from None
    except FieldsInvalid as error:
        messages.error(request, f"Not assigned: {error.message}")
        return see_other(back)
    owner = assignment.owner
    messages.success(request, f"Assigned to {owner.get_full_name() or owner.get_username()}.")
    return see_other(back)
