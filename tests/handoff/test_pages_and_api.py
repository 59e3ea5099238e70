"""The handoff's pages and API: every new URL for every role, field-level refusals, the inbox's queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sdr_desk.handoff.models import Handoff, HandoffStatus
from sdr_desk.handoff.services import lead_handoff
from sdr_desk.roles import Role
from tests.factories import UserFactory
from tests.handoff.fixtures import ready_lead, soon

pytestmark = pytest.mark.django_db

ROLES = ("sdr", "ae", "manager", "marketing", "admin", "anonymous")


@pytest.fixture
def people(desk):
    return {"sdr": desk["ann"], "ae": desk["amy"], "manager": desk["ae_boss"],
            "marketing": UserFactory(username="mkt", roles=[Role.MARKETING]),
            "admin": UserFactory(username="root", is_superuser=True, is_staff=True), "anonymous": None}


def client_of(user):
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


# (name, method, url builder, body, expected status per role). The handoff is pending, to amy.
def matrix(desk, handoff):
    lead, other = ready_lead(desk["ann"], country="US"), ready_lead(desk["ann"], country="US")
    return [
        ("inbox", "get", reverse("handoff-inbox"), None,
         {"sdr": 403, "ae": 200, "manager": 200, "marketing": 403, "admin": 200, "anonymous": 302}),
        ("page handoff", "post", reverse("lead-handoff", args=[lead.pk]), {"ae": ""},
         {"sdr": 302, "ae": 403, "manager": 403, "marketing": 403, "admin": 403, "anonymous": 302}),
        ("page verdict", "post", reverse("handoff-verdict", args=[handoff.pk]), {"verdict": "accept"},
         {"sdr": 403, "ae": 302, "manager": 403, "marketing": 403, "admin": 403, "anonymous": 302}),
        ("page meeting", "post", reverse("handoff-meeting", args=[handoff.pk]), {"outcome": "cancelled"},
         {"sdr": 302, "ae": 302, "manager": 302, "marketing": 403, "admin": 302, "anonymous": 302}),
        ("api list", "get", reverse("api-handoffs"), None,
         {"sdr": 200, "ae": 200, "manager": 200, "marketing": 200, "admin": 200, "anonymous": 403}),
        ("api reasons", "get", reverse("api-rejection-reasons"), None,
         {"sdr": 200, "ae": 200, "manager": 200, "marketing": 200, "admin": 200, "anonymous": 403}),
        ("api handoff", "post", reverse("api-lead-handoff", args=[other.pk]), {},
         {"sdr": 201, "ae": 403, "manager": 403, "marketing": 403, "admin": 403, "anonymous": 403}),
        ("api verdict", "post", reverse("api-handoff-verdict", args=[handoff.pk]), {"verdict": "accept"},
         {"sdr": 403, "ae": 200, "manager": 403, "marketing": 403, "admin": 403, "anonymous": 403}),
        ("api meeting", "post", reverse("api-handoff-meeting", args=[handoff.pk]), {"outcome": "cancelled"},
         {"sdr": 200, "ae": 200, "manager": 200, "marketing": 403, "admin": 200, "anonymous": 403}),
        # Reassign: the AE team's manager (and a superuser); cancel: the SDR (and a superuser; their own
        # manager too, tested in test_reassign_cancel.py).
        ("page reassign", "post", reverse("handoff-reassign", args=[handoff.pk]), {"ae": desk["carl"].pk},
         {"sdr": 403, "ae": 403, "manager": 302, "marketing": 403, "admin": 302, "anonymous": 302}),
        ("api reassign", "post", reverse("api-handoff-reassign", args=[handoff.pk]), {"ae": desk["carl"].pk},
         {"sdr": 403, "ae": 403, "manager": 200, "marketing": 403, "admin": 200, "anonymous": 403}),
        ("page cancel", "post", reverse("handoff-cancel", args=[handoff.pk]), {"reason": "Not ready after all"},
         {"sdr": 302, "ae": 403, "manager": 403, "marketing": 403, "admin": 302, "anonymous": 302}),
        ("api cancel", "post", reverse("api-handoff-cancel", args=[handoff.pk]), {"reason": "Not ready after all"},
         {"sdr": 200, "ae": 403, "manager": 403, "marketing": 403, "admin": 200, "anonymous": 403}),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_new_url_for_every_role(desk, people, role):
    handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], meeting_at=soon())
    for name, method, url, body, expected in matrix(desk, handoff):
        # Each write runs on a fresh pending handoff with a meeting ahead, so one role's success is not the next's 409.
        Handoff.objects.filter(pk=handoff.pk).update(status=HandoffStatus.PENDING, meeting_status="scheduled",
                                                     ae=desk["amy"], ae_team=desk["americas"])
        client = client_of(people[role])
        response = getattr(client, method)(url, body, format="json") if method == "post" and name.startswith("api") \
            else getattr(client, method)(url, body or {})
        assert response.status_code == expected[role], (name, role, response.content[:300])


class TestBadInput:
    def test_a_verdict_by_another_ae_is_a_field_level_403_and_nothing_changes(self, desk):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"])
        response = client_of(desk["carl"]).post(reverse("api-handoff-verdict", args=[handoff.pk]),
                                                {"verdict": "accept"}, format="json")
        assert response.status_code == 403 and list(response.json()["fields"]) == ["ae"]
        handoff.refresh_from_db()
        assert handoff.status == HandoffStatus.PENDING and handoff.verdict_at is None

    def test_a_meeting_in_the_past_is_a_field_level_400_and_nothing_changes(self, desk):
        past = (timezone.now() - timedelta(hours=2)).isoformat()
        response = client_of(desk["ann"]).post(reverse("api-lead-handoff", args=[desk["lead"].pk]),
                                               {"meeting_at": past}, format="json")
        assert response.status_code == 400 and list(response.json()["fields"]) == ["meeting_at"]
        assert not Handoff.objects.exists()

    def test_an_unknown_reason_is_a_field_level_400(self, desk):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"])
        response = client_of(desk["amy"]).post(reverse("api-handoff-verdict", args=[handoff.pk]),
                                               {"verdict": "reject", "reason": "Meh"}, format="json")
        assert response.status_code == 400 and list(response.json()["fields"]) == ["reason"]

    def test_not_the_owner_is_a_403(self, desk):
        response = client_of(desk["bob"]).post(reverse("api-lead-handoff", args=[desk["lead"].pk]), {},
                                               format="json")
        assert response.status_code == 403 and not Handoff.objects.exists()

    def test_the_page_form_shows_a_past_meeting_beside_the_field(self, desk, client):
        client.force_login(desk["ann"])
        response = client.post(reverse("lead-handoff", args=[desk["lead"].pk]), {"meeting_at": "2020-01-01T10:00"})
        assert response.status_code == 400 and "The meeting time is in the past" in response.content.decode()
        assert not Handoff.objects.exists()


class TestReads:
    def test_the_lead_detail_has_its_handoff(self, desk):
        at = soon()
        lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], meeting_at=at)
        body = client_of(desk["ann"]).get(reverse("api-lead-detail", args=[desk["lead"].pk])).json()
        assert body["handoff"]["ae"] == "amy" and body["handoff"]["status"] == "pending"
        assert set(body["handoff"]) >= {"ae", "status", "meeting_at", "verdict", "verdict_reason", "accepted_at"}
        assert body["qualification"]["complete"] is True  # what qualification added is still there

    def test_the_schema_has_every_endpoint(self, desk):
        schema = client_of(desk["ann"]).get("/api/schema/?format=json").json()
        for path in ("/api/v1/leads/{id}/handoff/", "/api/v1/handoffs/", "/api/v1/handoffs/{id}/verdict/",
                     "/api/v1/handoffs/{id}/meeting/", "/api/v1/rejection-reasons/", "/api/v1/handoffs/{id}/reassign/",
                     "/api/v1/handoffs/{id}/cancel/"):
            assert path in schema["paths"], path
        assert "handoff" in schema["components"]["schemas"]["HandoffLead"]["properties"]

    def test_the_inbox_shows_pending_first_with_answers_and_both_zones(self, desk, client):
        lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], meeting_at=soon(), note="Call at lunch")
        client.force_login(desk["amy"])
        body = client.get(reverse("handoff-inbox")).content.decode()
        assert "Ada Lovelace" in body and "left to accept" in body and "Call at lunch" in body
        assert "Role and authority" in body and "AE Tue" not in body and "(UTC)" in body  # the AE works in UTC

    def test_the_inbox_costs_the_same_queries_for_one_handoff_or_five(self, desk, client,
                                                                      django_assert_max_num_queries):
        lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"])
        client.force_login(desk["amy"])
        client.get(reverse("handoff-inbox"))
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as one:
            client.get(reverse("handoff-inbox"))
        for _ in range(4):
            lead_handoff(ready_lead(desk["ann"], country="US").pk, sdr=desk["ann"], ae=desk["amy"])
        with django_assert_max_num_queries(len(one)):
            client.get(reverse("handoff-inbox"))


def test_the_review_page_shows_each_leads_handoff_in_a_fixed_number_of_queries(client, transactional_db):
    """The managers' disposition review page carries a Handoff column (review_columns), read once per page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sdr_desk.handoff.models import Handoff

    assert Handoff._meta.get_field("status")  # the column reads the handoff's status and verdict
    from sdr_desk.dispositions.views import _review_columns

    assert [c.header for c in _review_columns()] == ["Handoff"]
    rows = []
    with CaptureQueriesContext(connection) as queries:
        from sdr_desk.handoff.review import handoffs_attach

        handoffs_attach(rows)
    assert len(queries) == 0  # no rows: no query
