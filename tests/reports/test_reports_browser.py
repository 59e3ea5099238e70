"""In real Chromium: a manager reads speed to lead with its charts drawn and follows a figure to its leads;
marketing lands on the handoff report."""

from __future__ import annotations

import pytest

from sdr_desk.reports.rollups import facts_refresh
from tests.browser_support import SCREENSHOTS, needs_chromium
from tests.reports.fixtures import MON_10, desk_make, lead_arrive

pytestmark = needs_chromium

RANGE = "since=2026-11-01&until=2026-11-30"


def sign_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def desk(transactional_db):
    desk = desk_make()
    lead_arrive(desk, "quick", arrived=MON_10, owner=desk.ann, touch_after=120, business=120,
                touches=[(600, "call", "connected")])
    lead_arrive(desk, "slow", arrived=MON_10, owner=desk.bob, touch_after=7200, business=7200)
    lead_arrive(desk, "never", arrived=MON_10, owner=desk.bob)
    facts_refresh(full=True)
    return desk


def test_a_manager_reads_speed_to_lead_and_opens_the_leads_behind_a_figure(page, live_server, desk):
    sign_in(page, live_server, "priya")
    page.goto(f"{live_server.url}/reports/?{RANGE}")
    page.wait_for_function("document.querySelectorAll('canvas[data-chart]').length === 2 && "
                           "[...document.querySelectorAll('canvas[data-chart]')].every(c => c.chart)")
    assert page.locator("header.topbar nav a[aria-current=page]").inner_text() == "Reports"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reports-speed-manager.png"), full_page=True)
    # Bob's "Never" figure: one lead, the one nobody touched.
    row = page.locator("#table-by-rep tr", has_text="Bob")
    row.locator("td").nth(3).locator("a").click()
    page.wait_for_url("**/reports/leads/**")
    assert page.locator("text=1 lead").count() == 1
    assert page.locator(f"a[href='/leads/{desk.leads['never'].pk}/']").count() == 1


def test_marketing_lands_on_the_handoff_report(page, live_server, desk):
    sign_in(page, live_server, "mia")
    page.wait_for_url("**/reports/handoff/")
    page.goto(f"{live_server.url}/reports/handoff/?{RANGE}")
    assert page.locator("h2", has_text="By source").count() == 1
    assert page.locator("#table-sources td", has_text="Website").count() == 1
    page.goto(f"{live_server.url}/reports/funnel/?{RANGE}")
    page.wait_for_function("document.querySelector('canvas[data-chart]') && document.querySelector('canvas[data-chart]').chart")
    page.screenshot(path=str(SCREENSHOTS / "reports-funnel-marketing.png"), full_page=True)


def test_a_manager_picks_the_last_12_months_and_reads_the_kept_figures_again(page, live_server, desk, settings):
    """A year's figures are kept (every figure counts as slow here): the second look reads them from the
    snapshot, and the page is the same."""
    from sdr_desk.reports.models import ReportSnapshot

    settings.REPORT_SNAPSHOT_SLOW_MS = 0
    sign_in(page, live_server, "priya")
    page.goto(f"{live_server.url}/reports/")
    page.click(".report-presets a:text('12 months')")
    page.wait_for_url("**/reports/?since=*")
    assert page.locator(".report-presets a[aria-current=true]").inner_text() == "12 months"
    first = page.locator("#table-summary").inner_text()
    assert ReportSnapshot.objects.filter(figure="speed_summary").count() == 2  # 30 days, then 12 months
    page.reload()
    assert page.locator("#table-summary").inner_text() == first
    page.screenshot(path=str(SCREENSHOTS / "reports-speed-year-manager.png"), full_page=True)
