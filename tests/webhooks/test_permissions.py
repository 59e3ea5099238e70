"""Every webhooks URL, API and admin, for every role: the Admin role (and superusers) only.

Everyone signed in here is staff, so the admin pages are refused for their
permissions, not for the staff flag.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from sdr_desk.roles import Role
from sdr_desk.webhooks.models import Delivery, Endpoint
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ANONYMOUS, SUPERUSER, API_KEY = "anonymous", "superuser", "api key"
REFUSED_ROLES = [Role.SDR, Role.AE, Role.MANAGER, Role.MARKETING]
ALLOWED = [Role.ADMIN, SUPERUSER]
EVERYONE = [*REFUSED_ROLES, *ALLOWED, ANONYMOUS]
NEW_URL = "https://crm.example.com/new"

# (method, url name or admin path, body, the allowed status)
API = [
    ("get", "api-webhook-events", None, 200),
    ("get", "api-webhook-endpoints", None, 200),
    ("post", "api-webhook-endpoints", {"name": "New", "url": NEW_URL, "events": ["disposition"]}, 201),
    ("get", "api-webhook-endpoint", None, 200),
    ("patch", "api-webhook-endpoint", {"name": "Renamed"}, 200),
    ("delete", "api-webhook-endpoint", None, 204),
    ("get", "api-webhook-deliveries", None, 200),
    ("post", "api-webhook-delivery-replay", None, 202),
]
ADMIN = [
    ("get", "admin:webhooks_endpoint_changelist", None, 200),
    ("get", "admin:webhooks_endpoint_add", None, 200),
    ("post", "admin:webhooks_endpoint_add", {"name": "New", "url": NEW_URL, "events": ["disposition"],
                                             "timeout_seconds": "5"}, 302),
    ("get", "admin:webhooks_endpoint_change", None, 200),
    ("get", "admin:webhooks_endpoint_delete", None, 200),
    ("get", "admin:webhooks_delivery_changelist", None, 200),
    ("get", "admin:webhooks_delivery_change", None, 200),
    ("post", "admin:webhooks_delivery_replay", None, 302),
]


@pytest.fixture
def objects():
    endpoint = Endpoint.objects.create(name="CRM", url="https://crm.example.com/hooks", events=["disposition"])
    delivery = Delivery.objects.create(endpoint=endpoint, event_id="tl-1", kind="disposition", payload={},
                                       status="dead", attempts=12)
    return {"endpoint": endpoint, "delivery": delivery}


def _url(name: str, objects: dict) -> str:
    if name.endswith(("endpoint", "endpoint_change", "endpoint_delete")):
        return reverse(name, args=[objects["endpoint"].pk])
    if name.endswith(("replay", "delivery_change")):
        return reverse(name, args=[objects["delivery"].pk])
    return reverse(name)


def _client(who: str, client_class=APIClient):
    client = client_class()
    if who == ANONYMOUS:
        return client
    if who == SUPERUSER:
        client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    else:
        client.force_login(UserFactory(username=f"u-{who}", roles=[who], is_staff=True))
    return client


def _unchanged(objects: dict) -> bool:
    endpoint = Endpoint.objects.filter(pk=objects["endpoint"].pk).first()
    delivery = Delivery.objects.get(pk=objects["delivery"].pk)
    return (Endpoint.objects.count() == 1 and endpoint is not None and endpoint.name == "CRM"
            and delivery.status == "dead")


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize(("method", "name", "body", "allowed"), API, ids=[f"{m} {n}" for m, n, _, _ in API])
def test_the_api(objects, who, method, name, body, allowed):
    response = getattr(_client(who), method)(_url(name, objects), body, format="json")
    if who in ALLOWED:
        assert response.status_code == allowed, response.content
    else:
        assert response.status_code == 403 and response.json()["error"] in ("permission_denied", "not_authenticated"), (
            response.content)
        assert _unchanged(objects)


@pytest.mark.parametrize(("method", "name", "body", "allowed"), API, ids=[f"{m} {n}" for m, n, _, _ in API])
def test_the_api_refuses_api_keys(objects, keyed, method, name, body, allowed):
    response = getattr(keyed, method)(_url(name, objects), body, format="json")
    assert response.status_code in (401, 403) and _unchanged(objects)


@pytest.mark.parametrize("who", EVERYONE)
@pytest.mark.parametrize(("method", "name", "body", "allowed"), ADMIN, ids=[f"{m} {n}" for m, n, _, _ in ADMIN])
def test_the_admin(objects, client, who, method, name, body, allowed):
    from django.test import Client

    response = getattr(_client(who, Client), method)(_url(name, objects), body or {})
    if who in ALLOWED:
        assert response.status_code == allowed
    elif who == ANONYMOUS:
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))  # to sign in
        assert _unchanged(objects)
    else:
        assert response.status_code == 403 and _unchanged(objects)


@pytest.mark.parametrize("role", REFUSED_ROLES)
def test_the_admin_index_shows_webhooks_to_admins_only(role):
    from django.test import Client

    assert b"Webhooks" not in _client(role, Client).get(reverse("admin:index")).content
    assert b"Webhooks" in _client(Role.ADMIN, Client).get(reverse("admin:index")).content
