"""A sequence on the live board in real Chromium: the call logged from the hot-lead card does the first
call step; the next step comes due onto the rep's Due today and the rep does it from the card."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import connections
from django.utils import timezone

from sdr_desk.routing.models import LeadAssignment
from sdr_desk.sequences.models import StepRun
from tests.board.test_board_browser import (  # noqa: F401  the board's fixtures: a server, a desk, signed-in boards
    asgi_server,
    board_for,
    desk,
    dialogs,
    new_context,
    routed_lead_made,
    shot,
)
from tests.browser_support import needs_chromium
from tests.sequences.helpers import template_make

pytestmark = needs_chromium


def off_the_loop(work):
    """Services push to the board with async_to_sync, which refuses Playwright's thread."""
    def run():
        try:
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def call_from_the_card(page, server: str, lead_id: int, section: str) -> None:
    page.wait_for_selector(f"[data-cards={section}] #card-{lead_id} [data-call]", timeout=5000)
    page.click(f"[data-cards={section}] #card-{lead_id} [data-call]")
    page.wait_for_url(f"**/leads/{lead_id}/#call")
    page.wait_for_selector("#touch-dialog input[value=call]:checked", state="attached", timeout=5000)
    page.click("#touch-dialog label:has(input[value=no_answer])")
    page.click("[data-touch-save]")
    page.wait_for_load_state()


def test_a_due_step_is_on_the_board_and_the_rep_does_it_from_the_card(asgi_server, desk, board_for, dialogs):  # noqa: F811
    template_make("Hand-raisers", team=desk["sdr1"].rep.team, tier="hand_raiser", auto_enroll=True,
                  steps=[{"channel": "call", "delay_minutes": 0}, {"channel": "call", "delay_business_days": 0}])
    lead = routed_lead_made(claimed_by=desk["sdr1"], first_name="Ada", phone="+12125550186")
    assert StepRun.objects.get(enrollment__lead=lead, step__position=0).status == "pending"
    page = board_for("sdr1")

    # The first call, from the hot-lead card: the first call step is done, the next is scheduled.
    call_from_the_card(page, asgi_server, lead.pk, "hot")
    page.wait_for_selector("#sequence .step-done", timeout=5000)
    assert StepRun.objects.get(enrollment__lead=lead, step__position=0).status == "done"
    shot(page, "sequence_lead_panel")

    # The sweep makes the second call due: it is on the rep's Due today.
    def sweep():
        from sdr_desk.sequences.services import steps_due_sweep

        return steps_due_sweep(now=timezone.now() + timedelta(seconds=1))

    assert off_the_loop(sweep)["due"] == 1
    page.goto(f"{asgi_server}/board/")
    page.wait_for_selector(f"[data-cards=due] #card-{lead.pk}", timeout=5000)
    assert "Sequence step 2: Call" in page.locator(f"#card-{lead.pk}").inner_text()
    shot(page, "sequence_due_today")

    # Done from the card: the step and the enrolment complete, and the card leaves Due today.
    call_from_the_card(page, asgi_server, lead.pk, "due")
    page.wait_for_selector("#sequence .status-completed", timeout=5000)
    assert StepRun.objects.get(enrollment__lead=lead, step__position=1).status == "done"
    assert LeadAssignment.objects.get(lead=lead).next_step_at is None
    assert dialogs == []
