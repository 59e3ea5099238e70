"""Scoring on the real database: stored scores, timeline, hot-since, versions, bounded queries, bulk."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inbound.models import Activity, Lead, LeadStatus
from scoring.models import FitRule, HotLeadCriteria, IntentRule, LeadScore, RuleFailure, RuleSetVersion
from scoring.services import lead_rescore, leads_rescore_bulk, ruleset_current, ruleset_publish
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def submit(keyed, capture, **body):
    with capture(execute=True):
        response = keyed.post("/api/v1/leads/", data=json.dumps(body), content_type="application/json")
    assert response.status_code in (200, 201), response.content
    return Lead.objects.get(email=body["email"].lower())


def event(keyed, capture, **body):
    with capture(execute=True):
        response = keyed.post("/api/v1/events/", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 202, response.content


def test_the_default_rules_are_seeded_and_published():
    assert FitRule.objects.count() > 5
    assert IntentRule.objects.filter(signal="demo_request", tier="hand_raiser").exists()
    assert HotLeadCriteria.objects.get(is_default=True).min_score == 50
    assert RuleSetVersion.objects.count() == 1


def test_intake_scores_the_lead_right_after_commit(keyed, django_capture_on_commit_callbacks):
    lead = submit(keyed, django_capture_on_commit_callbacks, email="ada@corp.io", job_title="VP Sales",
                  industry="Software", employee_count="51-200", country="US", form_type="demo_request")
    score = LeadScore.objects.get(lead=lead)
    assert (score.fit, score.intent) == (15 + 20 + 10 + 20 + 10, 40)
    assert score.total == 115 and score.grade == "A" and score.tier == "hand_raiser"
    assert score.is_hot and score.hot_since is not None
    assert score.version == RuleSetVersion.objects.get().number
    entry = lead.timeline.get(kind="score")
    assert entry.summary.startswith("Scored 115 (fit 75, intent 40), grade A, hand-raiser; now hot:")


def test_an_event_rescores_and_can_make_a_lead_hot(keyed, django_capture_on_commit_callbacks):
    lead = submit(keyed, django_capture_on_commit_callbacks, email="bo@corp.io", form_type="content_download")
    assert not lead.score.is_hot
    event(keyed, django_capture_on_commit_callbacks, type="trial_milestone", email="bo@corp.io",
          name="connected CRM")
    score = LeadScore.objects.get(lead=lead)
    assert score.is_hot
    assert score.hot_because == ["trial milestone connected CRM"]
    assert "now hot: trial milestone connected CRM" in lead.timeline.filter(kind="score").first().summary


def test_a_returning_hand_raiser_restarts_the_clock(keyed, django_capture_on_commit_callbacks):
    lead = submit(keyed, django_capture_on_commit_callbacks, email="cy@corp.io", form_type="demo_request")
    first = LeadScore.objects.get(lead=lead).hot_since
    LeadScore.objects.filter(lead=lead).update(hot_since=first - timedelta(days=3))
    submit(keyed, django_capture_on_commit_callbacks, email="cy@corp.io", form_type="content_download")
    assert LeadScore.objects.get(lead=lead).hot_since == first - timedelta(days=3)  # still hot, clock kept
    submit(keyed, django_capture_on_commit_callbacks, email="cy@corp.io", form_type="pricing")
    assert LeadScore.objects.get(lead=lead).hot_since > first  # a new hand-raise: the clock restarts


def test_a_lead_that_cooled_down_turns_hot_again_with_a_new_hot_since(keyed, django_capture_on_commit_callbacks):
    lead = submit(keyed, django_capture_on_commit_callbacks, email="dee@corp.io", form_type="demo_request")
    later = timezone.now() + timedelta(days=40)
    cooled = lead_rescore(lead.pk, trigger="decay", now=later)
    assert not cooled.is_hot and cooled.hot_since is None
    assert "no longer hot" in lead.timeline.filter(kind="score").first().summary
    Activity.objects.create(lead=lead, type="form_submit", form_type="trial_signup", occurred_at=later)
    again = lead_rescore(lead.pk, trigger="submission", now=later + timedelta(minutes=1))
    assert again.is_hot and again.hot_since == later + timedelta(minutes=1)


def test_an_unchanged_score_writes_no_timeline_entry(keyed, django_capture_on_commit_callbacks):
    lead = submit(keyed, django_capture_on_commit_callbacks, email="eve@corp.io")
    before = lead.timeline.filter(kind="score").count()
    lead_rescore(lead.pk, trigger="rules")
    assert lead.timeline.filter(kind="score").count() == before


def test_scoring_takes_a_bounded_number_of_queries_whatever_the_rules_and_activities():
    lead = LeadFactory()
    lead_rescore(lead.pk)
    Activity.objects.create(lead=lead, type="page_view", url="/")
    with CaptureQueriesContext(connection) as few:
        lead_rescore(lead.pk, trigger="rules")
    FitRule.objects.bulk_create([FitRule(name=f"r{i}", kind="industry_in", values=[f"i{i}"], points=1)
                                 for i in range(60)])
    ruleset_publish(note="more rules")
    Activity.objects.bulk_create([Activity(lead=lead, type="page_view", url=f"/p{i}") for i in range(300)])
    ruleset_current()  # compile the new version once, as the first request after a publish does
    with CaptureQueriesContext(connection) as many:
        lead_rescore(lead.pk, trigger="rules")
    statements = [q["sql"][:60] for q in many if "SAVEPOINT" not in q["sql"]]
    # the latest version (tests trust it for no time), the desk's criteria for the lead, the lead locked,
    # its activities, the score upsert, the timeline entry for the changed score
    assert len(many) == len(few) and len(statements) == 6, statements


def test_a_rescore_commits_without_waiting_for_the_disk_flush():
    lead = LeadFactory()
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
        lead_rescore(lead.pk)  # runs in a savepoint of the test's transaction, so SET LOCAL is still in force
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "off"


def test_a_rescore_of_a_lead_that_is_gone_raises():
    with pytest.raises(Lead.DoesNotExist):
        lead_rescore(987654321)


def test_a_rule_that_fails_is_skipped_reported_and_never_breaks_intake(keyed, django_capture_on_commit_callbacks):
    FitRule.objects.create(name="Broken pattern", kind="no_such_kind", points=5)  # as if edited around validation
    ruleset_publish(note="broken")
    lead = submit(keyed, django_capture_on_commit_callbacks, email="fay@gmail.com")
    assert lead.score.fit == -10
    failure = RuleFailure.objects.get()
    assert "Broken pattern" in failure.rule and failure.count == 1


def test_scores_name_the_version_that_made_them(keyed, django_capture_on_commit_callbacks):
    lead = submit(keyed, django_capture_on_commit_callbacks, email="gil@corp.io", job_title="CEO")
    v1 = lead.score.version
    FitRule.objects.filter(name="Senior buyer").update(points=30)
    version = ruleset_publish(note="seniority matters more")
    rescored = lead_rescore(lead.pk, trigger="rules")
    assert rescored.version == version.number == v1 + 1
    assert rescored.fit == 30 + 0  # only the seniority rule fires for a bare CEO at corp.io
    assert "Score 20 → 30" in lead.timeline.filter(kind="score").first().summary


class TestRuleValidation:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"kind": "title_matches", "values": ["(unclosed"]}, "values"),
            ({"kind": "industry_in", "values": []}, "values"),
            ({"kind": "industry_in", "values": ["  "]}, "values"),
            ({"kind": "employees_between", "min_value": 500, "max_value": 100}, "max_value"),
            ({"kind": "employees_between"}, "min_value"),
            ({"kind": "country_in", "values": ["Narnia"]}, "values"),
        ],
    )
    def test_invalid_conditions_are_refused_with_a_message(self, fields, field):
        rule = FitRule(name="x", points=5, **fields)
        with pytest.raises(ValidationError) as error:
            rule.full_clean()
        assert field in error.value.message_dict

    def test_a_cap_below_one_occurrence_is_refused(self):
        with pytest.raises(ValidationError):
            IntentRule(signal="demo_request", points=40, cap=10).full_clean()

    def test_unknown_form_types_in_criteria_are_refused(self):
        with pytest.raises(ValidationError):
            HotLeadCriteria(name="x", form_types=["carrier_pigeon"]).full_clean()


class TestBulk:
    def test_bulk_rescoring_matches_one_by_one_and_skips_closed_leads(self):
        leads = [LeadFactory(job_title="VP Sales") for _ in range(5)]
        closed = LeadFactory(status=LeadStatus.DISQUALIFIED)
        for lead in leads:
            Activity.objects.create(lead=lead, type="form_submit", form_type="pricing",
                                    occurred_at=timezone.now() - timedelta(days=7))
        counts = leads_rescore_bulk(batch_size=2)
        assert counts["scored"] == 5
        assert not LeadScore.objects.filter(lead=closed).exists()
        bulk = {s.lead_id: (s.total, s.grade, s.tier, s.is_hot) for s in LeadScore.objects.all()}
        for lead in leads:
            single = lead_rescore(lead.pk, trigger="check")
            assert bulk[lead.pk] == (single.total, single.grade, single.tier, single.is_hot)

    def test_nightly_decay_lowers_intent_and_records_it(self):
        lead = LeadFactory()
        Activity.objects.create(lead=lead, type="form_submit", form_type="content_download",
                                occurred_at=timezone.now())
        lead_rescore(lead.pk)
        leads_rescore_bulk(now=timezone.now() + timedelta(days=14))
        score = LeadScore.objects.get(lead=lead)
        assert score.intent == 5
        assert lead.timeline.filter(kind="score").first().summary.startswith("Intent faded: score 10 → 5")

    def test_bulk_rescoring_takes_a_fixed_number_of_queries_per_batch(self):
        for _ in range(6):
            LeadFactory()
        with CaptureQueriesContext(connection) as three_batches:
            leads_rescore_bulk(batch_size=2)
        for _ in range(6):
            LeadFactory()
        with CaptureQueriesContext(connection) as six_batches:
            leads_rescore_bulk(batch_size=2)
        per_batch = (len(six_batches) - len(three_batches)) / 3
        assert per_batch <= 8
