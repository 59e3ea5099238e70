"""The score as the API and the lead page show it, and intake surviving a broken scorer."""

from __future__ import annotations

import json

import pytest

from inbound.models import Lead
from scoring.models import LeadScore, RuleSetVersion

pytestmark = pytest.mark.django_db


def submit(keyed, capture, **body):
    with capture(execute=True):
        response = keyed.post("/api/v1/leads/", data=json.dumps(body), content_type="application/json")
    return response


def test_the_lead_api_carries_the_score_and_its_reasons(keyed, django_capture_on_commit_callbacks, as_user, sdr):
    submit(keyed, django_capture_on_commit_callbacks, email="ada@corp.io", job_title="VP Sales",
           form_type="demo_request")
    lead = Lead.objects.get()
    body = as_user(sdr).get(f"/api/v1/leads/{lead.pk}/").json()
    assert body["score"] == 70 and body["fit_score"] == 30 and body["intent_score"] == 40
    assert body["grade"] == "B" and body["tier"] == "hand_raiser"
    assert body["is_hot"] is True and body["hot_since"]
    assert body["rule_set_version"] == RuleSetVersion.objects.get().number
    assert {"rule": "Demo request", "points": 40, "because": "1 × demo request, latest just now"} in body["score_reasons"]
    listed = as_user(sdr).get("/api/v1/leads/").json()["results"][0]
    assert listed["score"] == 70
    assert keyed.get(f"/api/v1/leads/{lead.pk}/").json()["grade"] == "B"


def test_an_unscored_lead_shows_empty_score_fields(keyed, as_user, sdr):
    keyed.post("/api/v1/leads/", data=json.dumps({"email": "x@corp.io"}), content_type="application/json")
    body = as_user(sdr).get(f"/api/v1/leads/{Lead.objects.get().pk}/").json()
    assert body["score"] is None and body["tier"] == "none" and body["is_hot"] is False
    assert body["score_reasons"] == []


def test_the_lead_page_explains_the_score(keyed, django_capture_on_commit_callbacks, as_user, sdr):
    submit(keyed, django_capture_on_commit_callbacks, email="ada@corp.io", job_title="VP Sales",
           form_type="pricing")
    body = as_user(sdr).get(f"/leads/{Lead.objects.get().pk}/").content.decode()
    assert "Why this score" in body
    assert "Senior buyer" in body and "title &quot;VP Sales&quot; says &quot;VP&quot;" in body
    assert "What would raise it" in body and "Target industry" in body
    assert "Hot because score 65 ≥ 50, pricing form." in body


def test_a_scoring_failure_never_fails_intake_and_is_retried(keyed, django_capture_on_commit_callbacks, monkeypatch):
    from scoring import services

    calls = []

    def broken(lead_id, **kwargs):
        calls.append(lead_id)
        if len(calls) == 1:
            raise RuntimeError("scorer down")
        return original(lead_id, **kwargs)

    original = services.lead_rescore
    monkeypatch.setattr("sdr_desk.routing.receivers.lead_rescore", broken)
    monkeypatch.setattr("scoring.tasks.lead_rescore", broken)
    response = submit(keyed, django_capture_on_commit_callbacks, email="ok@corp.io", form_type="demo_request")
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert calls == [lead.pk, lead.pk]  # failed in the request, retried by the queue (sync in tests)
    assert LeadScore.objects.get(lead=lead).is_hot


@pytest.mark.django_db(transaction=True)
def test_an_import_scores_its_leads_once_per_chunk_not_once_per_row(tmp_path, monkeypatch):
    from django.core.management import call_command

    from inbound.signals import leads_batch_processed, submission_processed

    per_row, batches = [], []
    submission_processed.connect(lambda **kw: per_row.append(kw), weak=False, dispatch_uid="t-row")
    leads_batch_processed.connect(lambda **kw: batches.append(kw), weak=False, dispatch_uid="t-batch")
    monkeypatch.setattr("inbound.csv_import.CHUNK_ROWS", 3)
    path = tmp_path / "leads.csv"
    path.write_text("Email,Title\n" + "".join(f"p{i}@corp.io,VP Sales\n" for i in range(7)))
    try:
        call_command("import_leads", str(path), "--source", "Trade show", stdout=open("/dev/null", "w"))
    finally:
        submission_processed.disconnect(dispatch_uid="t-row")
        leads_batch_processed.disconnect(dispatch_uid="t-batch")
    assert per_row == []
    assert [len(b["lead_ids"]) for b in batches] == [3, 3, 1]
    assert LeadScore.objects.count() == 7
    assert set(LeadScore.objects.values_list("fit", flat=True)) == {30}
