"""The signature page and the A/B section of the sequences page in real Chromium (screenshots kept)."""

from __future__ import annotations

from django.utils import timezone

from sdr_desk.roles import Role
from sdr_desk.sequences.models import Enrollment, RepSignature, StepRun, StepVariant
from tests.board.test_board_browser import asgi_server, dialogs, new_context, shot  # noqa: F401
from tests.browser_support import needs_chromium
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import UserFactory
from tests.sequences.helpers import template_make
from tests.sequences.test_ab import EMAIL, outcomes_make

pytestmark = needs_chromium


def signed_in(make_context, server: str, username: str):
    page = make_context().new_page()
    page.goto(f"{server}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_a_rep_writes_their_signature_in_the_browser(asgi_server, new_context, dialogs):  # noqa: F811
    ann = rep_make("ann", team_make("Inbound", visibility="claim"))
    page = signed_in(new_context, asgi_server, "ann")
    page.goto(f"{asgi_server}/sequences/signature/")
    page.fill("#signature-text", "Ann | Inbound <team>\n+1 555 0100")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Signature saved.")
    shot(page, "sequences-signature")
    assert RepSignature.objects.get(user=ann).text == "Ann | Inbound <team>\n+1 555 0100"
    assert page.input_value("#signature-text") == "Ann | Inbound <team>\n+1 555 0100"
    assert dialogs == []


def test_a_manager_reads_the_variants_rates_in_the_browser(asgi_server, new_context):  # noqa: F811
    UserFactory(username="boss", roles=[Role.MANAGER])
    template = template_make("Researchers: email first", steps=[EMAIL])
    step = template.steps.get()
    a = StepVariant.objects.create(step=step, label="A", subject="{first_name}, your guide", body="Hi")
    b = StepVariant.objects.create(step=step, label="B", subject="A question about {company}", body="Hi")
    outcomes_make(template, a, sent=30, replies=15, meetings=4)
    outcomes_make(template, b, sent=30, replies=3, meetings=3)
    page = signed_in(new_context, asgi_server, "boss")
    page.goto(f"{asgi_server}/sequences/")
    page.wait_for_selector(f"#ab-step-{step.pk}")
    shot(page, "sequences-ab")
    text = page.inner_text(f"#ab-step-{step.pk}")
    assert "50.0%" in text and "10.0%" in text and "A wins (95%)" in text
    assert page.locator("td.winner").count() == 1


def test_a_manager_edits_a_sequence_in_the_browser(asgi_server, new_context, dialogs):  # noqa: F811
    UserFactory(username="boss", roles=[Role.MANAGER])
    template = template_make("Hand-raisers: call first", steps=[
        {"channel": "call", "delay_minutes": 0}, {"channel": "voicemail", "delay_business_days": 0},
        {**EMAIL, "delay_minutes": None, "delay_business_days": 1}])
    email = template.steps.get(channel="email")
    StepVariant.objects.create(step=email, label="A", subject="{first_name}, your demo", body="Hi")
    page = signed_in(new_context, asgi_server, "boss")
    page.goto(f"{asgi_server}/sequences/{template.pk}/")
    page.click(f"#step-{email.pk} button[value=up]")
    page.wait_for_load_state()
    assert page.inner_text("#steps tbody tr:nth-child(2)").startswith("2\tEmail")
    shot(page, "sequences-manage")
    page.click("text=Add a step")
    page.select_option("#id_channel", "sms")
    page.fill("#id_delay_business_days", "-2")
    page.click("button[type=submit]")
    page.wait_for_selector(".has-error")
    shot(page, "sequences-step-errors")
    assert page.locator(".has-error").count() == 1
    assert "A delay cannot be negative." in page.inner_text(".has-error")
    assert template.steps.count() == 3

    # Deleting asks first: cancelled (the fixture dismisses every dialog), nothing is posted.
    voicemail = template.steps.get(channel="voicemail")
    page.goto(f"{asgi_server}/sequences/{template.pk}/")
    page.click(f"#step-{voicemail.pk} button[aria-label='Delete step 3']")
    page.wait_for_timeout(300)
    assert dialogs == ["Delete step 3 (Voicemail)? A step that has run for a lead is kept."]
    assert template.steps.count() == 3
    # Confirmed (htmx asks through window.confirm): the unused step goes and the rest close up.
    dialogs.clear()
    page.evaluate("window.confirm = () => true")
    page.click(f"#step-{voicemail.pk} button[aria-label='Delete step 3']")
    page.wait_for_selector("text=Step 3 (Voicemail) deleted.")  # the last: no steps after it to move up
    shot(page, "sequences-delete-step")
    assert page.locator("#steps tbody tr").count() == 2
    assert list(template.steps.order_by("position").values_list("channel", "position")) == [("call", 0), ("email", 1)]
    # A step that has run for a lead is kept, and the page says why.
    lead = hot_lead()
    enrollment = Enrollment.objects.create(lead=lead, template=template, status="stopped")
    StepRun.objects.create(enrollment=enrollment, step=email, due_at=timezone.now(), status="done")
    page.evaluate("window.confirm = () => true")
    page.click(f"#step-{email.pk} button[aria-label='Delete step 2']")
    page.wait_for_selector("text=it has run for 1 lead")
    shot(page, "sequences-delete-refused")
    assert template.steps.count() == 2 and email.variants.count() == 1
    assert dialogs == []
    # Refused outright (the sequence became another team's while the page was open): the boosted form shows the
    # site's 403 page with the reason instead of seeming to do nothing.
    template.team = team_make("EMEA", is_default=False, manager=UserFactory(username="other-boss",
                                                                          roles=[Role.MANAGER]))
    template.save()
    call = template.steps.get(channel="call")
    page.evaluate("window.confirm = () => true")
    page.click(f"#step-{call.pk} button[aria-label='Delete step 1']")
    page.wait_for_selector("text=only its manager or an admin may change it")
    assert template.steps.count() == 2
