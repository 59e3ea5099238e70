"""The webhooks API for admins: endpoints with field-level refusals, the delivery log, replay."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from sdr_desk.roles import Role
from sdr_desk.webhooks.models import Delivery, DeliveryStatus, Endpoint
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhooks/endpoints/"
DELIVERIES = "/api/v1/webhooks/deliveries/"
GOOD = {"name": "CRM", "url": "https://crm.example.com/hooks/desk", "events": ["disposition", "handoff"]}

BAD_URLS = [
    ("ftp://crm.example.com/hooks", "scheme is “ftp:”"),
    ("javascript:alert(1)", "scheme is “javascript:”"),
    ("file:///etc/passwd", "scheme is “file:”"),
    ("crm.example.com/hooks", "scheme is none"),
    ("//crm.example.com/hooks", "scheme is none"),
    ("http://", "with a host"),
    ("https://exa mple.com/x", "with a host"),
]


@pytest.fixture
def admin_api(db) -> APIClient:
    client = APIClient()
    client.force_login(UserFactory(username="dana", roles=[Role.ADMIN]))
    return client


def created(admin_api, **changes) -> dict:
    response = admin_api.post(ENDPOINTS, {**GOOD, **changes}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


class TestEndpoints:
    def test_an_admin_adds_one_and_sees_its_secret_once(self, admin_api):
        body = created(admin_api)
        endpoint = Endpoint.objects.get()
        assert body["secret"] == endpoint.secret and len(endpoint.secret) >= 40
        assert (body["events"], body["is_active"], body["timeout_seconds"], body["created_by"]) == (
            ["disposition", "handoff"], True, 5, "dana")
        assert "secret" not in admin_api.get(ENDPOINTS).json()[0]
        assert "secret" not in admin_api.get(f"{ENDPOINTS}{endpoint.pk}/").json()

    def test_each_endpoint_gets_its_own_secret(self, admin_api):
        created(admin_api)
        created(admin_api, name="Warehouse")
        assert Endpoint.objects.values("secret").distinct().count() == 2

    @pytest.mark.parametrize(("url", "says"), BAD_URLS)
    def test_a_url_that_is_not_http_is_a_field_error_and_nothing_is_made(self, admin_api, url, says):
        response = admin_api.post(ENDPOINTS, {**GOOD, "url": url}, format="json")
        assert response.status_code == 400
        body = response.json()
        assert body["error"] == "invalid" and list(body["fields"]) == ["url"]
        assert says in body["fields"]["url"][0]
        assert not Endpoint.objects.exists()

    @pytest.mark.parametrize(("url", "says"), BAD_URLS)
    def test_changing_to_such_a_url_is_refused_and_changes_nothing(self, admin_api, url, says):
        endpoint_id = created(admin_api)["id"]
        response = admin_api.patch(f"{ENDPOINTS}{endpoint_id}/", {"url": url, "name": "Renamed"}, format="json")
        assert response.status_code == 400 and list(response.json()["fields"]) == ["url"]
        endpoint = Endpoint.objects.get()
        assert (endpoint.url, endpoint.name) == (GOOD["url"], "CRM")

    @pytest.mark.parametrize(("url", "says"), BAD_URLS)
    def test_the_model_refuses_it_too(self, url, says):
        with pytest.raises(ValidationError) as refused:
            Endpoint(name="x", url=url, events=["disposition"]).full_clean()
        assert list(refused.value.message_dict) == ["url"] and says in refused.value.message_dict["url"][0]

    @pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "https://crm.example.com/a?b=c", "HTTPS://X.IO/"])
    def test_http_and_https_urls_are_taken(self, admin_api, url):
        assert created(admin_api, url=url)["url"] == url

    @pytest.mark.parametrize(("changes", "field"), [
        ({"events": ["disposition", "telepathy"]}, "events"),
        ({"events": []}, "events"),
        ({"events": "disposition"}, "events"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": 31}, "timeout_seconds"),
        ({"name": ""}, "name"),
        ({"secret": "mine"}, "secret"),  # generated, never chosen
        ({"surprise": 1}, "surprise"),
    ])
    def test_other_bad_input_is_refused_by_field(self, admin_api, changes, field):
        response = admin_api.post(ENDPOINTS, {**GOOD, **changes}, format="json")
        assert response.status_code == 400 and field in response.json()["fields"]
        assert not Endpoint.objects.exists()

    def test_an_admin_changes_and_deletes_one(self, admin_api):
        endpoint_id = created(admin_api)["id"]
        response = admin_api.patch(f"{ENDPOINTS}{endpoint_id}/", {"is_active": False, "events": ["meeting"],
                                                                   "timeout_seconds": 10}, format="json")
        assert response.status_code == 200
        endpoint = Endpoint.objects.get()
        assert (endpoint.is_active, endpoint.events, endpoint.timeout_seconds, endpoint.url) == (
            False, ["meeting"], 10, GOOD["url"])
        assert admin_api.delete(f"{ENDPOINTS}{endpoint_id}/").status_code == 204
        assert not Endpoint.objects.exists()
        assert admin_api.get(f"{ENDPOINTS}{endpoint_id}/").status_code == 404

    def test_the_event_kinds_are_listed_with_what_they_mean(self, admin_api):
        kinds = {k["kind"]: k["description"] for k in admin_api.get("/api/v1/webhooks/events/").json()}
        assert {"disposition", "handoff", "handoff_verdict", "meeting"} <= set(kinds)
        assert "disposition" in kinds["disposition"]


class TestDeliveries:
    @pytest.fixture
    def log(self):
        crm = Endpoint.objects.create(name="CRM", url=GOOD["url"], events=["disposition"])
        other = Endpoint.objects.create(name="Other", url=GOOD["url"], events=["disposition", "meeting"])
        Delivery.objects.create(endpoint=crm, event_id="tl-1", kind="disposition", payload={"id": "tl-1"},
                                status=DeliveryStatus.DELIVERED, attempts=1)
        Delivery.objects.create(endpoint=other, event_id="tl-1", kind="disposition", payload={"id": "tl-1"},
                                status=DeliveryStatus.DEAD, attempts=12, last_error="HTTP 500")
        Delivery.objects.create(endpoint=other, event_id="tl-2", kind="meeting", payload={"id": "tl-2"})
        return {"crm": crm, "other": other}

    def test_the_log_lists_newest_first_and_filters(self, admin_api, log):
        every = admin_api.get(DELIVERIES).json()["results"]
        assert [(d["event_id"], d["status"]) for d in every] == [
            ("tl-2", "pending"), ("tl-1", "dead"), ("tl-1", "delivered")]
        assert every[1]["last_error"] == "HTTP 500" and every[1]["payload"] == {"id": "tl-1"}
        assert [d["status"] for d in admin_api.get(DELIVERIES, {"status": "dead"}).json()["results"]] == ["dead"]
        assert len(admin_api.get(DELIVERIES, {"endpoint": log["other"].pk}).json()["results"]) == 2
        assert len(admin_api.get(DELIVERIES, {"kind": "meeting"}).json()["results"]) == 1
        assert len(admin_api.get(DELIVERIES, {"event_id": "tl-1"}).json()["results"]) == 2

    def test_a_bad_filter_is_a_400(self, admin_api, log):
        response = admin_api.get(DELIVERIES, {"status": "lost"})
        assert response.status_code == 400 and "status" in response.json()["fields"]

    def test_the_log_reads_in_a_fixed_number_of_queries(self, admin_api, log, django_assert_num_queries):
        for i in range(20):
            Delivery.objects.create(endpoint=log["crm"], event_id=f"tl-{100 + i}", kind="disposition", payload={})
        with django_assert_num_queries(5):  # session, user, their and their groups' permissions, the page
            assert len(admin_api.get(DELIVERIES).json()["results"]) == 23

    def test_a_replay_requeues_it_with_attempts_from_zero(self, admin_api, log):
        dead = Delivery.objects.get(status=DeliveryStatus.DEAD)
        response = admin_api.post(f"{DELIVERIES}{dead.pk}/replay/")
        assert response.status_code == 202
        assert (response.json()["status"], response.json()["attempts"], response.json()["event_id"]) == (
            "pending", 0, "tl-1")
        assert admin_api.post(f"{DELIVERIES}99999/replay/").status_code == 404

    def test_the_schema_describes_the_webhooks_endpoints(self, admin_api):
        paths = admin_api.get("/api/schema/?format=json").json()["paths"]
        assert {"/api/v1/webhooks/endpoints/", "/api/v1/webhooks/endpoints/{id}/", "/api/v1/webhooks/deliveries/",
                "/api/v1/webhooks/deliveries/{id}/replay/", "/api/v1/webhooks/events/"} <= set(paths)
