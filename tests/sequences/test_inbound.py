"""Replies, auto-replies and bounces posted as raw messages: matched by our Message-ID, then by address;
a reply or bounce stops the sequence, an auto-reply pauses it; an unmatched message is kept, never lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from inbound.models import TimelineEntry
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.sequences.models import Enrollment, InboundMessage, Outbox, StepRun
from sdr_desk.sequences.services import steps_due_sweep
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.sequences.helpers import template_make

pytestmark = pytest.mark.django_db

TOKEN = "inbound-secret"
URL = "/api/v1/sequences/inbound-email/"


@pytest.fixture
def sent():
    """Ann's lead got the sequence's first email (outbox row sent, as a real send leaves it)."""
    team = team_make("Inbound")
    ann = rep_make("ann", team)
    lead = hot_lead(email="kim@acme.example")
    lead_route(lead.pk)
    template_make("Email first", team=team, tier=LeadAssignment.objects.get(lead=lead).tier, auto_enroll=True,
                  steps=[{"channel": "email", "mode": "manual", "delay_minutes": 0, "subject": "Hi", "body": "Hi"},
                         {"channel": "call", "delay_business_days": 1}])
    lead_claim(lead.pk, user=ann)
    enrollment = Enrollment.objects.get(lead=lead)
    run = StepRun.objects.get(enrollment=enrollment)
    outbox = Outbox.objects.create(enrollment=enrollment, step=run.step, mailbox="ann@desk.test", to=lead.email,
                                   subject="Hi", status="sent", message_id="")
    outbox.message_id = f"<sequence-{outbox.pk}@sdr-desk.local>"
    outbox.save()
    return {"lead": lead, "enrollment": enrollment, "outbox": outbox}


def raw(*, sender: str = "Kim <kim@acme.example>", headers: str = "", body: str = "Sounds good, call me.") -> str:
    return (f"From: {sender}\r\nTo: ann@desk.test\r\nSubject: Re: Hi\r\nMessage-ID: <abc@mail.acme.example>\r\n"
            f"{headers}\r\n{body}\r\n")


def post(client, message: str, token: str = TOKEN):
    with override_settings(SEQUENCES_INBOUND_TOKEN=TOKEN):
        return client.post(URL, data=message.encode(), content_type="message/rfc822",
                           HTTP_AUTHORIZATION=f"Bearer {token}")


def status_of(sent) -> Enrollment:
    return Enrollment.objects.get(pk=sent["enrollment"].pk)


class TestReplies:
    def test_a_reply_matched_by_in_reply_to_stops_the_sequence_and_the_timeline_says_why(self, client, sent):
        response = post(client, raw(headers=f"In-Reply-To: {sent['outbox'].message_id}\r\n"))
        assert response.status_code == 200 and response.json()["kind"] == "reply"
        enrollment = status_of(sent)
        assert enrollment.status == "stopped" and enrollment.stop_reason == "reply"
        entry = TimelineEntry.objects.get(lead=sent["lead"], kind="sequence", summary__startswith="Replied")
        assert "matched by In-Reply-To" in entry.summary and entry.data["rule"].startswith("a person's reply")

    def test_references_match_when_gmail_rewrote_in_reply_to(self, client, sent):
        references = f"References: <other@x> {sent['outbox'].message_id}\r\nIn-Reply-To: <other@x>\r\n"
        response = post(client, raw(sender="someone@elsewhere.example", headers=references))
        assert "matched by References" in response.json()["rule"]
        assert status_of(sent).status == "stopped"

    def test_a_reply_without_our_headers_is_matched_by_address(self, client, sent):
        response = post(client, raw(sender="KIM@acme.example"))
        assert "matched by the sender's address kim@acme.example" in response.json()["rule"]
        assert status_of(sent).stop_reason == "reply"


class TestAutoReplies:
    @pytest.mark.parametrize("header", ["Auto-Submitted: auto-replied", "X-Auto-Response-Suppress: All",
                                        "Precedence: auto_reply"])
    def test_an_auto_reply_pauses_instead_of_stopping(self, client, sent, header):
        response = post(client, raw(headers=f"In-Reply-To: {sent['outbox'].message_id}\r\n{header}\r\n",
                                    body="I am out of office until Monday."))
        assert response.json()["kind"] == "auto_reply"
        enrollment = status_of(sent)
        assert enrollment.status == "paused" and enrollment.pause_reason == "auto_reply"
        assert TimelineEntry.objects.filter(lead=sent["lead"], summary__startswith="Auto-reply received").exists()

    def test_auto_submitted_no_is_a_person(self, client, sent):
        response = post(client, raw(headers="Auto-Submitted: no\r\n"))
        assert response.json()["kind"] == "reply"

    def test_the_pause_ends_after_a_few_days_with_the_steps_shifted(self, client, sent):
        post(client, raw(headers="Auto-Submitted: auto-replied\r\n"))
        assert steps_due_sweep(now=timezone.now() + timedelta(days=1))["resumed"] == 0
        assert steps_due_sweep(now=timezone.now() + timedelta(days=3, minutes=1))["resumed"] == 1
        assert status_of(sent).status == "active"


class TestBounces:
    def test_a_delivery_report_quoting_our_message_id_stops_the_sequence(self, client, sent):
        report = (f"From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nTo: ann@desk.test\r\n"
                  f"Subject: Undelivered Mail\r\nMIME-Version: 1.0\r\n"
                  f'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
                  f"--b\r\nContent-Type: text/plain\r\n\r\nThe address does not exist.\r\n"
                  f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {sent['outbox'].message_id}\r\n"
                  f"--b--\r\n")
        response = post(client, report)
        assert response.json()["kind"] == "bounce" and "quoted in the message" in response.json()["rule"]
        assert status_of(sent).stop_reason == "bounce"


class TestUnmatched:
    def test_a_message_that_matches_nothing_is_kept_as_unmatched(self, client, sent):
        response = post(client, raw(sender="stranger@nowhere.example", body="Who are you?"))
        assert response.status_code == 200 and response.json()["kind"] == "unmatched"
        record = InboundMessage.objects.get()
        assert record.enrollment is None and "Who are you?" in record.raw and "no Message-ID of ours" in record.rule
        assert status_of(sent).status == "active"

    def test_garbage_is_kept_too_and_is_no_5xx(self, client, sent):
        response = post(client, "\x00\x01 not an email at all")
        assert response.status_code == 200 and response.json()["kind"] == "unmatched"


class TestAccess:
    def test_without_the_token_it_is_refused(self, client, sent):
        assert post(client, raw(), token="wrong").status_code == 403
        assert not InboundMessage.objects.exists()

    def test_with_no_token_configured_everything_is_refused(self, client, sent):
        response = client.post(URL, data=raw().encode(), content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer ")
        assert response.status_code == 403

    def test_an_empty_post_is_a_400_and_get_is_not_allowed(self, client, sent):
        assert post(client, "").status_code == 400
        with override_settings(SEQUENCES_INBOUND_TOKEN=TOKEN):
            assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405

    def test_sendgrids_email_field_is_read_too(self, client, sent):
        with override_settings(SEQUENCES_INBOUND_TOKEN=TOKEN):
            response = client.post(URL, {"email": raw()}, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200 and response.json()["kind"] == "reply"


class TestColleagues:
    def colleague_enrolled(self, sent, email: str = "lou@acme.example"):
        ann = sent["enrollment"].lead.assignment.owner
        other = hot_lead(email=email)
        lead_route(other.pk)
        lead_claim(other.pk, user=ann)  # enrolled on claim, as Kim was
        return Enrollment.objects.get(lead=other)

    def test_a_colleagues_reply_stops_the_sequence_of_the_leads_at_the_same_company(self, client, sent):
        lou = self.colleague_enrolled(sent)
        response = post(client, raw(sender="pat@acme.example", body="I handle this for Kim and Lou."))
        assert response.json()["kind"] == "reply" and "colleague" in response.json()["rule"]
        assert status_of(sent).status == "stopped"
        assert Enrollment.objects.get(pk=lou.pk).status == "stopped"

    def test_a_leads_own_reply_stops_their_colleagues_too(self, client, sent):
        lou = self.colleague_enrolled(sent)
        post(client, raw(headers=f"In-Reply-To: {sent['outbox'].message_id}\r\n"))
        assert Enrollment.objects.get(pk=lou.pk).stop_reason == "a colleague replied (kim@acme.example)"

    def test_the_setting_off_leaves_colleagues_alone(self, client, sent):
        lou = self.colleague_enrolled(sent)
        with override_settings(SEQUENCES_STOP_ON_COLLEAGUE_REPLY=False):
            post(client, raw(headers=f"In-Reply-To: {sent['outbox'].message_id}\r\n"))
            response = post(client, raw(sender="pat@acme.example"))
        assert Enrollment.objects.get(pk=lou.pk).status == "active"
        assert response.json()["kind"] == "unmatched"

    def test_another_company_is_not_a_colleague(self, client, sent):
        lou = self.colleague_enrolled(sent, email="lou@other.example")
        post(client, raw(headers=f"In-Reply-To: {sent['outbox'].message_id}\r\n"))
        assert Enrollment.objects.get(pk=lou.pk).status == "active"
