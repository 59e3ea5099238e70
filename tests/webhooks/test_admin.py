"""The admin: endpoints with their secret shown read-only, the delivery log with Replay."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sdr_desk.roles import Role
from sdr_desk.webhooks.admin import EndpointForm
from sdr_desk.webhooks.models import Delivery, DeliveryStatus, Endpoint
from tests.factories import UserFactory
from tests.webhooks.test_api import BAD_URLS

pytestmark = pytest.mark.django_db

GOOD = {"name": "CRM", "url": "https://crm.example.com/hooks", "events": ["disposition"], "is_active": "on",
        "timeout_seconds": "5"}


@pytest.fixture
def dana(client):
    client.force_login(UserFactory(username="dana", roles=[Role.ADMIN], is_staff=True))
    return client


@pytest.fixture
def dead_delivery():
    endpoint = Endpoint.objects.create(name="CRM", url=GOOD["url"], events=["disposition"])
    return Delivery.objects.create(endpoint=endpoint, event_id="tl-7", kind="disposition",
                                   payload={"id": "tl-7", "summary": "Disposition: <b>Bad fit</b>"},
                                   status=DeliveryStatus.DEAD, attempts=12, last_error="HTTP 500 Internal Server Error")


class TestEndpointAdmin:
    @pytest.mark.parametrize(("url", "says"), BAD_URLS)
    def test_the_form_refuses_a_url_that_is_not_http(self, url, says):
        form = EndpointForm(data={**GOOD, "url": url})
        assert not form.is_valid() and list(form.errors) == ["url"] and says in form.errors["url"][0]

    @pytest.mark.parametrize(("url", "says"), BAD_URLS[:4])
    def test_the_add_page_shows_the_error_and_makes_nothing(self, dana, url, says):
        response = dana.post(reverse("admin:webhooks_endpoint_add"), {**GOOD, "url": url})
        assert response.status_code == 200 and says in response.content.decode()
        assert not Endpoint.objects.exists()

    def test_an_unknown_event_is_not_a_choice(self):
        form = EndpointForm(data={**GOOD, "events": ["telepathy"]})
        assert not form.is_valid() and "events" in form.errors

    def test_an_admin_adds_one_and_then_sees_its_secret_read_only(self, dana):
        response = dana.post(reverse("admin:webhooks_endpoint_add"), {**GOOD, "events": ["disposition", "meeting"]})
        assert response.status_code == 302
        endpoint = Endpoint.objects.get()
        assert endpoint.created_by.username == "dana" and endpoint.events == ["disposition", "meeting"]
        page = dana.get(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk])).content.decode()
        assert endpoint.secret in page and 'name="secret"' not in page
        dana.post(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]), {**GOOD, "secret": "mine"})
        endpoint.refresh_from_db()
        assert endpoint.secret != "mine"


class TestDeliveryAdmin:
    def test_the_log_filters_by_status_endpoint_and_kind(self, dana, dead_delivery):
        Endpoint.objects.create(name="Warehouse", url=GOOD["url"], events=["disposition"])  # two to choose from
        page = dana.get(reverse("admin:webhooks_delivery_changelist"), {"status__exact": "dead"})
        assert page.status_code == 200 and b"tl-7" in page.content
        assert all(f" By {title} ".encode() in page.content for title in ("status", "endpoint", "kind"))
        assert b"tl-7" not in dana.get(reverse("admin:webhooks_delivery_changelist"),
                                       {"status__exact": "delivered"}).content

    def test_a_delivery_shows_its_body_and_error_and_a_replay_button(self, dana, dead_delivery):
        page = dana.get(reverse("admin:webhooks_delivery_change", args=[dead_delivery.pk])).content.decode()
        assert "HTTP 500 Internal Server Error" in page
        assert "&lt;b&gt;Bad fit&lt;/b&gt;" in page and "<b>Bad fit</b>" not in page  # escaped
        assert reverse("admin:webhooks_delivery_replay", args=[dead_delivery.pk]) in page
        assert 'name="_save"' not in page

    def test_the_replay_button_requeues_it(self, dana, dead_delivery):
        url = reverse("admin:webhooks_delivery_replay", args=[dead_delivery.pk])
        assert dana.get(url).status_code == 405
        response = dana.post(url)
        assert response.status_code == 302
        dead_delivery.refresh_from_db()
        assert (dead_delivery.status, dead_delivery.attempts, dead_delivery.event_id) == ("pending", 0, "tl-7")

    def test_the_replay_action_requeues_the_selected(self, dana, dead_delivery):
        other = Delivery.objects.create(endpoint=dead_delivery.endpoint, event_id="tl-8", kind="disposition",
                                        payload={}, status=DeliveryStatus.DELIVERED, attempts=1)
        response = dana.post(reverse("admin:webhooks_delivery_changelist"),
                             {"action": "replay", "_selected_action": [dead_delivery.pk, other.pk]})
        assert response.status_code == 302
        assert set(Delivery.objects.values_list("status", "attempts")) == {("pending", 0)}

    def test_nobody_adds_a_delivery_by_hand(self, dana):
        assert dana.get(reverse("admin:webhooks_delivery_add")).status_code == 403
