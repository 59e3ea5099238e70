"""Routing on the real database: rules, account owners, eligibility, weighted round robin, the trace."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from inbound.models import Account, Lead
from sdr_desk.routing.engine import lead_route, route_decide
from sdr_desk.routing.models import AccountOwner, LeadAssignment, Rep, RoutingRule
from tests.desk_fixtures import cold_lead, hot_lead, rep_make, team_make
from tests.factories import SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams(db):
    americas = team_make("Americas", visibility="owned", is_default=True)
    emea = team_make("EMEA", visibility="claim", is_default=False)
    return americas, emea


class TestRules:
    def test_the_first_matching_rule_wins_and_the_trace_says_why(self, teams):
        americas, emea = teams
        rep_make("eve", emea)
        RoutingRule.objects.create(name="Enterprise EMEA", position=1, countries=["EMEA"], employee_min=1000,
                                   target_team=americas)
        RoutingRule.objects.create(name="EMEA", position=2, countries=["EMEA"], target_team=emea)
        RoutingRule.objects.create(name="Germany", position=3, countries=["DE"], target_team=americas)
        lead = hot_lead(country="DE", employee_count=50)
        decision = route_decide(Lead.objects.select_related("score", "account").get(pk=lead.pk))
        assert decision.team == emea
        assert [(r["rule"], r["matched"]) for r in decision.trace["rules"]] == [
            ("Enterprise EMEA", False), ("EMEA", True)]
        assert decision.trace["rules"][0]["why"] == "50 employees outside 1000-∞"

    @pytest.mark.parametrize(
        ("rule", "lead_fields", "matches"),
        [
            ({"states": ["CA", "wa"]}, {"state": "WA"}, True),
            ({"states": ["CA"]}, {"state": "NY"}, False),
            ({"industries": ["Software"]}, {"industry": "software"}, True),
            ({"employee_min": 51, "employee_max": 200}, {"employee_count": 200}, True),
            ({"employee_min": 51, "employee_max": 200}, {"employee_count": None}, False),
            ({"form_types": ["demo_request"]}, {}, True),
            ({"form_types": ["pricing"]}, {}, False),
            ({"tiers": ["hand_raiser"]}, {}, True),
            ({"grades": ["A"]}, {}, False),
        ],
    )
    def test_each_condition(self, teams, rule, lead_fields, matches):
        americas, emea = teams
        RoutingRule.objects.create(name="R", target_team=emea, **rule)
        lead = hot_lead(**lead_fields)
        decision = route_decide(Lead.objects.select_related("score", "account").get(pk=lead.pk))
        assert (decision.team == emea) is matches

    def test_a_source_condition(self, teams):
        americas, emea = teams
        g2 = SourceFactory(name="G2")
        rule = RoutingRule.objects.create(name="Review sites", target_team=emea)
        rule.sources.add(g2)
        assert route_decide(Lead.objects.select_related("score", "account").get(
            pk=hot_lead(source=g2).pk)).team == emea
        assert route_decide(Lead.objects.select_related("score", "account").get(pk=hot_lead().pk)).team == americas

    def test_no_match_goes_to_the_default_team(self, teams):
        americas, _ = teams
        RoutingRule.objects.create(name="Only France", countries=["FR"], target_team=teams[1])
        decision = route_decide(Lead.objects.select_related("score", "account").get(pk=hot_lead(country="US").pk))
        assert decision.team == americas
        assert decision.trace["default_team"] == "Americas"

    def test_a_rule_may_name_a_rep(self, teams):
        americas, emea = teams
        vip = rep_make("vip", emea)
        RoutingRule.objects.create(name="Strategic", industries=["Banking"], target_rep=vip)
        assignment = lead_route(hot_lead(industry="Banking").pk)
        assert assignment.owner == vip and assignment.state == "assigned"

    def test_a_named_rep_who_is_away_sends_the_lead_to_their_team(self, teams):
        americas, emea = teams
        vip = rep_make("vip", emea, status="away")
        rep_make("eve", emea)
        RoutingRule.objects.create(name="Strategic", industries=["Banking"], target_rep=vip)
        assignment = lead_route(hot_lead(industry="Banking").pk)
        assert assignment.team == emea and assignment.owner is None and assignment.state == "offered"
        assert assignment.routing_trace["target_rep"] == "vip is away; to their team"

    def test_an_owned_account_goes_to_its_owner_first(self, teams):
        americas, _ = teams
        rep_make("ann", americas)
        owner = rep_make("bob", americas)
        account = Account.objects.create(domain="acme.io")
        AccountOwner.objects.create(account=account, owner=owner)
        assignment = lead_route(hot_lead(email="new@acme.io", account=account).pk)
        assert assignment.owner == owner
        assert "bob owns the account" in assignment.routing_trace["account_owner"]

    def test_the_first_owner_of_an_account_becomes_its_owner(self, teams):
        americas, _ = teams
        ann = rep_make("ann", americas)
        account = Account.objects.create(domain="acme.io")
        lead_route(hot_lead(email="a@acme.io", account=account).pk)
        assert AccountOwner.objects.get(account=account).owner == ann


class TestEligibility:
    def test_away_offline_off_hours_and_full_reps_are_skipped_with_reasons(self, teams):
        americas, _ = teams
        rep_make("away", americas, status="away")
        rep_make("off", americas, status="offline")
        rep_make("night", americas, working_hours={"mon": [["03:00", "03:01"]]})
        full = rep_make("full", americas, capacity=1)
        lead_route(hot_lead().pk)  # the only eligible rep takes it and is now at capacity
        assignment = lead_route(hot_lead().pk)
        why = {r["rep"]: r["why"] for r in assignment.routing_trace["not_eligible"]}
        assert why == {"away": "away", "off": "offline", "night": "outside working hours",
                       "full": "at capacity (1/1)"}
        # Capacity weighs the pick; it never sends a hot lead to a queue nobody watches.
        assert assignment.owner == full and assignment.state == "assigned"
        assert assignment.routing_trace["result"].startswith("every rep at capacity; round robin over the least")

    def test_at_capacity_the_least_loaded_share_takes_the_lead(self, teams):
        americas, _ = teams
        small = rep_make("small", americas, capacity=1)
        big = rep_make("big", americas, capacity=4)
        for _ in range(5):  # 1 + 4: both full
            lead_route(hot_lead().pk)
        assert LeadAssignment.objects.filter(owner=small).count() == 1
        assert LeadAssignment.objects.filter(owner=big).count() == 4
        # Now both are full; big carries 4/4 and small 1/1: equal shares, round robin decides; then the next goes
        # to whoever is now proportionally lighter.
        owners = [lead_route(hot_lead().pk).owner for _ in range(5)]
        assert owners.count(big) == 4 and owners.count(small) == 1  # load stays proportional to capacity

    def test_a_rep_with_capacity_0_takes_no_hot_lead_even_when_everyone_is_full(self, teams):
        americas, _ = teams
        rep_make("zero", americas, capacity=0)
        assignment = lead_route(hot_lead().pk)
        assert assignment.state == "queued" and assignment.owner is None
        assert assignment.routing_trace["result"] == "nobody eligible: the team queue"

    def test_in_claim_mode_a_full_team_is_still_offered_the_hot_lead(self, teams):
        _, emea = teams
        eve = rep_make("eve", emea, capacity=1)
        RoutingRule.objects.create(name="All to EMEA", target_team=emea)
        first = lead_route(hot_lead().pk)
        LeadAssignment.objects.filter(pk=first.pk).update(owner=eve, state="assigned")
        assignment = lead_route(hot_lead().pk)
        assert assignment.state == "offered" and assignment.owner is None
        assert assignment.routing_trace["eligible"] == [] and assignment.routing_trace["at_capacity"] == ["eve"]
        assert assignment.routing_trace["result"] == "claim mode: every rep at capacity; offered to the team anyway"

    def test_cold_leads_do_not_count_against_capacity(self, teams):
        americas, _ = teams
        rep = rep_make("solo", americas, capacity=1)
        lead_route(cold_lead().pk)
        assert lead_route(hot_lead().pk).owner == rep


class TestModes:
    def test_claim_mode_offers_a_hot_lead_to_the_team(self, teams):
        _, emea = teams
        rep_make("eve", emea)
        RoutingRule.objects.create(name="All to EMEA", target_team=emea)
        assignment = lead_route(hot_lead().pk)
        assert assignment.state == "offered" and assignment.owner is None
        assert assignment.routing_trace["eligible"] == ["eve"]

    def test_claim_mode_assigns_a_cold_lead_round_robin(self, teams):
        _, emea = teams
        eve = rep_make("eve", emea)
        RoutingRule.objects.create(name="All to EMEA", target_team=emea)
        assert lead_route(cold_lead().pk).owner == eve


class TestRoundRobin:
    def test_counts_follow_the_weights(self, teams):
        americas, _ = teams
        one = rep_make("one", americas, weight=1, capacity=100)
        two = rep_make("two", americas, weight=2, capacity=100)
        three = rep_make("three", americas, weight=3, capacity=100)
        owners = Counter()
        for n in range(1, 61):
            owners[lead_route(hot_lead().pk).owner.username] += 1
            # At every step, each rep is within one lead per unit of weight of their share.
            shares = {"one": n / 6, "two": 2 * n / 6, "three": 3 * n / 6}
            weights = {"one": 1, "two": 2, "three": 3}
            for name, share in shares.items():
                assert abs(owners[name] - share) <= weights[name], (n, owners)
        assert owners == {"one": 10, "two": 20, "three": 30}
        del one, two, three

    def test_routing_in_parallel_processes_never_gives_a_slot_twice(self, transactional_db):
        americas = team_make("Americas", visibility="owned")
        for name in ("a", "b", "c"):
            rep_make(name, americas, capacity=1000)
        leads = [hot_lead().pk for _ in range(24)]
        connection.close()
        db = connection.settings_dict
        url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        script = ("import django,sys; django.setup();"
                  "from sdr_desk.routing.engine import lead_route;"
                  "[lead_route(int(i)) for i in sys.argv[1:]]")
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
        root = Path(__file__).resolve().parents[2]
        workers = [subprocess.Popen([sys.executable, "-c", script, *map(str, leads[i::4])], cwd=root, env=env)
                   for i in range(4)]
        assert [w.wait(timeout=120) for w in workers] == [0, 0, 0, 0]
        counts = Counter(LeadAssignment.objects.values_list("owner__username", flat=True))
        assert sum(counts.values()) == 24 and set(counts.values()) == {8}, counts
        assert sorted(Rep.objects.values_list("routed_count", flat=True)) == [8, 8, 8]


def test_routing_a_lead_records_who_and_why_in_the_timeline(teams):
    americas, _ = teams
    rep_make("ann", americas)
    lead = hot_lead()
    lead_route(lead.pk)
    entry = lead.timeline.filter(kind="owner").get()
    assert entry.summary.startswith("Assigned to Ann (Americas): round robin: ann")
    assert entry.data["before"] == {"owner": None, "team": None, "state": "queued"}
    assert entry.data["after"] == {"owner": "ann", "team": "Americas", "state": "assigned"}


def test_intake_routes_a_new_lead_after_scoring(teams, keyed, django_capture_on_commit_callbacks):
    import json

    americas, _ = teams
    ann = rep_make("ann", americas)
    with django_capture_on_commit_callbacks(execute=True):
        keyed.post("/api/v1/leads/", data=json.dumps({"email": "x@corp.io", "form_type": "demo_request"}),
                   content_type="application/json")
    assignment = LeadAssignment.objects.get()
    assert assignment.owner == ann and assignment.is_hot and assignment.tier == "hand_raiser"
    assert assignment.sla_due_at is not None
    assert (assignment.sla_due_at - assignment.sla_started_at).total_seconds() == 300


def test_a_lead_with_no_team_anywhere_waits_unrouted(db):
    assignment = lead_route(hot_lead().pk)
    assert assignment.team is None and assignment.state == "queued"
    assert assignment.routing_trace["result"].startswith("no team")


def test_now_is_recorded(teams):
    rep_make("ann", teams[0])
    before = timezone.now()
    assert lead_route(hot_lead().pk).routed_at >= before


def test_a_closed_team_follows_the_sun(db):
    night = {day: [["00:00", "00:01"]] for day in ("mon",)}  # effectively always closed
    sun = team_make("Sydney", visibility="owned", is_default=False)
    ann = rep_make("ann", sun)
    team_make("London", visibility="owned", is_default=True, business_hours=night,
              after_hours="follow_the_sun", follow_the_sun_team=sun)
    assignment = lead_route(hot_lead().pk)
    assert assignment.team == sun and assignment.owner == ann
    assert "follows the sun to Sydney" in assignment.routing_trace["after_hours"]


def test_a_team_with_its_own_criteria_judges_its_leads_by_them(db, keyed, django_capture_on_commit_callbacks):
    import json

    from scoring.models import HotLeadCriteria, LeadScore
    from scoring.services import ruleset_publish

    strict = HotLeadCriteria.objects.create(name="Strict", mode="any", min_score=500)
    ruleset_publish(note="criteria are part of the versioned rules")
    team = team_make("Strict team", visibility="owned", hot_criteria=strict)
    rep_make("ann", team)
    with django_capture_on_commit_callbacks(execute=True):
        keyed.post("/api/v1/leads/", data=json.dumps({"email": "x@corp.io", "form_type": "demo_request"}),
                   content_type="application/json")
    score = LeadScore.objects.get()
    assert not score.is_hot  # hot by the default criteria, not by the team's
    from scoring.services import leads_rescore_bulk

    leads_rescore_bulk()
    assert not LeadScore.objects.get().is_hot  # the nightly rescore uses the team's criteria too
