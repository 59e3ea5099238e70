"""In real Chromium: an SDR qualifies and hands off from the lead page, the AE accepts from the inbox,
the AE team's manager sees it among their teams' handoffs."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from sdr_desk.handoff.models import Handoff, HandoffSettings
from sdr_desk.roles import Role
from tests.browser_support import SCREENSHOTS, needs_chromium
from tests.desk_fixtures import rep_make, team_make
from tests.factories import UserFactory
from tests.handoff.fixtures import ae_make, ready_lead

pytestmark = needs_chromium


def sign_in(page, live_server, username: str, next_url: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_url}")


def test_an_sdr_hands_off_the_ae_accepts_and_the_manager_sees_it(page, live_server, transactional_db):
    boss = UserFactory(username="boss", first_name="Priya", roles=[Role.MANAGER])
    team = team_make("Inbound", visibility="claim", manager=boss)
    ann = rep_make("ann", team, time_zone="America/New_York")
    aes = team_make("Americas AEs", visibility="owned", is_default=False, manager=boss)
    HandoffSettings.objects.create(team=aes, countries=["NA"])
    ae_make("amy", aes, time_zone="America/Los_Angeles")
    lead = ready_lead(ann, country="US", first_name="Ada", last_name="Lovelace", company="Engines")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    sign_in(page, live_server, "ann", f"/leads/{lead.pk}/")
    form = page.locator("[data-handoff-form]")
    form.locator("textarea[name=note]").fill("Wants pricing for 40 seats")
    day = (timezone.now() + timedelta(days=14)).astimezone(ZoneInfo("America/New_York")).date()
    form.locator("input[name=meeting_at]").fill(f"{day.isoformat()}T10:30")
    page.screenshot(path=str(SCREENSHOTS / "handoff-panel.png"), full_page=True)
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=Handed off to Amy Closer")
    assert "Waiting for the AE" in page.locator("#handoff").inner_text()
    handoff = Handoff.objects.get(lead=lead)
    # Typed in the SDR's zone (New York), stored in UTC.
    assert handoff.ae.username == "amy"
    assert handoff.meeting_at == datetime.combine(day, time(10, 30), tzinfo=ZoneInfo("America/New_York"))

    sign_in(page, live_server, "amy", "/handoffs/")
    item = page.locator(f"[data-handoff='{handoff.pk}']")
    assert "left to accept" in item.inner_text() and "Wants pricing for 40 seats" in item.inner_text()
    assert "America/Los_Angeles" in item.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "handoff-inbox.png"), full_page=True)
    item.locator("button", has_text="Accept").click()
    page.wait_for_selector("text=Accepted: the lead is yours.")
    handoff.refresh_from_db()
    assert handoff.status == "accepted"

    sign_in(page, live_server, "boss", "/handoffs/")
    item = page.locator(f"[data-handoff='{handoff.pk}']")
    assert "Accepted" in item.inner_text() and "From Ann" in item.inner_text()
    assert item.locator("button", has_text="Accept").count() == 0  # the verdict is the AE's alone
    page.screenshot(path=str(SCREENSHOTS / "handoff-manager.png"), full_page=True)

    # And on the review page, where the manager reads how their teams' leads ended: the handoff and its verdict.
    page.goto(f"{live_server.url}/dispositions/")
    row = page.locator(".review-table tbody tr", has_text="Handed to AE")
    row = row if row.count() else page.locator(".review-table tbody tr").first
    assert "Accepted" in row.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "handoff-review.png"), full_page=True)


def test_a_manager_sets_a_territory_and_reassigns_a_handoff(page, live_server, transactional_db):
    boss = UserFactory(username="boss", first_name="Priya", roles=[Role.MANAGER])
    team = team_make("Inbound", visibility="claim", manager=boss)
    ann = rep_make("ann", team)
    aes = team_make("Americas AEs", visibility="owned", is_default=False, manager=boss)
    HandoffSettings.objects.create(team=aes, countries=["NA"], acceptance_sla_hours=8)
    HandoffSettings.objects.create(team=team, ae_team=aes)
    ae_make("amy", aes)
    carl = ae_make("carl", aes)
    lead = ready_lead(ann, country="US", first_name="Ada", last_name="Lovelace", company="Engines")
    from sdr_desk.handoff.services import lead_handoff

    handoff = lead_handoff(lead.pk, sdr=ann, ae=Handoff._meta.get_field("ae").related_model.objects.get(username="amy"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    sign_in(page, live_server, "boss", "/handoffs/settings/")
    page.fill(f"input[name='team{aes.pk}-countries']", "US, XX")
    page.locator(f"form#settings-{aes.pk} button").click()
    page.wait_for_selector("text=Not an ISO country code or a region: XX")
    page.screenshot(path=str(SCREENSHOTS / "handoff-settings-error.png"), full_page=True)
    page.fill(f"input[name='team{aes.pk}-countries']", "US, CA")
    page.fill(f"input[name='team{aes.pk}-acceptance_sla_hours']", "4")
    page.locator(f"form#settings-{aes.pk} button").click()
    page.wait_for_selector("text=handoff settings saved")
    page.screenshot(path=str(SCREENSHOTS / "handoff-settings.png"), full_page=True)
    assert HandoffSettings.objects.get(team=aes).countries == ["US", "CA"]

    page.goto(f"{live_server.url}/handoffs/")
    item = page.locator(f"[data-handoff='{handoff.pk}']")
    item.locator("select[name=ae]").select_option(str(carl.pk))
    item.locator("input[name=why]").fill("Amy is at the offsite")
    item.locator("button", has_text="Reassign").click()
    page.wait_for_selector("text=Reassigned: the new AE has it")
    page.screenshot(path=str(SCREENSHOTS / "handoff-reassigned.png"), full_page=True)
    assert Handoff.objects.get(pk=handoff.pk).ae == carl
