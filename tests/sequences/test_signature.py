"""A rep's own signature for ``{rep_signature}``: set on a small page, plain text, escaped where shown, used
in the sequence email; empty means the name and address; bad input is refused by field; only reps and
managers have the page, each for themselves."""

from __future__ import annotations

import pytest
from django.test import override_settings

from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.sequences.models import RepSignature, StepRun
from sdr_desk.sequences.sending import step_send
from sdr_desk.sequences.services import enrollment_start
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import UserFactory
from tests.sequences.helpers import template_make

pytestmark = pytest.mark.django_db
URL = "/sequences/signature/"
EMAIL = {"channel": "email", "mode": "automatic", "delay_minutes": 0, "subject": "Hi", "body": "Hello.\n\n{rep_signature}"}


@pytest.fixture
def ann():
    user = rep_make("ann", team_make("Inbound", visibility="claim"))
    user.last_name = "Lee"
    user.save()
    return user


def sent_body(ann, mailoutbox) -> str:
    lead = hot_lead()
    lead_route(lead.pk)
    lead_claim(lead.pk, user=ann)
    enrollment_start(lead.pk, template_make("Mail", steps=[EMAIL]), by=ann)
    StepRun.objects.update(status="due")
    with override_settings(SEQUENCES_MIN_SPACING_SECONDS=0):
        assert step_send(StepRun.objects.get().pk) == "sent"
    return mailoutbox[-1].body


def test_the_rep_sets_a_signature_and_their_emails_end_with_it(ann, client, mailoutbox):
    client.force_login(ann)
    page = client.get(URL)
    assert page.status_code == 200 and "Ann Lee\nann@desk.test" in page.content.decode()  # the default shown
    response = client.post(URL, {"text": "Ann Lee | Inbound team\r\n+1 555 0100  \r\n"})
    assert response.status_code == 302
    assert RepSignature.objects.get(user=ann).text == "Ann Lee | Inbound team\n+1 555 0100"
    assert sent_body(ann, mailoutbox).startswith("Hello.\n\nAnn Lee | Inbound team\n+1 555 0100\n")


def test_without_one_the_email_is_signed_with_the_name_and_address(ann, mailoutbox):
    assert sent_body(ann, mailoutbox).startswith("Hello.\n\nAnn Lee\nann@desk.test\n")


def test_an_empty_signature_goes_back_to_the_default(ann, client):
    RepSignature.objects.create(user=ann, text="Old one")
    client.force_login(ann)
    assert client.post(URL, {"text": "  "}).status_code == 302
    assert not RepSignature.objects.exists()


def test_markup_is_kept_as_plain_text_and_escaped_on_the_page(ann, client, mailoutbox):
    client.force_login(ann)
    client.post(URL, {"text": "<b>Ann</b> {first_name} & co"})
    page = client.get(URL).content.decode()
    assert "&lt;b&gt;Ann&lt;/b&gt; {first_name} &amp; co" in page and "<b>Ann</b>" not in page
    assert "<b>Ann</b> {first_name} & co" in sent_body(ann, mailoutbox)  # as written: a value, never a template


@pytest.mark.parametrize(("text", "error"), [("x" * 601, "At most 600 characters"),
                                             ("\n".join("line" for _ in range(9)), "At most 8 lines")])
def test_a_bad_signature_is_refused_by_field_and_nothing_changes(ann, client, text, error):
    RepSignature.objects.create(user=ann, text="Kept")
    client.force_login(ann)
    response = client.post(URL, {"text": text})
    assert response.status_code == 400 and error in response.content.decode()
    assert 'class="errorlist"' in response.content.decode()
    assert RepSignature.objects.get(user=ann).text == "Kept"


def test_a_rep_only_ever_edits_their_own(ann, client):
    bob = rep_make("bob", None)
    RepSignature.objects.create(user=ann, text="Ann's")
    client.force_login(bob)
    client.post(URL, {"text": "Bob's", "user": ann.pk})
    assert RepSignature.objects.get(user=ann).text == "Ann's" and RepSignature.objects.get(user=bob).text == "Bob's"


@pytest.mark.parametrize(("role", "get", "post"), [(Role.SDR, 200, 302), (Role.MANAGER, 200, 302),
                                                   (Role.AE, 403, 403), (Role.MARKETING, 403, 403), (None, 403, 403)])
def test_who_may_use_the_page(client, role, get, post):
    user = UserFactory(username="someone", roles=[role] if role else [])
    client.force_login(user)
    assert client.get(URL).status_code == get
    assert client.post(URL, {"text": "Me"}).status_code == post
    assert RepSignature.objects.filter(user=user).exists() == (post == 302)


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    assert client.get(URL).status_code == 302 and client.post(URL, {"text": "x"}).status_code == 302
    assert not RepSignature.objects.exists()


def test_the_page_is_post_or_get_only(ann, client):
    client.force_login(ann)
    assert client.put(URL).status_code == 405
