"""With the database unreachable, intake answers 503 in JSON and writes nothing."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from inbound.models import Lead, Submission

pytestmark = pytest.mark.django_db(transaction=True)


def disconnect() -> None:
    """Close this thread's connection and, under DATABASE_POOL, the pool's: a pool keeps connections open."""
    connection.close()
    if hasattr(connection, "close_pool"):
        connection.close_pool()


@pytest.fixture
def database_down():
    """Point the real connection at a port where nothing listens, then restore it."""
    original = connection.settings_dict["PORT"], connection.settings_dict["HOST"]
    disconnect()
    connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", "1"
    try:
        yield
    finally:
        disconnect()
        connection.settings_dict["PORT"], connection.settings_dict["HOST"] = original


def test_posting_a_lead_answers_503_when_the_database_is_unreachable(api_key, client, database_down):
    response = client.post("/api/v1/leads/", data=json.dumps({"email": "a@b.io"}), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert response["Retry-After"] == "30"


def test_nothing_is_half_written_when_the_database_goes_away(api_key, client):
    # The intake transaction either commits whole or not at all: after an
    # outage answered 503 the tables hold nothing of that request.
    original = connection.settings_dict["PORT"]
    disconnect()
    connection.settings_dict["PORT"] = "1"
    try:
        response = client.post("/api/v1/leads/", data=json.dumps({"email": "a@b.io"}),
                               content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    finally:
        disconnect()
        connection.settings_dict["PORT"] = original
    assert response.status_code == 503
    assert Lead.objects.count() == 0
    assert Submission.objects.count() == 0


def test_pages_and_the_health_check_answer_503_too(client, database_down):
    assert client.get("/healthz").status_code == 503
