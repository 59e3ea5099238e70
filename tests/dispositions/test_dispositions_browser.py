"""The disposition form in real Chromium: the chosen code's reasons only, the re-engage date for nurture."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from inbound.models import Lead
from sdr_desk.dispositions.models import Disposition
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import touch_log
from tests.browser_support import SCREENSHOTS, needs_chromium
from tests.desk_fixtures import hot_lead, rep_make, team_make

pytestmark = needs_chromium


def test_a_rep_records_a_nurture_disposition_from_the_lead_page(page, live_server, transactional_db):
    team = team_make("Inbound", visibility="claim")
    ann = rep_make("ann", team)
    lead = hot_lead(first_name="Ada", last_name="Lovelace", company="Analytical Engines")
    lead_route(lead.pk)
    lead_claim(lead.pk, user=ann)
    touch_log(lead.pk, rep=ann, channel="call", outcome="connected", notes="Budget lands in Q3")

    page.goto(f"{live_server.url}/accounts/login/?next=/leads/{lead.pk}/")
    page.fill("#id_username", "ann")
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/leads/{lead.pk}/")

    form = page.locator("[data-disposition-form]")
    assert form.locator("[data-disposition-reengage]").is_hidden()  # no code chosen: no date to give
    form.locator("select[name=code]").select_option("not-ready-nurture")
    assert form.locator("[data-disposition-reengage]").is_visible()
    visible = form.locator("select[name=reason] optgroup:not([hidden])")
    assert visible.count() == 1 and visible.get_attribute("label") == "Not ready - nurture"
    form.locator("select[name=reason]").select_option("No budget this year")
    back = timezone.localdate() + timedelta(days=60)
    form.locator("input[name=reengage_on]").fill(back.isoformat())
    form.locator("textarea[name=note]").fill("Call again when the Q3 budget is approved")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "disposition-form.png"), full_page=True)
    form.locator("button[type=submit]").click()

    page.wait_for_selector("text=Recorded: Not ready - nurture")
    assert page.locator("#disposition").inner_text().count("No budget this year") == 1
    assert page.locator("[data-disposition-form]").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "disposition-recorded.png"), full_page=True)
    disposition = Disposition.objects.get(lead=lead)
    assert (disposition.code.slug, disposition.reengage_on) == ("not-ready-nurture", back)
    assert Lead.objects.get(pk=lead.pk).status == "nurture"
