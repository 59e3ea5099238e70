"""Management commands of intake."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from inbound.models import ApiKey, Source, Submission, SubmissionStatus

pytestmark = pytest.mark.django_db


def test_create_api_key_creates_the_source_and_prints_a_working_key_last():
    out = io.StringIO()
    call_command("create_api_key", "Partner portal", "--channel", "partner", stdout=out, stderr=io.StringIO())
    key = out.getvalue().strip().splitlines()[-1]
    assert Source.objects.get(name="Partner portal").channel == "partner"
    stored = ApiKey.objects.get()
    assert stored.hashed_key == ApiKey.hash(key)
    assert key not in stored.hashed_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    response = client.post("/api/v1/leads/", data=json.dumps({"email": "a@b.io"}), content_type="application/json")
    assert response.status_code == 201


def test_create_api_key_reuses_an_existing_source():
    for _ in range(2):
        call_command("create_api_key", "Website", stdout=io.StringIO(), stderr=io.StringIO())
    assert Source.objects.count() == 1
    assert ApiKey.objects.count() == 2


def test_create_api_key_refuses_a_blank_name():
    with pytest.raises(CommandError):
        call_command("create_api_key", "  ", stdout=io.StringIO(), stderr=io.StringIO())


def test_replay_submissions_processes_fixed_rejected_ones_when_asked(source):
    from inbound.services import lead_submission_accept

    outcome = lead_submission_accept(payload={"email": "bad"}, channel="csv", source=source)
    submission = outcome.submission
    assert submission.status == SubmissionStatus.REJECTED
    assert "email" in submission.error
    call_command("replay_submissions", stdout=io.StringIO())
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.REJECTED  # not without --rejected
    Submission.objects.filter(pk=submission.pk).update(payload={"email": "fixed@b.io"})
    call_command("replay_submissions", "--rejected", stdout=io.StringIO())
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.PROCESSED
    assert submission.lead.email == "fixed@b.io"
    assert submission.attempts == 2
