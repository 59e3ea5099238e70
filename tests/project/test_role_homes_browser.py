"""AEs and marketing in real Chromium: they land on their home, see no Claim, and a forbidden page is styled."""

from __future__ import annotations

import pytest

from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from tests.browser_support import SCREENSHOTS, needs_chromium
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import UserFactory

pytestmark = needs_chromium


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(("role", "username", "forbidden", "home"), [
    (Role.AE, "ae1", "/imports/", "/handoffs/"), (Role.MARKETING, "marketing", "/routing/", "/reports/handoff/"),
])
def test_they_land_on_their_home_see_no_claim_and_a_forbidden_page_is_styled(
        page, live_server, transactional_db, role, username, forbidden, home):
    team_make("Inbound", visibility="claim")
    rep_make("ann", team_make("Other", is_default=False))
    lead = hot_lead(first_name="Ada", last_name="Lovelace", email="ada@analytical.io")
    lead_route(lead.pk)  # offered to the claim team: a rep there would see Claim
    UserFactory(username=username, first_name="Pat", roles=[role])

    sign_in(page, live_server, username)
    page.wait_for_url(f"**{home}")
    if home != "/leads/":  # the AE's home is the handoff inbox; the leads are one click away
        page.goto(f"{live_server.url}/leads/")
    page.wait_for_selector("text=Ada Lovelace")
    nav = page.locator("header.topbar nav")
    assert nav.locator("text=Leads").count() == 1 and nav.locator("text=Board").count() == 0
    assert page.locator("text=Claim").count() == 0
    shot(page, f"home-{username}")

    page.click("text=Ada Lovelace")
    page.wait_for_url(f"**/leads/{lead.pk}/")
    assert page.locator("button:has-text('Claim')").count() == 0

    for url in ("/board/", forbidden):
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 403, url
        assert page.locator("header.topbar").is_visible()  # inside the site's layout, signed in
        assert page.locator(".problem h1").inner_text() == "Not allowed"
        assert page.locator("button:has-text('Claim')").count() == 0
    shot(page, f"forbidden-{username}")

    page.goto(f"{live_server.url}/board/")
    assert "The board is where SDRs and managers work" in page.locator(".problem-reason").inner_text()
    shot(page, f"no-board-{username}")
    page.click("text=Go to your home page")
    page.wait_for_url(f"**{home}")
