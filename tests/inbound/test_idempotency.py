"""Idempotency-Key: retries replay the first response; a changed body is refused."""

from __future__ import annotations

import json

import pytest

from inbound.models import IdempotencyKey, Lead, Submission

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads/"


def post(client, body, key):
    return client.post(URL, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_returns_the_first_response_and_creates_nothing(keyed):
    first = post(keyed, {"email": "a@b.io", "first_name": "A"}, "k-1")
    again = post(keyed, {"email": "a@b.io", "first_name": "A"}, "k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Submission.objects.count() == 1
    assert Lead.objects.get().conversion_count == 1


def test_without_a_key_a_retry_is_a_second_conversion(keyed):
    keyed.post(URL, data=json.dumps({"email": "a@b.io"}), content_type="application/json")
    second = keyed.post(URL, data=json.dumps({"email": "a@b.io"}), content_type="application/json")
    assert second.status_code == 200
    assert Submission.objects.count() == 2


def test_the_same_key_with_another_body_is_refused(keyed):
    post(keyed, {"email": "a@b.io"}, "k-2")
    response = post(keyed, {"email": "other@b.io"}, "k-2")
    assert response.status_code == 422
    assert response.json()["error"] == "idempotency_key_reused"
    assert Lead.objects.count() == 1


def test_keys_are_scoped_to_the_api_key(keyed, client):
    from tests.factories import SourceFactory, api_key_for

    post(keyed, {"email": "a@b.io"}, "shared")
    other = api_key_for(SourceFactory(name="Other"))
    response = client.post(URL, data=json.dumps({"email": "z@b.io"}), content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY="shared", HTTP_AUTHORIZATION=f"Api-Key {other}")
    assert response.status_code == 201
    assert Lead.objects.count() == 2


def test_an_invalid_request_does_not_burn_the_key(keyed):
    assert post(keyed, {"email": "bad"}, "k-3").status_code == 400
    assert IdempotencyKey.objects.count() == 0
    assert post(keyed, {"email": "good@b.io"}, "k-3").status_code == 201


def test_an_overlong_key_is_refused(keyed):
    response = post(keyed, {"email": "a@b.io"}, "k" * 300)
    assert response.status_code == 400
    assert Lead.objects.count() == 0


def test_events_honour_keys_too(keyed):
    body = {"type": "page_view", "visitor_id": "v", "url": "u"}
    for _ in range(2):
        keyed.post("/api/v1/events/", data=json.dumps(body), content_type="application/json",
                   HTTP_IDEMPOTENCY_KEY="e-1")
    assert Submission.objects.count() == 1


def test_a_failed_processing_keeps_its_key_and_replays_the_202(keyed, monkeypatch):
    from inbound import services

    def explode(**kwargs):
        raise RuntimeError("enrichment exploded")

    monkeypatch.setattr(services, "lead_upsert", explode)
    first = post(keyed, {"email": "a@b.io"}, "k-fail")
    assert first.status_code == 202
    monkeypatch.undo()
    again = post(keyed, {"email": "a@b.io"}, "k-fail")
    assert again.status_code == 202 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Submission.objects.get().status == "failed"
    assert IdempotencyKey.objects.get().response_status == 202
    assert Lead.objects.count() == 0
