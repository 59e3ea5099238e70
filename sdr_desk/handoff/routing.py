"""Which AE a handoff goes to, with routing's own mechanism (no second copy of it).

The AE team: each AE team's territory (``HandoffSettings.countries``) is matched against the lead's
routing facts by routing's ``CompiledRule.check``, first match by position; else the AE team the
SDR's team hands to (``HandoffSettings.ae_team``); else the one AE team with no territory. The AE:
routing's ``judge_all`` (available, in working hours, under capacity) and its weighted round robin,
committed under a lock on the team's rep rows by routing's own ``_round_robin_commit``.

Territories live on ``HandoffSettings`` rather than as ``RoutingRule`` rows: a rule targeting an AE
team would also catch new leads in ``route_decide`` (first match wins there) and route them to AEs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from inbound.models import Lead
from scoring.models import REGIONS
from sdr_desk.handoff.models import HandoffSettings
from sdr_desk.routing.engine import (
    CompiledRule,
    Decision,
    _round_robin_commit,
    facts_for,
    judge_all,
    least_loaded,
    team_candidates,
    weighted_pick,
)
from sdr_desk.routing.models import LeadState, Rep, RepRole, RepStatus, RoutingRule, Team
from sdr_desk.routing.ownership import FieldsInvalid


@dataclass
class AeDecision:
    team: Team
    ae: AbstractBaseUser
    routed_by: str
    rule_set_version: str
    trace: dict[str, Any] = field(default_factory=dict)


def ae_teams() -> list[Team]:
    """Routing teams whose reps are AEs."""
    return list(Team.objects.filter(reps__role=RepRole.AE).distinct().order_by("name"))


def territory_rule(settings: HandoffSettings) -> CompiledRule:
    """An AE team's territory as routing's compiled rule (unsaved: it never routes a new lead)."""
    rule = RoutingRule(name=f"{settings.team.name} territory", countries=settings.countries,
                       target_team=settings.team)
    countries: set[str] = set()
    for value in settings.countries:
        countries.update(REGIONS.get(value.upper(), [value.upper()]))
    return CompiledRule(rule=rule, countries=frozenset(countries), source_ids=frozenset())


def ae_team_for(lead: Lead, *, sdr_team: Team | None) -> tuple[Team, str, str, dict[str, Any]]:
    """(AE team, routed_by, rule_set_version, trace) for the lead."""
    facts = facts_for(lead)
    trace: dict[str, Any] = {"facts": {"country": facts.country}, "territories": []}
    teams = {team.pk: team for team in ae_teams()}
    rows = list(HandoffSettings.objects.filter(team_id__in=list(teams)).select_related("team")
                .order_by("position", "team__name"))
    for row in rows:
        if not row.countries:
            continue
        matched, why = territory_rule(row).check(facts)
        trace["territories"].append({"team": row.team.name, "matched": matched, "why": why})
        if matched:
            return row.team, f"territory: {row.team.name}", f"territory-{row.team_id}.v{row.version}", trace
    if sdr_team is not None:
        own = HandoffSettings.objects.filter(team=sdr_team).select_related("ae_team").first()
        if own is not None and own.ae_team_id in teams:
            return (own.ae_team, f"SDR team default: {own.ae_team.name}", f"sdr-team-{sdr_team.pk}.v{own.version}",
                    trace)
    catch_all = [row for row in rows if not row.countries]
    if catch_all:
        row = catch_all[0]
        return row.team, f"territory: {row.team.name} (everywhere)", f"territory-{row.team_id}.v{row.version}", trace
    unset = [team for pk, team in teams.items() if pk not in {row.team_id for row in rows}]
    if len(teams) == 1 or len(unset) == 1:
        team = next(iter(teams.values())) if len(teams) == 1 else unset[0]
        return team, f"the only AE team: {team.name}", "", trace
    raise FieldsInvalid({"ae": ["No AE team covers this lead's territory: choose an AE by hand."]})


def ae_route(lead: Lead, *, sdr_team: Team | None, now: datetime) -> AeDecision:
    """The AE team and the AE, by weighted round robin, the slot taken under routing's rep-row lock."""
    team, routed_by, version, trace = ae_team_for(lead, sdr_team=sdr_team)
    aes = set(Rep.objects.filter(team=team, role=RepRole.AE).values_list("user_id", flat=True))
    candidates = [c for c in team_candidates(team) if c.user_id in aes]
    judged = judge_all(candidates, now=now)
    # An inbox waits for its AE: outside working hours an available AE still gets the handoff.
    pool = judged.eligible or least_loaded(judged.full) or [c for c in candidates if c.status == RepStatus.AVAILABLE]
    trace.update({"team": team.name, "eligible": [c.username for c in judged.eligible],
                  "not_eligible": judged.not_eligible, "pool": [c.username for c in pool]})
    pick = weighted_pick(pool)
    if pick is None:
        raise FieldsInvalid({"ae": [f"Nobody on {team.name} can take a handoff now (away or offline): "
                                    f"choose an AE by hand."]})
    from django.contrib.auth import get_user_model

    decision = Decision(team=team, rep=get_user_model().objects.get(pk=pick.user_id), state=LeadState.ASSIGNED,
                        trace={**trace, "result": f"round robin: {pick.username}"})
    decision = _round_robin_commit(decision, now=now)
    trace["result"] = decision.trace["result"]
    return AeDecision(team=team, ae=decision.rep, routed_by=f"{routed_by}; {decision.trace['result']}",
                      rule_set_version=version, trace=trace)
