"""In real Chromium: Duplicate asks for the survivor and merges; the codes page a manager keeps."""

from __future__ import annotations

from inbound.models import Lead
from sdr_desk.dispositions.models import DispositionCode
from sdr_desk.roles import Role
from tests.browser_support import SCREENSHOTS, needs_chromium
from tests.dispositions.test_merge import desk_make
from tests.factories import UserFactory

pytestmark = needs_chromium


def sign_in(page, live_server, username: str, then: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={then}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"**{then}")


def test_choosing_duplicate_asks_for_the_survivor_and_merges(page, live_server, transactional_db):
    desk = desk_make()
    dup, survivor = desk["dup"], desk["survivor"]
    sign_in(page, live_server, "ann", "/board/")
    card = page.locator(f"#card-{dup.pk}")
    card.wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(SCREENSHOTS / "card-disposition.png"))
    card.locator("[data-disposition]").click()
    page.wait_for_url(f"**/leads/{dup.pk}/#disposition")
    form = page.locator("[data-disposition-form]")
    assert form.locator("[data-disposition-merge]").is_hidden()
    form.locator("select[name=code]").select_option("duplicate")
    assert form.locator("[data-disposition-merge]").is_visible()
    form.locator("input[name=into]").fill("nobody@nowhere.io")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=No lead with the id or email")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#disposition").screenshot(path=str(SCREENSHOTS / "merge-error.png"))
    form = page.locator("[data-disposition-form]")
    assert form.locator("[data-disposition-merge]").is_visible()  # the choice survived the 400
    form.locator("input[name=into]").fill(survivor.email)
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"**/leads/{survivor.pk}/")
    page.wait_for_selector("text=Merged into this lead")
    page.screenshot(path=str(SCREENSHOTS / "merge-survivor.png"), full_page=True)
    assert Lead.objects.get(pk=dup.pk).merged_into_id == survivor.pk
    page.goto(f"{live_server.url}/leads/{dup.pk}/")
    assert "Merged into" in page.locator("[data-merged-into]").inner_text()
    page.locator("#disposition").screenshot(path=str(SCREENSHOTS / "merge-duplicate.png"))


def test_a_manager_adds_and_reorders_codes(page, live_server, transactional_db):
    UserFactory(username="boss", roles=[Role.MANAGER])
    sign_in(page, live_server, "boss", "/dispositions/codes/")
    page.fill("#id_name", "Wrong person")
    page.fill("#id_slug", "wrong-person")
    page.select_option("#id_outcome", "disqualified")
    page.fill("#id_reasons", "Left the company\nNo authority")
    page.click("#add button[type=submit]")
    page.wait_for_selector("text=added at the end")
    page.click("button[aria-label='Move Wrong person up']")
    page.wait_for_load_state()
    page.screenshot(path=str(SCREENSHOTS / "disposition-codes.png"), full_page=True)
    slugs = list(DispositionCode.objects.order_by("position").values_list("slug", flat=True))
    assert slugs[-2] == "wrong-person"
