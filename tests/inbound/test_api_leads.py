"""POST/GET /api/v1/leads/: the contract other systems are built against."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inbound.models import Account, Activity, ApiKey, Lead, Submission, SubmissionStatus, TimelineEntry
from inbound.signals import submission_processed
from tests.factories import LeadFactory, SourceFactory, api_key_for

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads/"
FULL = {
    "email": "  Ada.Lovelace@Analytical.io ",
    "first_name": " Ada ",
    "last_name": "Lovelace",
    "phone": "(415) 555-0100",
    "job_title": "VP   Engineering",
    "company": "Analytical Engines",
    "website": "analytical.io",
    "employee_count": "51-200",
    "industry": "Software",
    "country": "United States",
    "state": "CA",
    "city": "San Francisco",
    "time_zone": "America/Los_Angeles",
    "form_type": "demo_request",
    "asset": "Product demo",
    "page_url": "https://example.com/demo",
    "campaign": "Q4 launch",
    "utm_source": "google",
    "utm_medium": "cpc",
    "utm_campaign": "q4",
    "utm_term": "lead routing",
    "utm_content": "ad-1",
    "referrer": "https://google.com",
    "landing_page": "https://example.com/",
    "consent": True,
    "visitor_id": "v-123",
    "custom": {"plan": "enterprise"},
}


def post(client, body, **headers):
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def test_it_creates_a_normalised_lead(keyed):
    response = post(keyed, FULL)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "ada.lovelace@analytical.io"
    assert body["status"] == "new"
    assert body["first_name"] == "Ada"
    assert body["job_title"] == "VP Engineering"
    assert body["phone"] == "+14155550100"
    assert body["country"] == "US"
    assert body["employee_count"] == 51
    assert body["employee_range"] == "51-200"
    assert body["website"] == "https://analytical.io"
    assert body["account"] == "analytical.io"
    assert body["source"] == "Website"
    assert body["custom"] == {"plan": "enterprise"}
    lead = Lead.objects.get()
    assert lead.account.name == "Analytical Engines"
    assert lead.utm_campaign == "q4"


def test_it_stores_the_raw_submission(keyed):
    post(keyed, FULL, REMOTE_ADDR="203.0.113.9")
    submission = Submission.objects.get()
    assert submission.payload == FULL
    assert submission.channel == "api"
    assert submission.source.name == "Website"
    assert submission.remote_addr == "203.0.113.9"
    assert submission.status == SubmissionStatus.PROCESSED
    assert submission.lead == Lead.objects.get()


def test_a_repeat_is_a_new_conversion_on_the_same_lead(keyed):
    post(keyed, {"email": "bob@corp.com", "first_name": "Bob", "form_type": "content_download"})
    response = post(keyed, {"email": "BOB@corp.com", "first_name": "", "last_name": "Builder",
                            "form_type": "pricing", "job_title": "CTO"})
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert lead.first_name == "Bob"  # never overwritten with a blank
    assert lead.last_name == "Builder"  # empty field filled
    assert lead.conversion_count == 2
    assert lead.last_form_type == "pricing"
    assert Activity.objects.filter(lead=lead, type="form_submit").count() == 2
    kinds = list(lead.timeline.order_by("occurred_at", "id").values_list("kind", flat=True))
    assert kinds == ["created", "submission", "fields"]


def test_a_repeat_never_blanks_a_known_value(keyed):
    post(keyed, {**FULL, "consent": True})
    before = Lead.objects.values().get()
    response = post(keyed, {"email": FULL["email"], "first_name": "", "company": "  ", "consent": None,
                            "custom": {}, "utm_source": ""})
    assert response.status_code == 200
    after = Lead.objects.values().get()
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"conversion_count", "last_converted_at", "updated_at"}
    assert after["last_form_type"] == "demo_request" and after["last_asset"] == "Product demo"
    assert after["conversion_count"] == 2


def test_a_repeat_fills_empty_fields_and_records_them(keyed):
    post(keyed, {"email": "dee@corp.com"})
    response = post(keyed, {"email": "dee@corp.com", "job_title": "CFO", "city": "Leeds", "consent": False,
                            "custom": {"plan": "team"}, "form_type": "pricing"})
    assert response.status_code == 200
    assert response.json()["job_title"] == "CFO"
    lead = Lead.objects.get()
    assert (lead.job_title, lead.city, lead.consent, lead.custom) == ("CFO", "Leeds", False, {"plan": "team"})
    assert lead.last_form_type == "pricing" and lead.conversion_count == 2
    filled = lead.timeline.get(kind="fields")
    assert filled.data["after"] == {"job_title": "CFO", "city": "Leeds", "consent": False,
                                    "custom": {"plan": "team"}}


def test_a_repeat_of_a_lead_without_an_account_gets_one(keyed):
    lead = LeadFactory(email="eve@later.io", account=None)
    assert post(keyed, {"email": "eve@later.io", "industry": "Retail"}).status_code == 200
    lead.refresh_from_db()
    assert lead.account.domain == "later.io"
    assert lead.account.industry == "Retail"


def test_a_repeat_keeps_known_values_and_records_the_difference(keyed):
    post(keyed, {"email": "c@corp.com", "job_title": "CTO"})
    post(keyed, {"email": "c@corp.com", "job_title": "CEO"})
    lead = Lead.objects.get()
    assert lead.job_title == "CTO"
    entry = lead.timeline.get(kind="submission")
    assert entry.data["conflicts"] == {"job_title": {"kept": "CTO", "received": "CEO"}}


def test_free_mail_makes_no_account(keyed):
    response = post(keyed, {"email": "someone@gmail.com", "company": "Acme"})
    assert response.json()["is_personal_email"] is True
    assert response.json()["account"] is None
    assert Account.objects.count() == 0


def test_leads_of_one_domain_share_an_account(keyed):
    post(keyed, {"email": "a@shared.io"})
    post(keyed, {"email": "b@shared.io", "industry": "Fintech"})
    assert Account.objects.get().domain == "shared.io"
    assert Account.objects.get().industry == "Fintech"
    assert Lead.objects.filter(account__domain="shared.io").count() == 2


def test_it_hands_the_lead_on_once_after_commit(keyed, django_capture_on_commit_callbacks):
    received = []

    def receiver(**kwargs):
        received.append(kwargs)

    submission_processed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post(keyed, {"email": "x@y.io"})
    finally:
        submission_processed.disconnect(receiver)
    assert len(received) == 1
    assert received[0]["lead_id"] == Lead.objects.get().pk
    assert received[0]["created"] is True
    assert received[0]["kind"] == "lead"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@b.io", "shoe_size": 44}, "shoe_size"),
        ({"email": "a@b.io", "employee_count": "lots"}, "employee_count"),
        ({"email": "a@b.io", "employee_count": "500-100"}, "employee_count"),
        ({"email": "a@b.io", "employee_count": True}, "employee_count"),
        ({"email": "a@b.io", "country": "Atlantis"}, "country"),
        ({"email": "a@b.io", "phone": "call me"}, "phone"),
        ({"email": "a@b.io", "phone": "+1 415"}, "phone"),
        ({"email": "a@b.io", "form_type": "carrier_pigeon"}, "form_type"),
        ({"email": "a@b.io", "consent": "maybe"}, "consent"),
        ({"email": "a@b.io", "custom": ["a"]}, "custom"),
        ({"email": "a@b.io", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"email": ["a@b.io"]}, "email"),
        ({"email": "a@b.io", "first_name": "x" * 101}, "first_name"),
    ],
)
def test_bad_fields_get_field_level_errors_and_change_nothing(keyed, body, field):
    response = post(keyed, body)
    assert response.status_code == 400
    assert field in response.json()["fields"], response.json()
    assert Lead.objects.count() == 0
    assert Submission.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "JSON parse error"),
        ("[1, 2]", "Expected a JSON object, got an array."),
        ('"a string"', "Expected a JSON object, got a string."),
        ("null", "Expected a JSON object, got null."),
        ("", "This field is required."),
    ],
)
def test_a_body_that_is_not_an_object_is_refused(keyed, raw, message):
    response = keyed.post(URL, data=raw, content_type="application/json")
    assert response.status_code == 400
    assert message in json.dumps(response.json())
    assert Lead.objects.count() == 0


def test_a_body_over_one_megabyte_is_refused(keyed):
    body = {"email": "a@b.io", "custom": {"blob": "x" * (1024 * 1024)}}
    response = post(keyed, body)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert Lead.objects.count() == 0


def test_a_form_encoded_body_is_refused(keyed):
    response = keyed.post(URL, data={"email": "a@b.io"})
    assert response.status_code == 415


@pytest.mark.parametrize(
    "header",
    [None, "Api-Key sdk_deadbeef_nope", "Api-Key garbage", "Bearer something", "Api-Key "],
)
def test_a_missing_or_wrong_key_is_refused(client, source, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post(URL, data=json.dumps({"email": "a@b.io"}), content_type="application/json", **extra)
    assert response.status_code in (401, 403)
    assert Lead.objects.count() == 0


def test_a_revoked_key_is_refused(client, source, api_key):
    from django.utils import timezone

    ApiKey.objects.update(revoked_at=timezone.now())
    response = client.post(URL, data=json.dumps({"email": "a@b.io"}), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert Lead.objects.count() == 0


def test_a_signed_in_user_cannot_post_leads_without_a_key(as_user, sdr):
    client = as_user(sdr)
    response = client.post(URL, data=json.dumps({"email": "a@b.io"}), content_type="application/json")
    assert response.status_code == 403


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["lead_upsert", "conversion_record"])
def test_a_failure_outside_a_transaction_still_stores_the_submission_once(keyed, monkeypatch, where):
    from inbound import services

    announced = []
    monkeypatch.setattr(submission_processed, "receivers", [])
    submission_processed.sender_receivers_cache.clear()
    submission_processed.connect(lambda **kwargs: announced.append(kwargs), weak=False)

    def explode(*args, **kwargs):
        raise RuntimeError(f"{where} exploded")

    monkeypatch.setattr(services, where, explode)
    response = post(keyed, {"email": "a@b.io"})
    assert response.status_code == 202
    assert response.json()["status"] == "failed"
    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.FAILED and submission.lead is None
    assert f"{where} exploded" in submission.error
    assert submission.payload == {"email": "a@b.io"} and submission.attempts == 1
    assert (Lead.objects.count(), Activity.objects.count(), TimelineEntry.objects.count()) == (0, 0, 0)
    assert announced == []
    submission_processed.sender_receivers_cache.clear()


def test_a_processing_failure_keeps_the_submission_and_answers_202(keyed, monkeypatch):
    from inbound import services

    def explode(**kwargs):
        raise RuntimeError("enrichment exploded")

    monkeypatch.setattr(services, "lead_upsert", explode)
    response = post(keyed, {"email": "a@b.io"})
    assert response.status_code == 202
    submission = Submission.objects.get()
    assert submission.status == SubmissionStatus.FAILED
    assert "enrichment exploded" in submission.error
    assert Lead.objects.count() == 0
    monkeypatch.undo()
    from django.core.management import call_command

    call_command("replay_submissions")
    submission.refresh_from_db()
    assert submission.status == SubmissionStatus.PROCESSED
    assert Lead.objects.get().email == "a@b.io"


def _statements(queries: CaptureQueriesContext) -> list[str]:
    """What intake sent, without the savepoints the test's own transaction makes it use."""
    return [q["sql"].split(" (")[0].split(" SET ")[0][:60] for q in queries
            if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_a_new_lead_takes_seven_statements_and_a_repeat_six(keyed):
    post(keyed, {"email": "warm@up.io"})
    post(keyed, {"email": "first@known.io"})
    with CaptureQueriesContext(connection) as new_domain:
        post(keyed, {"email": "ada@fresh.io", "first_name": "Ada", "form_type": "demo_request"})
    with CaptureQueriesContext(connection) as known_domain:
        post(keyed, {"email": "second@known.io", "first_name": "Bo", "form_type": "demo_request"})
    with CaptureQueriesContext(connection) as repeat:
        post(keyed, {"email": "second@known.io", "first_name": "Bo", "form_type": "demo_request"})
    with CaptureQueriesContext(connection) as repeat_with_news:
        post(keyed, {"email": "second@known.io", "last_name": "Diddley"})
    # the key, the account read, the lead upsert, the submission, the activity, pending events, the timeline
    assert len(_statements(known_domain)) == 7, _statements(known_domain)
    # a new domain inserts its account
    assert len(_statements(new_domain)) == 8, _statements(new_domain)
    # no pending-events lookup for a lead already known; one more write when the repeat brings a new value
    assert len(_statements(repeat)) == 6, _statements(repeat)
    assert len(_statements(repeat_with_news)) == 7, _statements(repeat_with_news)


def test_a_full_lead_with_a_visitor_takes_a_bounded_number_of_queries(keyed):
    post(keyed, {"email": "warm@up.io"})
    with CaptureQueriesContext(connection) as new:
        post(keyed, FULL)
    with CaptureQueriesContext(connection) as repeat:
        post(keyed, FULL)
    # as above, plus the visitor's link row
    assert len(_statements(new)) == 9, _statements(new)
    assert len(_statements(repeat)) == 8, _statements(repeat)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_intake_uses_no_savepoint(keyed, monkeypatch):
    monkeypatch.setattr(submission_processed, "receivers", [])
    submission_processed.sender_receivers_cache.clear()
    post(keyed, {"email": "warm@up.io"})
    with CaptureQueriesContext(connection) as queries:
        assert post(keyed, {"email": "ada@analytical.io"}).status_code == 201
    sql = [q["sql"] for q in queries]
    assert not [s for s in sql if "SAVEPOINT" in s], sql
    assert not [s for s in sql if s.startswith('UPDATE "inbound_submission"')], sql  # written once, processed
    submission_processed.sender_receivers_cache.clear()


def test_the_response_is_the_lead_serializers(keyed):
    from inbound.api import LeadOutSerializer

    created = post(keyed, FULL).json()
    repeated = post(keyed, {**FULL, "first_name": "Augusta"}).json()
    lead = Lead.objects.select_related("source", "account").get()
    assert repeated == json.loads(json.dumps(LeadOutSerializer(lead).data))
    assert created["id"] == repeated["id"] and created["conversion_count"] == 1
    assert repeated["conversion_count"] == 2 and repeated["first_name"] == "Ada"


class TestReading:
    def test_staff_list_and_filter_leads(self, as_user, sdr, keyed):
        post(keyed, {"email": "one@a.io"})
        post(keyed, {"email": "two@b.io"})
        client = as_user(sdr)
        body = client.get(URL).json()
        assert [lead["email"] for lead in body["results"]] == ["two@b.io", "one@a.io"]
        assert client.get(URL, {"email": "ONE@a.io"}).json()["results"][0]["email"] == "one@a.io"
        assert client.get(URL, {"status": "qualified"}).json()["results"] == []
        assert len(client.get(URL, {"source": "Website"}).json()["results"]) == 2

    def test_it_paginates(self, as_user, sdr):
        LeadFactory.create_batch(5)
        client = as_user(sdr)
        first = client.get(URL, {"page_size": 2}).json()
        assert len(first["results"]) == 2 and first["next"]
        second = client.get(first["next"]).json()
        assert len(second["results"]) == 2
        assert {r["id"] for r in first["results"]}.isdisjoint({r["id"] for r in second["results"]})

    def test_bad_filters_are_refused(self, as_user, sdr):
        client = as_user(sdr)
        assert client.get(URL, {"status": "bogus"}).status_code == 400
        assert client.get(URL, {"created_after": "yesterday"}).status_code == 400

    def test_it_filters_by_creation_time(self, as_user, sdr):
        from datetime import timedelta

        from django.utils import timezone

        old = LeadFactory(created_at=timezone.now() - timedelta(days=10))
        new = LeadFactory()
        client = as_user(sdr)
        since = (timezone.now() - timedelta(days=1)).isoformat()
        ids = [r["id"] for r in client.get(URL, {"created_after": since}).json()["results"]]
        assert ids == [new.pk]
        ids = [r["id"] for r in client.get(URL, {"created_before": since}).json()["results"]]
        assert ids == [old.pk]

    def test_a_key_sees_only_its_own_sources_leads(self, keyed, client):
        post(keyed, {"email": "mine@a.io"})
        other = LeadFactory(email="theirs@b.io", source=SourceFactory(name="Partner"))
        body = keyed.get(URL).json()
        assert [r["email"] for r in body["results"]] == ["mine@a.io"]
        assert keyed.get(f"{URL}{other.pk}/").status_code == 404
        mine = Lead.objects.get(email="mine@a.io")
        assert keyed.get(f"{URL}{mine.pk}/").json()["email"] == "mine@a.io"

    def test_anonymous_and_roleless_users_may_not_read(self, client, as_user, outsider):
        lead = LeadFactory()
        assert client.get(URL).status_code in (401, 403)
        assert client.get(f"{URL}{lead.pk}/").status_code in (401, 403)
        roleless = as_user(outsider)
        assert roleless.get(URL).status_code == 403
        assert roleless.get(f"{URL}{lead.pk}/").status_code == 403

    def test_a_missing_lead_is_404(self, as_user, sdr):
        assert as_user(sdr).get(f"{URL}999999/").status_code == 404

    def test_listing_takes_a_constant_number_of_queries(self, as_user, sdr):
        client = as_user(sdr)
        LeadFactory.create_batch(3)
        with CaptureQueriesContext(connection) as few:
            client.get(URL)
        LeadFactory.create_batch(20)
        with CaptureQueriesContext(connection) as many:
            client.get(URL)
        assert len(many) == len(few)


def test_the_timeline_records_the_creation(keyed):
    post(keyed, FULL)
    entry = TimelineEntry.objects.get()
    assert entry.kind == "created"
    assert "Demo request" in entry.summary
    assert entry.actor_label == "API: Website"


def test_keys_of_two_sources_record_their_own_source(client):
    key = api_key_for(SourceFactory(name="G2"))
    client.post(URL, data=json.dumps({"email": "a@b.io"}), content_type="application/json",
                HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert Lead.objects.get().source.name == "G2"
