"""Real Chromium, headless, against a live server on the real database."""

from __future__ import annotations

import json

from inbound.models import Lead
from sdr_desk.roles import Role
from tests.browser_support import SCREENSHOTS, needs_chromium
from tests.factories import SourceFactory, UserFactory, api_key_for

pytestmark = needs_chromium


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_an_sdr_signs_in_finds_a_new_lead_and_reads_its_timeline(page, live_server, transactional_db):
    from rest_framework.test import APIClient

    UserFactory(username="sdr1", first_name="Sam", last_name="Rivera", roles=[Role.SDR])
    key = api_key_for(SourceFactory(name="Website"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    for body in [
        {"email": "ada@analytical.io", "first_name": "Ada", "last_name": "Lovelace", "job_title": "VP Revenue",
         "company": "Analytical Engines", "country": "GB", "phone": "020 7946 0958", "form_type": "demo_request",
         "asset": "Product demo", "utm_source": "google", "utm_medium": "cpc"},
        {"email": "grace@navy.mil", "first_name": "<b>Grace</b>", "company": "Navy", "form_type": "content_download",
         "asset": "RevOps guide"},
    ]:
        assert api.post("/api/v1/leads/", data=json.dumps(body), content_type="application/json").status_code == 201

    page.goto(f"{live_server.url}/leads/")
    assert "/accounts/login/" in page.url
    sign_in(page, live_server, "sdr1")
    page.wait_for_url("**/board/")  # an SDR's home is the board
    page.goto(f"{live_server.url}/leads/")
    page.wait_for_selector("text=Ada Lovelace")
    assert page.locator("text=<b>Grace</b>").count() == 1  # shown as text, not markup
    shot(page, "leads")

    page.fill("input[name=q]", "analyt")
    page.wait_for_function("() => !document.querySelector('#lead-rows').innerText.includes('Grace')")
    assert "q=analyt" in page.url  # the filter is in the address, so a reload keeps it

    page.click("text=Ada Lovelace")
    page.wait_for_selector("text=Lead created from Demo request (Product demo) via Website")
    assert page.locator("a[href='tel:+442079460958']").count() == 1
    shot(page, "lead")

    page.click("text=Sign out")
    page.wait_for_url("**/accounts/login/")
    assert Lead.objects.count() == 2
