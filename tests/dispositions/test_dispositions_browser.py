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
from tests.desk_fixtures import answers_give, hot_lead, rep_make, team_make

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


def test_a_manager_reviews_a_disposition_and_reopens_it(page, live_server, transactional_db):
    from sdr_desk.dispositions.services import lead_disposition
    from sdr_desk.roles import Role
    from tests.factories import UserFactory

    boss = UserFactory(username="boss", first_name="Priya", roles=[Role.MANAGER])
    team = team_make("Inbound", visibility="claim", manager=boss)
    ann = rep_make("ann", team)
    for name, code, reason in (("Ada", "bad-fit", "Too small"), ("Grace", "no-response", ""),
                               ("Linus", "qualified-meeting-set", "")):
        lead = hot_lead(first_name=name, last_name="Example", company=f"{name} Co")
        lead_route(lead.pk)
        lead_claim(lead.pk, user=ann)
        touch_log(lead.pk, rep=ann, channel="call", outcome="no_answer")
        if code.startswith("qualified"):
            answers_give(lead.pk, ann)
        lead_disposition(lead.pk, user=ann, code=code, reason=reason)

    page.goto(f"{live_server.url}/accounts/login/?next=/dispositions/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_url("**/dispositions/")
    assert page.locator(".review-table tbody tr").count() == 3
    row = page.locator(".review-table tbody tr", has_text="Grace Example")
    row.locator("a", has_text="Change or reopen").click()  # the forms come on demand (htmx)
    row.locator("input[name=why][aria-label='Why reopen']").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "disposition-review.png"), full_page=True)
    row.locator("input[name=why][aria-label='Why reopen']").fill("She called back asking for pricing")
    row.locator("button", has_text="Reopen").click()
    page.wait_for_selector("text=Reopened: the lead is back on its rep's board.")
    assert "history: changed or reopened" in page.locator(".review-table tbody tr", has_text="Grace").inner_text()
    assert Disposition.objects.filter(is_current=True).count() == 2
