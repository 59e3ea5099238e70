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


def test_concurrent_first_submissions_record_one_creation_and_every_conversion(api_key):
    bodies = [{"email": "upsert@corp.io", "job_title": f"Title {i}", "form_type": "demo_request"}
              for i in range(THREADS)]
    assert sorted(_race(api_key, bodies)) == [200] * (THREADS - 1) + [201]
    lead = Lead.objects.get()
    assert lead.conversion_count == THREADS
    assert Submission.objects.filter(created_lead=True).count() == 1
    assert Submission.objects.get(created_lead=True).lead == lead
    kinds = sorted(lead.timeline.filter(kind__in=["created", "submission", "fields"]).values_list("kind", flat=True))
    assert kinds == ["created"] + ["submission"] * (THREADS - 1)
    # the first one to commit set the title; every later one kept it and recorded what it brought
    conflicts = [entry.data["conflicts"] for entry in lead.timeline.filter(kind="submission")]
    assert all(c == {"job_title": {"kept": lead.job_title, "received": c["job_title"]["received"]}} for c in conflicts)
    assert {c["job_title"]["received"] for c in conflicts} | {lead.job_title} == {b["job_title"] for b in bodies}
    assert lead.activities.count() == THREADS


def test_concurrent_repeats_fill_an_empty_field_once_and_never_blank_it(api_key):
    assert _race(api_key, [{"email": "known@corp.io", "first_name": "Kim"}]) == [201]
    bodies = [{"email": "known@corp.io", "first_name": "", "city": f"City {i}"} for i in range(THREADS)]
    assert _race(api_key, bodies) == [200] * THREADS
    lead = Lead.objects.get()
    assert lead.first_name == "Kim"
    assert lead.city in {b["city"] for b in bodies}
    assert lead.conversion_count == THREADS + 1
    assert lead.timeline.filter(kind="fields").count() == 1
    assert lead.timeline.get(kind="fields").data["after"] == {"city": lead.city}


def test_concurrent_first_submissions_of_free_mail_make_one_lead_and_no_account(api_key):
    bodies = [{"email": "someone@gmail.com", "company": f"Co {i}"} for i in range(THREADS)]
    assert sorted(_race(api_key, bodies)) == [200] * (THREADS - 1) + [201]
    assert Lead.objects.get().is_personal_email
    assert Account.objects.count() == 0
