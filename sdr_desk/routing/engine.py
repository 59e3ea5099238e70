"""Routing: which team or rep gets a lead, and why.

``route_decide`` reads and explains (the manager's tester calls it with a
sample lead and saves nothing); ``lead_route`` decides and acts, picking the
rep by weighted round robin under a lock on the team's rep rows, so two leads
routed at once never take the same slot.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery, TextField
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from inbound.models import Lead
from scoring.models import REGIONS
from sdr_desk.routing.business_hours import Calendar, is_open
from sdr_desk.routing.clock import clock_start, team_calendar
from sdr_desk.routing.models import (
    OWNED_OPEN,
    AccountOwner,
    AfterHours,
    LeadAssignment,
    LeadState,
    Rep,
    RepStatus,
    RoutingRule,
    Team,
    Visibility,
)
from sdr_desk.routing.ownership import assignment_locked, lead_owner_change


@dataclass(frozen=True)
class RoutingFacts:
    """What routing rules may look at: the lead, its account and its score."""

    country: str = ""
    state: str = ""
    industry: str = ""
    employee_count: int | None = None
    source_id: int | None = None
    form_type: str = ""
    tier: str = "none"
    grade: str = ""
    is_hot: bool = False
    account_id: int | None = None


def facts_for(lead: Lead) -> RoutingFacts:
    score = getattr(lead, "score", None)
    account = lead.account
    return RoutingFacts(
        country=lead.country or (account.country if account else ""),
        state=lead.state,
        industry=lead.industry or (account.industry if account else ""),
        employee_count=lead.employee_count if lead.employee_count is not None else (
            account.employee_count if account else None),
        source_id=lead.source_id,
        form_type=lead.last_form_type,
        tier=score.tier if score else "none",
        grade=score.grade if score else "",
        is_hot=bool(score and score.is_hot),
        account_id=lead.account_id,
    )


@dataclass
class CompiledRule:
    rule: RoutingRule
    countries: frozenset[str]
    source_ids: frozenset[int]

    def check(self, facts: RoutingFacts) -> tuple[bool, str]:
        """(matched, the first condition that failed or 'all conditions hold')."""
        r = self.rule
        fold = str.casefold
        if self.countries and facts.country not in self.countries:
            return False, f"country {facts.country or '(none)'} not in {', '.join(r.countries)}"
        if r.states and fold(facts.state) not in {fold(s) for s in r.states}:
            return False, f"state {facts.state or '(none)'} not in {', '.join(r.states)}"
        if r.industries and fold(facts.industry) not in {fold(i) for i in r.industries}:
            return False, f"industry {facts.industry or '(none)'} not in {', '.join(r.industries)}"
        if r.employee_min is not None or r.employee_max is not None:
            count = facts.employee_count
            if count is None or (r.employee_min is not None and count < r.employee_min) or (
                    r.employee_max is not None and count > r.employee_max):
                return False, f"{count if count is not None else 'unknown'} employees outside " \
                              f"{r.employee_min or 0}-{r.employee_max or '∞'}"
        if self.source_ids and facts.source_id not in self.source_ids:
            return False, "source not in the rule's sources"
        if r.form_types and facts.form_type not in r.form_types:
            return False, f"form type {facts.form_type or '(none)'} not in {', '.join(r.form_types)}"
        if r.tiers and facts.tier not in r.tiers:
            return False, f"tier {facts.tier} not in {', '.join(r.tiers)}"
        if r.grades and facts.grade not in r.grades:
            return False, f"grade {facts.grade or '(none)'} not in {', '.join(r.grades)}"
        return True, "all conditions hold"


def rules_load() -> list[CompiledRule]:
    compiled = []
    for rule in RoutingRule.objects.filter(is_active=True).select_related("target_team", "target_rep") \
            .prefetch_related("sources"):
        countries: set[str] = set()
        for value in rule.countries:
            countries.update(REGIONS.get(value.upper(), [value.upper()]))
        compiled.append(CompiledRule(rule=rule, countries=frozenset(countries),
                                     source_ids=frozenset(s.pk for s in rule.sources.all())))
    return compiled


_rules_cache: tuple[float, list[CompiledRule]] | None = None


def rules_current() -> list[CompiledRule]:
    """The active rules, compiled, trusted for ROUTING_RULES_TTL_SECONDS per process.

    Reloading a hundred rules (and their JSON lists) was a quarter of every
    routing decision; a manager's edit reaches every worker within the TTL.
    """
    global _rules_cache
    ttl = getattr(settings, "ROUTING_RULES_TTL_SECONDS", 2)
    now = time.monotonic()
    if _rules_cache is None or now - _rules_cache[0] >= ttl:
        _rules_cache = (now, rules_load())
    return _rules_cache[1]


def rules_forget() -> None:
    """This process sees a rules change at once (the manager's save calls this)."""
    global _rules_cache
    _rules_cache = None


@dataclass
class Decision:
    team: Team | None
    rep: AbstractBaseUser | None
    state: str
    trace: dict[str, Any] = field(default_factory=dict)
    calendar: Calendar | None = None  # the team's business hours, when routing already read them


@dataclass(frozen=True)
class Candidate:
    """A rep as routing weighs them, read as plain values: a claim team may have hundreds."""

    pk: int
    user_id: int
    username: str
    status: str
    time_zone: str
    hours_json: str  # the working hours as stored: reps that share a calendar share this text
    capacity: int
    weight: int
    routed_count: int
    last_routed_at: datetime | None
    load: int  # open hot leads held now

    @classmethod
    def of(cls, rep: Rep, *, load: int) -> Candidate:
        return cls(pk=rep.pk, user_id=rep.user_id, username=rep.user.get_username(), status=rep.status,
                   time_zone=rep.time_zone, hours_json=json.dumps(rep.working_hours, sort_keys=True),
                   capacity=rep.capacity,
                   weight=rep.weight, routed_count=rep.routed_count, last_routed_at=rep.last_routed_at, load=load)


def _open_hot_loads(user_ids: list[int]) -> dict[int, int]:
    return dict(LeadAssignment.objects.filter(owner_id__in=user_ids, is_hot=True, state__in=OWNED_OPEN)
                .values_list("owner_id").annotate(n=Count("pk")))


def team_candidates(team: Team) -> list[Candidate]:
    """Every rep of the team with their load, in one query and without building a model per rep.

    The hours come as text, so a team of hundreds sharing a calendar costs one JSON parse, not hundreds.
    """
    load = (LeadAssignment.objects.filter(owner_id=OuterRef("user_id"), is_hot=True, state__in=OWNED_OPEN)
            .order_by().values("owner_id").annotate(n=Count("pk")).values("n"))
    fields = ("pk", "user_id", "user__username", "status", "time_zone", "hours_json", "capacity", "weight",
              "routed_count", "last_routed_at", "load")
    rows = (Rep.objects.filter(team=team)
            .annotate(load=Coalesce(Subquery(load), 0), hours_json=Cast("working_hours", TextField()))
            .order_by("user__username").values_list(*fields))
    return [Candidate(pk, user_id, username, status, zone, hours, capacity, weight, routed, last, n)
            for pk, user_id, username, status, zone, hours, capacity, weight, routed, last, n in rows]


@dataclass
class Judged:
    """The team's reps as routing sees them now: who may take a lead, who is only full, who is out and why."""

    eligible: list[Candidate]  # available, in working hours, under capacity
    full: list[Candidate]  # available and in hours, but at capacity: weighed, never a reason to hide a lead
    not_eligible: list[dict[str, str]]  # {rep, why}, the full ones included, for the explanation


def judge_all(candidates: Iterable[Candidate], *, now: datetime) -> Judged:
    """Sort the reps into eligible, full (capacity reached) and out (away, offline, outside hours, capacity 0)."""
    judged = Judged(eligible=[], full=[], not_eligible=[])
    # Reps of a team mostly share hours: decide "open now" once per distinct calendar.
    open_now: dict[tuple[str, str], bool] = {}

    def in_hours(c: Candidate) -> bool:
        key = (c.time_zone, c.hours_json)
        if key not in open_now:
            hours = json.loads(c.hours_json)
            open_now[key] = is_open(Calendar.from_config(time_zone=c.time_zone, hours=hours), now)
        return open_now[key]

    for c in candidates:
        if c.status != RepStatus.AVAILABLE:
            judged.not_eligible.append({"rep": c.username, "why": RepStatus(c.status).label.lower()})
        elif not in_hours(c):
            judged.not_eligible.append({"rep": c.username, "why": "outside working hours"})
        elif c.load >= c.capacity:
            judged.not_eligible.append({"rep": c.username, "why": f"at capacity ({c.load}/{c.capacity})"})
            if c.capacity > 0:  # capacity 0: the rep takes no hot leads at all
                judged.full.append(c)
        else:
            judged.eligible.append(c)
    return judged


def judge(candidates: Iterable[Candidate], *, now: datetime) -> tuple[list[Candidate], list[dict[str, str]]]:
    """(eligible, [{rep, why not}]): available, in working hours, under capacity."""
    judged = judge_all(candidates, now=now)
    return judged.eligible, judged.not_eligible


def least_loaded(full: Sequence[Candidate]) -> list[Candidate]:
    """Of reps who are all at capacity, those with the smallest share of it in use (ties: round robin decides)."""
    if not full:
        return []
    share = min(c.load / c.capacity for c in full)
    return [c for c in full if c.load / c.capacity == share]


def eligibility(reps: Iterable[Rep], *, now: datetime) -> tuple[list[Rep], list[dict[str, str]]]:
    """(eligible reps, [{rep, why not}]) for reps already loaded (an account owner, a named rep)."""
    reps = list(reps)
    loads = _open_hot_loads([r.user_id for r in reps])
    by_pk = {rep.pk: rep for rep in reps}
    eligible, not_eligible = judge([Candidate.of(rep, load=loads.get(rep.user_id, 0)) for rep in reps], now=now)
    return [by_pk[c.pk] for c in eligible], not_eligible


class RoundRobinSlot(Protocol):
    pk: int
    weight: int
    routed_count: int
    last_routed_at: datetime | None


Slot = TypeVar("Slot", bound=RoundRobinSlot)


def weighted_pick(reps: Sequence[Slot]) -> Slot | None:
    """The rep furthest behind their share: fewest leads per unit of weight, then the longest wait."""
    if not reps:
        return None
    epoch = datetime.min.replace(tzinfo=timezone.get_current_timezone())
    return min(reps, key=lambda r: ((r.routed_count + 1) / r.weight, r.last_routed_at or epoch, r.pk))


def route_decide(lead: Lead, *, now: datetime | None = None, rules: list[CompiledRule] | None = None) -> Decision:
    """Which team (and, where the rules or the account say so, which rep) and why; writes nothing."""
    now = now or timezone.now()
    facts = facts_for(lead)
    trace: dict[str, Any] = {"at": now.isoformat(), "facts": facts.__dict__.copy(), "rules": []}

    if facts.account_id:
        owned = AccountOwner.objects.filter(account_id=facts.account_id).select_related("owner").first()
        if owned is not None:
            rep = Rep.objects.filter(user=owned.owner).select_related("user", "team").first()
            if rep is not None:
                eligible, why_not = eligibility([rep], now=now)
                if eligible:
                    trace["account_owner"] = f"{owned.owner.get_username()} owns the account"
                    return Decision(team=rep.team, rep=owned.owner, state=LeadState.ASSIGNED, trace=trace)
                trace["account_owner"] = f"{owned.owner.get_username()} owns the account but is {why_not[0]['why']}"

    team: Team | None = None
    target_rep = None
    for compiled in rules if rules is not None else rules_current():
        matched, why = compiled.check(facts)
        trace["rules"].append({"rule": compiled.rule.name, "matched": matched, "why": why})
        if matched:
            team = compiled.rule.target_team
            target_rep = compiled.rule.target_rep
            break
    if target_rep is not None:
        rep = Rep.objects.filter(user=target_rep).select_related("user", "team").first()
        eligible, why_not = eligibility([rep], now=now) if rep else ([], [{"why": "not a rep"}])
        if eligible:
            trace["picked"] = f"{target_rep.get_username()}, named by the rule"
            return Decision(team=rep.team, rep=target_rep, state=LeadState.ASSIGNED, trace=trace)
        team = rep.team if rep else None
        trace["target_rep"] = f"{target_rep.get_username()} is {why_not[0]['why']}; to their team"
    if team is None:
        team = Team.objects.filter(is_default=True).first()
        trace["default_team"] = team.name if team else None
    if team is None:
        trace["result"] = "no team: no rule matched and there is no default team"
        return Decision(team=None, rep=None, state=LeadState.QUEUED, trace=trace)

    calendar = team_calendar(team)
    if not is_open(calendar, now) and team.after_hours == AfterHours.FOLLOW_THE_SUN \
            and team.follow_the_sun_team_id:
        trace["after_hours"] = f"{team.name} is closed; follows the sun to {team.follow_the_sun_team.name}"
        team = team.follow_the_sun_team
        calendar = team_calendar(team)

    judged = judge_all(team_candidates(team), now=now)
    eligible = judged.eligible
    trace["team"] = team.name
    trace["eligible"] = [c.username for c in eligible]
    trace["not_eligible"] = judged.not_eligible
    if judged.full:
        trace["at_capacity"] = [c.username for c in judged.full]
    if not eligible and not judged.full:
        trace["result"] = "nobody eligible: the team queue"
        return Decision(team=team, rep=None, state=LeadState.QUEUED, trace=trace, calendar=calendar)
    if team.visibility == Visibility.CLAIM and facts.is_hot:
        # Capacity weighs who gets a lead; it never hides a hot one: a full team still sees the offer.
        trace["result"] = ("claim mode: offered to every eligible rep" if eligible else
                           "claim mode: every rep at capacity; offered to the team anyway")
        return Decision(team=team, rep=None, state=LeadState.OFFERED, trace=trace, calendar=calendar)
    pool = eligible or least_loaded(judged.full)
    trace["pool"] = [c.username for c in pool]
    pick = weighted_pick(pool)
    assert pick is not None
    trace["result"] = _pick_said(trace, pick.username, had=pick.routed_count, weight=pick.weight)
    return Decision(team=team, rep=get_user_model().objects.get(pk=pick.user_id), state=LeadState.ASSIGNED,
                    trace=trace, calendar=calendar)


def _pick_said(trace: dict[str, Any], username: str, *, had: int, weight: int) -> str:
    how = "round robin" if trace.get("eligible") else "every rep at capacity; round robin over the least loaded"
    return f"{how}: {username} (had {had}, weight {weight})"


def _round_robin_commit(decision: Decision, *, now: datetime) -> Decision:
    """Take the round-robin slot under a lock on the team's rep rows; re-decide if the pick changed meanwhile."""
    if decision.team is None or decision.rep is None or "round robin" not in decision.trace.get("result", ""):
        return decision
    locked = list(Rep.objects.select_for_update().filter(team=decision.team).select_related("user").order_by("pk"))
    pool_names = set(decision.trace.get("pool", decision.trace.get("eligible", [])))
    candidates = [r for r in locked if r.user.get_username() in pool_names]
    pick = weighted_pick(candidates)
    if pick is None:
        return decision
    pick.routed_count += 1
    pick.last_routed_at = now
    pick.save(update_fields=["routed_count", "last_routed_at"])
    decision.rep = pick.user
    decision.trace["result"] = _pick_said(decision.trace, pick.user.get_username(), had=pick.routed_count - 1,
                                          weight=pick.weight)
    return decision


@transaction.atomic(savepoint=False)  # nothing catches a failure half-way: no savepoint to pay for
def lead_route(lead_id: int, *, now: datetime | None = None, reason: str = "new lead") -> LeadAssignment:
    """Route the lead now and start its clock; the one path from 'arrived' to 'someone has it'."""
    now = now or timezone.now()
    assignment = assignment_locked(lead_id)
    lead = Lead.objects.select_related("account", "score").get(pk=lead_id)
    decision = _round_robin_commit(route_decide(lead, now=now), now=now)
    score = getattr(lead, "score", None)
    assignment.is_hot = bool(score and score.is_hot)
    assignment.tier = score.tier if score else "none"
    assignment.routing_trace = decision.trace
    assignment.routed_at = now
    # The clock starts when the lead turned hot, or now for a lead that is not hot.
    started = score.hot_since if score and score.is_hot and score.hot_since else now
    clock_start(assignment, team=decision.team, tier=assignment.tier, now=started, calendar=decision.calendar)
    kind = {LeadState.ASSIGNED: "assigned", LeadState.OFFERED: "offered"}.get(decision.state, "queued")
    lead_owner_change(assignment, owner=decision.rep, team=decision.team, state=decision.state, kind=kind,
                      reason=decision.trace.get("result") or decision.trace.get("account_owner") or reason, now=now)
    if decision.rep is not None and lead.account_id and not AccountOwner.objects.filter(
            account_id=lead.account_id).exists():
        AccountOwner.objects.get_or_create(account_id=lead.account_id, defaults={"owner": decision.rep, "since": now})
    return assignment


@transaction.atomic
def lead_hand_on_route(lead_id: int, *, now: datetime | None = None) -> LeadAssignment | None:
    """After scoring: route a new lead; for a lead that turned hot, restart its clock or route it again."""
    now = now or timezone.now()
    existing = LeadAssignment.objects.filter(lead_id=lead_id).values("state", "owner_id", "is_hot",
                                                                     "sla_started_at").first()
    if existing is None:
        return lead_route(lead_id, now=now)
    lead = Lead.objects.select_related("score").get(pk=lead_id)
    score = getattr(lead, "score", None)
    turned_hot = bool(score and score.is_hot and score.hot_since and (
        not existing["is_hot"] or existing["sla_started_at"] is None or score.hot_since > existing["sla_started_at"]))
    if not turned_hot:
        return None
    if existing["owner_id"] and existing["state"] in OWNED_OPEN:
        assignment = assignment_locked(lead_id)
        assignment.is_hot, assignment.tier = True, score.tier
        clock_start(assignment, team=assignment.team, tier=score.tier, now=score.hot_since)
        assignment.state = LeadState.ASSIGNED
        lead_owner_change(assignment, owner=assignment.owner, team=assignment.team, state=LeadState.ASSIGNED,
                          kind="assigned", reason="turned hot again: the clock restarts", now=now)
        return assignment
    return lead_route(lead_id, now=now, reason="turned hot")


def criteria_for_leads(lead_ids: list[int]) -> dict[int, int]:
    """Each routed lead's team's hot-lead criteria (scoring asks through SCORING_CRITERIA_RESOLVER)."""
    return dict(LeadAssignment.objects.filter(lead_id__in=lead_ids, team__hot_criteria__isnull=False)
                .values_list("lead_id", "team__hot_criteria_id"))
