"""Personas and clients shared by the tests."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from sdr_desk.roles import Role
from tests.browser_support import browser, page  # noqa: F401  the headless Chromium fixtures of the browser tests
from tests.factories import SourceFactory, UserFactory, api_key_for


@pytest.fixture
def source(db):
    return SourceFactory(name="Website", channel="web_form")


@pytest.fixture
def api_key(source) -> str:
    return api_key_for(source)


@pytest.fixture
def keyed(api_key) -> APIClient:
    """A system sending leads with the Website source's key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    return client


@pytest.fixture
def sdr(db):
    return UserFactory(username="sdr", roles=[Role.SDR])


@pytest.fixture
def manager(db):
    return UserFactory(username="boss", roles=[Role.MANAGER])


@pytest.fixture
def marketing(db):
    return UserFactory(username="mkt", roles=[Role.MARKETING])


@pytest.fixture
def outsider(db):
    """Signed in, but with no role."""
    return UserFactory(username="nobody")


@pytest.fixture
def as_user(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in
