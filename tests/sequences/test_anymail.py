"""Replies through django-anymail's normalised inbound (Postmark's inbound webhook): anymail checks the
webhook secret and sends ``anymail.signals.inbound``; sequences hand the message to the same processing as
the raw endpoint, so matching, classifying and the timeline are the same."""

from __future__ import annotations

import base64
import email
import email.policy
import json

import pytest
from django.test import override_settings

from inbound.models import TimelineEntry
from sdr_desk.sequences.models import Enrollment, InboundMessage, Outbox
from sdr_desk.sequences.sending import step_send
from tests.sequences.test_sending import desk_make, due_run

pytestmark = pytest.mark.django_db
URL = "/anymail/postmark/inbound/"
SECRET = "postmark:s3cret-webhook"


def auth(secret: str = SECRET) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def postmark_payload(*, sender: str, in_reply_to: str, headers: list[dict] | None = None) -> dict:
    """Shaped as Postmark's inbound webhook posts it (developer docs' example, parsed fields, no RawEmail)."""
    return {
        "FromName": "Kim Park", "MessageStream": "inbound", "From": sender,
        "FromFull": {"Email": sender, "Name": "Kim Park", "MailboxHash": ""},
        "To": "\"Ann Lee\" <ann@desk.test>", "ToFull": [{"Email": "ann@desk.test", "Name": "Ann Lee", "MailboxHash": ""}],
        "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [], "OriginalRecipient": "ann@desk.test",
        "Subject": "Re: Kim, the Demo request you took", "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "ReplyTo": "", "MailboxHash": "", "Date": "Fri, 4 Dec 2026 10:20:00 -0500",
        "TextBody": "Sounds good, call me Tuesday.\n\nOn Thu, Ann wrote:\n> Hi Kim", "HtmlBody": "",
        "StrippedTextReply": "Sounds good, call me Tuesday.", "Tag": "",
        "Headers": [{"Name": "Return-Path", "Value": f"<{sender}>"},
                    {"Name": "X-Spam-Status", "Value": "No"},
                    {"Name": "Message-ID", "Value": "<CAF=reply-1@mail.example>"},
                    {"Name": "In-Reply-To", "Value": in_reply_to},
                    {"Name": "References", "Value": in_reply_to}, *(headers or [])],
        "Attachments": [],
    }


@pytest.fixture
def sent(mailoutbox):
    desk = desk_make()
    with override_settings(SEQUENCES_MIN_SPACING_SECONDS=0):
        assert step_send(due_run(desk["lead"]).pk) == "sent"
    return desk, Outbox.objects.get()


@override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_a_reply_posted_by_postmark_stops_the_sequence_matched_by_in_reply_to(client, sent):
    desk, outbox = sent
    payload = postmark_payload(sender=desk["lead"].email, in_reply_to=outbox.message_id)
    response = client.post(URL, json.dumps(payload), content_type="application/json", **auth())
    assert response.status_code == 200
    record = InboundMessage.objects.get()
    assert (record.kind, record.from_address, record.message_id) == ("reply", desk["lead"].email,
                                                                     "<CAF=reply-1@mail.example>")
    assert f"matched by In-Reply-To <sequence-{outbox.pk}@...>" in record.rule
    kept = email.message_from_string(record.raw, policy=email.policy.default)
    assert kept.get_body(("plain",)).get_content().startswith("Sounds good, call me Tuesday.")  # kept whole
    enrollment = Enrollment.objects.get(lead=desk["lead"])
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "reply")
    assert TimelineEntry.objects.filter(lead=desk["lead"], kind="sequence", data__change="reply").exists()


@override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_an_out_of_office_through_postmark_pauses_it(client, sent):
    desk, outbox = sent
    payload = postmark_payload(sender=desk["lead"].email, in_reply_to=outbox.message_id,
                               headers=[{"Name": "Auto-Submitted", "Value": "auto-replied"}])
    assert client.post(URL, json.dumps(payload), content_type="application/json", **auth()).status_code == 200
    assert InboundMessage.objects.get().kind == "auto_reply"
    assert Enrollment.objects.get(lead=desk["lead"]).status == "paused"


@override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_a_message_matching_nothing_is_kept_as_unmatched(client, sent):
    payload = postmark_payload(sender="stranger@else.example", in_reply_to="<nothing@else.example>")
    assert client.post(URL, json.dumps(payload), content_type="application/json", **auth()).status_code == 200
    assert InboundMessage.objects.get().kind == "unmatched"
    assert Enrollment.objects.get().status == "active"


@override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_a_wrong_secret_is_refused_and_nothing_is_recorded(client, sent):
    desk, outbox = sent
    payload = json.dumps(postmark_payload(sender=desk["lead"].email, in_reply_to=outbox.message_id))
    assert client.post(URL, payload, content_type="application/json", **auth("postmark:wrong")).status_code == 400
    assert client.post(URL, payload, content_type="application/json").status_code == 400
    assert not InboundMessage.objects.exists() and Enrollment.objects.get().status == "active"


@override_settings(ANYMAIL={"WEBHOOK_SECRET": ""})
def test_with_no_secret_configured_the_endpoint_refuses_everything(client, sent):
    desk, outbox = sent
    payload = json.dumps(postmark_payload(sender=desk["lead"].email, in_reply_to=outbox.message_id))
    assert client.post(URL, payload, content_type="application/json", **auth()).status_code == 403
    assert not InboundMessage.objects.exists()


@override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET})
def test_it_is_post_only(client):
    assert client.get(URL, **auth()).status_code == 405
