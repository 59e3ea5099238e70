"""Races on the real database: one lead per email, one submission per idempotency key."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connections
from rest_framework.test import APIClient

from inbound.models import Account, Lead, Submission, VisitorLink

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def _race(api_key: str, bodies: list[dict], headers: dict | None = None) -> list[int]:
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(body: dict) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}", **(headers or {}))
        try:
            barrier.wait()
            response = client.post("/api/v1/leads/", data=json.dumps(body), content_type="application/json")
            with lock:
                statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_concurrent_first_submissions_of_one_email_make_one_lead(api_key):
    bodies = [{"email": "race@corp.io", "first_name": f"N{i}", "visitor_id": "v-race"} for i in range(THREADS)]
    statuses = _race(api_key, bodies)
    assert sorted(statuses) == [200] * (THREADS - 1) + [201]
    lead = Lead.objects.get()
    assert lead.conversion_count == THREADS
    assert Submission.objects.filter(status="processed", lead=lead).count() == THREADS
    assert Account.objects.count() == 1
    assert VisitorLink.objects.get().lead == lead


def test_concurrent_leads_of_one_new_domain_share_one_account(api_key):
    bodies = [{"email": f"p{i}@newco.io"} for i in range(THREADS)]
    assert sorted(_race(api_key, bodies)) == [201] * THREADS
    assert Account.objects.count() == 1
    assert Lead.objects.filter(account__domain="newco.io").count() == THREADS


def test_concurrent_requests_with_one_idempotency_key_make_one_submission(api_key):
    bodies = [{"email": "once@corp.io"} for _ in range(THREADS)]
    statuses = _race(api_key, bodies, headers={"HTTP_IDEMPOTENCY_KEY": "same-key"})
    assert statuses == [201] * THREADS
    assert Submission.objects.count() == 1
    assert Lead.objects.get().conversion_count == 1
