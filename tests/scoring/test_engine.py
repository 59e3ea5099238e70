"""The scoring engine on plain values: each rule kind, decay, tiers, grades and hot criteria."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from scoring import defaults
from scoring.engine import ActivityFact, LeadFacts, compile_ruleset, evaluate, return_visits

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def snapshot(**overrides):
    base = {
        "version": 7,
        "settings": {"half_life_days": 14, "lookback_days": 90, "grade_a_min": 40, "grade_b_min": 25,
                     "grade_c_min": 10},
        "fit": [dict(rule, id=i) for i, rule in enumerate(defaults.FIT_RULES, start=1)],
        "intent": copy.deepcopy(defaults.INTENT_RULES),
        "criteria": [dict(defaults.DEFAULT_CRITERIA, id=1, source_ids=[])],
        "default_criteria_id": 1,
    }
    base.update(overrides)
    return base


RULES = compile_ruleset(snapshot())


def form(form_type: str, days_ago: float = 0, source_id: int | None = None) -> ActivityFact:
    return ActivityFact(type="form_submit", form_type=form_type, occurred_at=NOW - timedelta(days=days_ago),
                        source_id=source_id)


def event(kind: str, days_ago: float = 0, name: str = "") -> ActivityFact:
    return ActivityFact(type=kind, form_type="", occurred_at=NOW - timedelta(days=days_ago), name=name)


def only(kind: str, **rule):
    return compile_ruleset(snapshot(fit=[dict(rule, id=1, kind=kind, name="R", points=rule.get("points", 10))],
                                    intent=[]))


def fires(rules, facts: LeadFacts) -> bool:
    return evaluate(facts, [], rules, NOW).fit != 0


class TestFitRules:
    def test_industry_in_a_set_ignores_case(self):
        rules = only("industry_in", values=["Software", "Fintech"])
        assert fires(rules, LeadFacts(email="a@b.io", industry="software"))
        assert not fires(rules, LeadFacts(email="a@b.io", industry="Retail"))

    def test_employee_count_in_a_range_includes_its_bounds(self):
        rules = only("employees_between", min_value=51, max_value=200)
        assert fires(rules, LeadFacts(email="a@b.io", employee_count=51))
        assert fires(rules, LeadFacts(email="a@b.io", employee_count=200))
        assert not fires(rules, LeadFacts(email="a@b.io", employee_count=50))
        assert not fires(rules, LeadFacts(email="a@b.io", employee_count=201))
        assert not fires(rules, LeadFacts(email="a@b.io", employee_count=None))

    def test_an_open_ended_range(self):
        rules = only("employees_between", min_value=1001)
        assert fires(rules, LeadFacts(email="a@b.io", employee_count=50000))

    def test_country_or_region(self):
        rules = only("country_in", values=["DACH", "us"])
        assert fires(rules, LeadFacts(email="a@b.io", country="AT"))
        assert fires(rules, LeadFacts(email="a@b.io", country="US"))
        assert not fires(rules, LeadFacts(email="a@b.io", country="FR"))
        assert not fires(rules, LeadFacts(email="a@b.io", country=""))

    def test_title_keywords_match_on_word_boundaries(self):
        rules = only("title_matches", values=["VP", "CTO", "Head of"])
        assert fires(rules, LeadFacts(email="a@b.io", job_title="VP, Sales"))
        assert fires(rules, LeadFacts(email="a@b.io", job_title="Interim cto"))
        assert fires(rules, LeadFacts(email="a@b.io", job_title="Head of RevOps"))
        assert not fires(rules, LeadFacts(email="a@b.io", job_title="MVP Developer"))
        assert not fires(rules, LeadFacts(email="a@b.io", job_title="Director of Ops"))

    def test_technology_in_the_tech_stack(self):
        rules = only("tech_in", values=["Salesforce"])
        assert fires(rules, LeadFacts(email="a@b.io", tech=("HubSpot", "salesforce")))
        assert not fires(rules, LeadFacts(email="a@b.io", tech=("Pipedrive",)))

    def test_personal_email(self):
        rules = only("personal_email", points=-10)
        assert evaluate(LeadFacts(email="a@gmail.com", is_personal_email=True), [], rules, NOW).fit == -10
        assert evaluate(LeadFacts(email="a@corp.com"), [], rules, NOW).fit == 0

    def test_competitor_domains_and_their_subdomains(self):
        rules = only("competitor_domain", values=["rival.com"], points=-50)
        assert evaluate(LeadFacts(email="spy@rival.com"), [], rules, NOW).fit == -50
        assert evaluate(LeadFacts(email="spy@eu.rival.com"), [], rules, NOW).fit == -50
        assert evaluate(LeadFacts(email="a@notrival.com"), [], rules, NOW).fit == 0

    def test_students_and_job_seekers(self):
        rules = only("student_or_job_seeker", points=-30)
        for facts in [LeadFacts(email="a@mit.edu"), LeadFacts(email="a@ox.ac.uk"),
                      LeadFacts(email="a@gmail.com", job_title="MBA Student"),
                      LeadFacts(email="a@gmail.com", job_title="Looking for work in sales")]:
            assert evaluate(facts, [], rules, NOW).fit == -30, facts
        assert evaluate(LeadFacts(email="a@corp.com", job_title="Student success manager"), [], rules, NOW).fit == -30
        assert evaluate(LeadFacts(email="a@corp.com", job_title="Sales Director"), [], rules, NOW).fit == 0

    def test_points_add_up_and_reasons_say_why(self):
        facts = LeadFacts(email="ada@corp.io", job_title="VP Sales", industry="Software", employee_count=120,
                          country="GB")
        result = evaluate(facts, [], RULES, NOW)
        assert result.fit == 15 + 20 + 10 + 20 + 10
        because = {r["rule"]: r["because"] for r in result.reasons}
        assert because["Target industry"] == "industry is Software"
        assert because["Mid-market size (51-1,000)"] == "120 employees"
        assert because["Senior buyer"] == 'title "VP Sales" says "VP"'

    def test_what_would_raise_it_lists_the_positive_rules_that_did_not_fire(self):
        result = evaluate(LeadFacts(email="a@corp.io"), [], RULES, NOW)
        missed = {m["rule"] for m in result.missed}
        assert "Senior buyer" in missed and "Demo request" in missed
        assert "Personal email" not in missed  # a penalty avoided is not a way up

    def test_a_rule_that_breaks_is_skipped_and_reported(self):
        rules = compile_ruleset(snapshot(fit=[{"id": 1, "name": "Broken", "kind": "no_such_kind", "points": 5},
                                              {"id": 2, "name": "Ok", "kind": "personal_email", "points": -1}]))
        result = evaluate(LeadFacts(email="a@gmail.com", is_personal_email=True), [], rules, NOW)
        assert result.fit == -1
        assert result.errors and "Broken" in result.errors[0][0]


class TestGrades:
    @pytest.mark.parametrize(("fit", "grade"), [(40, "A"), (39, "B"), (25, "B"), (24, "C"), (10, "C"), (9, "D"),
                                                (-50, "D")])
    def test_grade_boundaries(self, fit, grade):
        rules = compile_ruleset(snapshot(fit=[{"id": 1, "name": "x", "kind": "personal_email", "points": fit}],
                                         intent=[]))
        assert evaluate(LeadFacts(email="a@gmail.com", is_personal_email=True), [], rules, NOW).grade == grade


class TestIntent:
    def test_a_fresh_demo_request_counts_in_full(self):
        result = evaluate(LeadFacts(email="a@b.io"), [form("demo_request")], RULES, NOW)
        assert result.intent == 40

    def test_intent_halves_every_half_life(self):
        facts = LeadFacts(email="a@b.io")
        assert evaluate(facts, [form("content_download", days_ago=14)], RULES, NOW).intent == 5
        assert evaluate(facts, [form("content_download", days_ago=28)], RULES, NOW).intent == round(2.5)
        yesterday = evaluate(facts, [form("content_download", days_ago=1)], RULES, NOW).intent
        last_quarter = evaluate(facts, [form("content_download", days_ago=80)], RULES, NOW).intent
        assert yesterday > last_quarter

    def test_activities_older_than_the_lookback_count_for_nothing(self):
        result = evaluate(LeadFacts(email="a@b.io"), [form("demo_request", days_ago=91)], RULES, NOW)
        assert result.intent == 0 and result.tier == "none"

    def test_each_signal_is_capped(self):
        many = [event("page_view", days_ago=0) for _ in range(50)]
        assert evaluate(LeadFacts(email="a@b.io"), many, RULES, NOW).intent == 10
        reason = next(r for r in evaluate(LeadFacts(email="a@b.io"), many, RULES, NOW).reasons
                      if r["rule"] == "Page view")
        assert "capped at 10" in reason["because"]

    def test_return_visits_within_the_window(self):
        visits = [event("page_view", 20), event("page_view", 10), event("page_view", 9), event("page_view", 9.1),
                  event("pricing_page_view", 2)]
        assert len(return_visits(visits, 7)) == 1  # 10 -> 9 days ago; 9 -> 2 days ago is 7.1 days: too late
        assert len(return_visits(visits, 8)) == 2

    def test_score_is_fit_plus_intent(self):
        facts = LeadFacts(email="a@corp.io", job_title="VP Sales")
        result = evaluate(facts, [form("pricing")], RULES, NOW)
        assert result.total == result.fit + result.intent == 30 + 35


class TestTiers:
    @pytest.mark.parametrize(
        ("activities", "tier"),
        [
            ([form("demo_request")], "hand_raiser"),
            ([form("pricing")], "hand_raiser"),
            ([form("trial_signup")], "hand_raiser"),
            ([form("content_download")], "researcher"),
            ([event("webinar_attended", name="Speed")], "researcher"),
            ([form("webinar")], "researcher"),
            ([form("newsletter")], "light"),
            ([event("page_view")], "none"),
            ([], "none"),
            ([form("newsletter"), form("content_download"), form("demo_request", days_ago=30)], "hand_raiser"),
        ],
    )
    def test_tier_comes_from_the_strongest_intent(self, activities, tier):
        assert evaluate(LeadFacts(email="a@b.io"), activities, RULES, NOW).tier == tier


class TestHotCriteria:
    def criteria(self, **fields):
        base = {"id": 1, "name": "c", "mode": "any", "min_score": None, "form_types": [], "source_ids": [],
                "on_trial_milestone": False, "on_pricing_return_visit": False, "within_days": 30}
        return compile_ruleset(snapshot(criteria=[dict(base, **fields)]))

    def test_score_threshold(self):
        rules = self.criteria(min_score=40)
        assert evaluate(LeadFacts(email="a@b.io"), [form("demo_request")], rules, NOW).is_hot
        assert not evaluate(LeadFacts(email="a@b.io"), [form("pricing")], rules, NOW).is_hot

    def test_form_type_in_a_set(self):
        rules = self.criteria(form_types=["demo_request"])
        result = evaluate(LeadFacts(email="a@b.io"), [form("demo_request", days_ago=3)], rules, NOW)
        assert result.is_hot and result.hot_because == ["demo request form"]
        assert not evaluate(LeadFacts(email="a@b.io"), [form("demo_request", days_ago=31)], rules, NOW).is_hot

    def test_source_in_a_set(self):
        rules = self.criteria(source_ids=[9])
        assert evaluate(LeadFacts(email="a@b.io"), [form("contact", source_id=9)], rules, NOW).is_hot
        assert not evaluate(LeadFacts(email="a@b.io"), [form("contact", source_id=8)], rules, NOW).is_hot

    def test_trial_milestone(self):
        rules = self.criteria(on_trial_milestone=True)
        result = evaluate(LeadFacts(email="a@b.io"), [event("trial_milestone", name="invited 3 teammates")], rules,
                          NOW)
        assert result.hot_because == ["trial milestone invited 3 teammates"]

    def test_return_visit_to_the_pricing_page(self):
        rules = self.criteria(on_pricing_return_visit=True)
        once = [event("pricing_page_view", 1), event("pricing_page_view", 1)]
        twice = [event("pricing_page_view", 3), event("pricing_page_view", 1)]
        assert not evaluate(LeadFacts(email="a@b.io"), once, rules, NOW).is_hot
        assert evaluate(LeadFacts(email="a@b.io"), twice, rules, NOW).is_hot

    def test_all_of_needs_every_condition(self):
        rules = self.criteria(mode="all", min_score=30, form_types=["pricing"])
        assert evaluate(LeadFacts(email="a@b.io"), [form("pricing")], rules, NOW).is_hot
        assert not evaluate(LeadFacts(email="a@b.io"), [form("demo_request")], rules, NOW).is_hot
        assert not evaluate(LeadFacts(email="a@gmail.com", is_personal_email=True),
                            [form("newsletter")], rules, NOW).is_hot

    def test_any_of_needs_one(self):
        rules = self.criteria(mode="any", min_score=1000, form_types=["pricing"])
        assert evaluate(LeadFacts(email="a@b.io"), [form("pricing")], rules, NOW).is_hot

    def test_criteria_without_conditions_never_make_a_lead_hot(self):
        rules = self.criteria()
        assert not evaluate(LeadFacts(email="a@b.io"), [form("demo_request")], rules, NOW).is_hot

    def test_the_default_criteria_follow_the_seeds(self):
        facts = LeadFacts(email="a@b.io")
        assert evaluate(facts, [form("demo_request")], RULES, NOW).is_hot
        assert evaluate(facts, [form("trial_signup")], RULES, NOW).is_hot
        assert not evaluate(facts, [form("content_download")], RULES, NOW).is_hot
        senior_reader = LeadFacts(email="a@corp.io", job_title="VP Sales", industry="Software", employee_count=300,
                                  country="US")
        assert evaluate(senior_reader, [form("content_download")], RULES, NOW).is_hot  # 75 + 10 >= 50
