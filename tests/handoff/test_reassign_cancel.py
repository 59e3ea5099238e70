"""A manager reassigns a pending handoff to another AE; the SDR (or their manager) cancels one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from icalendar import Calendar
from rest_framework.test import APIClient

from inbound.models import Lead, LeadStatus, TimelineEntry
from sdr_desk.board.live import facts_of, section_for, viewer_for
from sdr_desk.dispositions.models import Disposition
from sdr_desk.handoff.models import Handoff, HandoffStatus, MeetingStatus
from sdr_desk.handoff.services import (
    HandoffConflict,
    HandoffForbidden,
    HandoffInvalid,
    handoff_cancel,
    handoff_reassign,
    handoff_sweep,
    handoff_verdict,
    lead_handoff,
)
from sdr_desk.roles import Role
from sdr_desk.routing.models import LeadAssignment, LeadState
from sdr_desk.webhooks.models import Delivery, Endpoint
from tests.factories import UserFactory
from tests.handoff.fixtures import soon

pytestmark = pytest.mark.django_db


def invites(mail) -> list[tuple[list[str], str, int, str, list[str]]]:
    """Each invitation mailed: (to, METHOD, SEQUENCE, UID, attendees)."""
    out = []
    for message in mail:
        for name, content, _ in getattr(message, "attachments", []):
            if name == "invite.ics":
                calendar = Calendar.from_ical(content)
                event = calendar.walk("VEVENT")[0]
                attendees = event.get("attendee")
                attendees = attendees if isinstance(attendees, list) else [attendees]
                out.append((message.to, str(calendar["method"]), int(event["sequence"]), str(event["uid"]),
                            sorted(str(a).removeprefix("mailto:") for a in attendees)))
    return out


def snapshot(handoff_id: int) -> tuple:
    h = Handoff.objects.get(pk=handoff_id)
    return (h.ae_id, h.ae_team_id, h.status, h.due_at, h.escalated, h.ics_sequence, h.meeting_status,
            TimelineEntry.objects.count(), LeadAssignment.objects.get(lead_id=h.lead_id).state)


@pytest.fixture
def pending(desk):
    return lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], meeting_at=soon())


class TestReassign:
    def test_the_ae_teams_manager_moves_it_and_the_clock_restarts(self, desk, pending):
        later = pending.handed_at + timedelta(hours=30)
        handoff_sweep(now=pending.due_at)  # amy let it lapse: escalated
        moved = handoff_reassign(pending.pk, user=desk["ae_boss"], ae=desk["eve"], why="Amy is out", now=later)
        moved.refresh_from_db()
        assert (moved.ae, moved.ae_team, moved.status) == (desk["eve"], desk["emea"], HandoffStatus.PENDING)
        assert moved.escalated is False and moved.reassigned_at == later and moved.due_at > later
        assert moved.handed_at == pending.handed_at  # the handoff's own time stays; the deadline counts from now
        entry = TimelineEntry.objects.filter(lead=desk["lead"], kind="handoff").order_by("-id").first()
        assert entry.summary == "Handoff reassigned from Amy Closer to Eve Closer (EMEA AEs): Amy is out"
        assert entry.actor == desk["ae_boss"] and entry.data["change"] == "reassigned"
        assert entry.data["before"]["ae"] == "amy" and entry.data["before"]["escalated"] is True
        assert entry.data["after"]["ae"] == "eve"
        # The new AE lets it lapse too: the sweep escalates it again, from the new deadline.
        assert handoff_sweep(now=moved.due_at - timedelta(seconds=1)) == 0
        assert handoff_sweep(now=moved.due_at) == 1

    def test_the_old_ae_gets_a_cancel_and_the_new_one_the_request_under_the_same_uid(
            self, desk, pending, mailoutbox, django_capture_on_commit_callbacks):
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            handoff_reassign(pending.pk, user=desk["ae_boss"], ae=desk["carl"])
        sent = invites(mailoutbox)
        lead = desk["lead"].email
        assert sent == [
            ([desk["amy"].email], "CANCEL", 1, pending.ics_uid, [desk["amy"].email]),
            ([desk["carl"].email, lead], "REQUEST", 1, pending.ics_uid, sorted([desk["carl"].email, lead])),
        ]
        subjects = [m.subject for m in mailoutbox]
        assert any(s.startswith("Handoff reassigned to you") for s in subjects)
        assert any(s.startswith("Handoff moved") for s in subjects)

    def test_without_a_meeting_nothing_is_sent_but_the_notices(self, desk, mailoutbox,
                                                              django_capture_on_commit_callbacks):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"])
        with django_capture_on_commit_callbacks(execute=True):
            handoff_reassign(handoff.pk, user=desk["ae_boss"], ae=desk["carl"])
        assert invites(mailoutbox) == [] and Handoff.objects.get(pk=handoff.pk).ics_sequence == 0

    def test_it_is_a_webhook_event(self, desk, pending):
        Endpoint.objects.create(name="CRM", url="https://crm.example.com/hook", events=["handoff"])
        handoff_reassign(pending.pk, user=desk["ae_boss"], ae=desk["carl"])
        delivery = Delivery.objects.get()
        assert delivery.kind == "handoff" and delivery.payload["data"]["change"] == "reassigned"

    @pytest.mark.parametrize("who", ["boss", "ann", "amy", "carl"])
    def test_only_the_ae_teams_manager_may_and_nothing_changes(self, desk, pending, who):
        before = snapshot(pending.pk)
        with pytest.raises(HandoffForbidden) as refused:
            handoff_reassign(pending.pk, user=desk[who], ae=desk["carl"])
        assert list(refused.value.errors) == ["user"] and snapshot(pending.pk) == before

    @pytest.mark.parametrize("target", ["same", "sdr", "nobody", "manager"])
    def test_the_new_ae_must_be_another_ae_of_an_ae_team(self, desk, pending, target):
        ae = {"same": desk["amy"].pk, "sdr": desk["bob"].pk, "nobody": 999_999, "manager": desk["ae_boss"].pk}[target]
        before = snapshot(pending.pk)
        with pytest.raises(HandoffInvalid) as refused:
            handoff_reassign(pending.pk, user=desk["ae_boss"], ae=ae)
        assert list(refused.value.errors) == ["ae"] and snapshot(pending.pk) == before

    def test_a_decided_handoff_does_not_move(self, desk, pending):
        handoff_verdict(pending.pk, ae=desk["amy"], accept=True)
        with pytest.raises(HandoffConflict):
            handoff_reassign(pending.pk, user=desk["ae_boss"], ae=desk["carl"])
        assert Handoff.objects.get(pk=pending.pk).ae == desk["amy"]


class TestCancel:
    def test_the_sdr_cancels_and_the_lead_is_back_on_their_board_still_qualified(
            self, desk, pending, mailoutbox, django_capture_on_commit_callbacks):
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            handoff_cancel(pending.pk, user=desk["ann"], reason="They asked to wait a quarter")
        handoff = Handoff.objects.get(pk=pending.pk)
        assert handoff.status == HandoffStatus.CANCELLED and handoff.cancel_reason == "They asked to wait a quarter"
        assert handoff.meeting_status == MeetingStatus.CANCELLED and handoff.cancelled_at is not None
        assignment = LeadAssignment.objects.get(lead=desk["lead"])
        assert (assignment.owner, assignment.state) == (desk["ann"], LeadState.WORKING)
        assert section_for(viewer_for(desk["ann"]), facts_of(assignment)) is not None
        assert Lead.objects.get(pk=desk["lead"].pk).status == LeadStatus.QUALIFIED
        assert not Disposition.objects.filter(lead=desk["lead"], is_current=True).exists()
        entry = TimelineEntry.objects.filter(lead=desk["lead"], kind="handoff").order_by("-id").first()
        assert entry.summary == "Handoff to Amy Closer cancelled by Ann: They asked to wait a quarter"
        assert entry.data["after"] == {"status": "cancelled", "lead_status": "qualified"}
        assert [(to, method, seq) for to, method, seq, _, _ in invites(mailoutbox)] == [
            ([desk["amy"].email, desk["lead"].email], "CANCEL", 1)]
        assert any(m.subject.startswith("Handoff cancelled") and m.to == [desk["amy"].email] for m in mailoutbox)

    def test_the_lead_can_be_handed_off_again(self, desk, pending):
        handoff_cancel(pending.pk, user=desk["ann"], reason="Wrong AE timing")
        again = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["carl"])
        assert again.status == HandoffStatus.PENDING and again.pk != pending.pk
        assert Disposition.objects.get(lead=desk["lead"], is_current=True).code.slug == "qualified-handed-to-ae"

    def test_the_sdrs_manager_may_cancel_it(self, desk, pending):
        handoff_cancel(pending.pk, user=desk["boss"], reason="Duplicate of a deal in the CRM")
        assert Handoff.objects.get(pk=pending.pk).status == HandoffStatus.CANCELLED

    def test_it_is_a_webhook_event(self, desk, pending):
        Endpoint.objects.create(name="CRM", url="https://crm.example.com/hook", events=["handoff"])
        handoff_cancel(pending.pk, user=desk["ann"], reason="Not now")
        changes = [d.payload["data"].get("change") for d in Delivery.objects.order_by("id")]
        assert changes == ["cancelled"]

    @pytest.mark.parametrize("who", ["bob", "amy", "ae_boss"])
    def test_nobody_else_may_and_nothing_changes(self, desk, pending, who):
        before = snapshot(pending.pk)
        with pytest.raises(HandoffForbidden):
            handoff_cancel(pending.pk, user=desk[who], reason="x")
        assert snapshot(pending.pk) == before

    @pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
    def test_it_needs_a_reason_and_changes_nothing_without_one(self, desk, pending, reason):
        before = snapshot(pending.pk)
        with pytest.raises(HandoffInvalid) as refused:
            handoff_cancel(pending.pk, user=desk["ann"], reason=reason)
        assert list(refused.value.errors) == ["reason"] and snapshot(pending.pk) == before

    def test_an_accepted_handoff_is_the_aes_and_is_not_cancelled(self, desk, pending):
        handoff_verdict(pending.pk, ae=desk["amy"], accept=True)
        with pytest.raises(HandoffConflict):
            handoff_cancel(pending.pk, user=desk["ann"], reason="Changed my mind")
        assert Handoff.objects.get(pk=pending.pk).status == HandoffStatus.ACCEPTED


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


class TestPagesAndApi:
    def test_the_inbox_offers_the_ae_teams_manager_a_reassign_button(self, desk, pending, client):
        client.force_login(desk["ae_boss"])
        body = client.get(reverse("handoff-inbox")).content.decode()
        assert reverse("handoff-reassign", args=[pending.pk]) in body
        assert f'<option value="{desk["carl"].pk}">' in body and f'<option value="{desk["amy"].pk}">' not in body
        client.force_login(desk["amy"])
        assert reverse("handoff-reassign", args=[pending.pk]) not in client.get(reverse("handoff-inbox")).content.decode()

    def test_the_inbox_offers_the_sdrs_manager_a_cancel_button(self, desk, pending, client):
        client.force_login(desk["boss"])
        body = client.get(reverse("handoff-inbox")).content.decode()
        assert reverse("handoff-cancel", args=[pending.pk]) in body
        assert reverse("handoff-reassign", args=[pending.pk]) not in body

    def test_the_lead_page_offers_the_sdr_a_cancel_button_until_it_is_decided(self, desk, pending, client):
        client.force_login(desk["ann"])
        url = reverse("lead-detail", args=[desk["lead"].pk])
        assert "data-handoff-cancel" in client.get(url).content.decode()
        client.force_login(desk["bob"])
        assert "data-handoff-cancel" not in client.get(url).content.decode()
        handoff_verdict(pending.pk, ae=desk["amy"], accept=True)
        client.force_login(desk["ann"])
        assert "data-handoff-cancel" not in client.get(url).content.decode()

    def test_the_page_reassigns_and_shows_a_bad_ae_as_a_field_message(self, desk, pending, client):
        client.force_login(desk["ae_boss"])
        url = reverse("handoff-reassign", args=[pending.pk])
        response = client.post(url, {"ae": "someone"}, follow=True)
        assert "Ae: Choose an AE of an AE team." in response.content.decode()
        assert Handoff.objects.get(pk=pending.pk).ae == desk["amy"]
        response = client.post(url, {"ae": desk["carl"].pk, "why": "Load"}, follow=True)
        assert "Reassigned" in response.content.decode() and Handoff.objects.get(pk=pending.pk).ae == desk["carl"]

    def test_the_page_cancels_back_to_the_lead(self, desk, pending, client):
        client.force_login(desk["ann"])
        url = reverse("handoff-cancel", args=[pending.pk])
        response = client.post(url, {"reason": ""})
        assert response.status_code == 302 and Handoff.objects.get(pk=pending.pk).status == HandoffStatus.PENDING
        response = client.post(url, {"reason": "Not now"})
        assert response["Location"] == reverse("lead-detail", args=[desk["lead"].pk])
        assert Handoff.objects.get(pk=pending.pk).status == HandoffStatus.CANCELLED
        assert client.get(url).status_code == 405

    def test_the_api_reassigns_and_cancels_with_field_errors(self, desk, pending):
        reassign = reverse("api-handoff-reassign", args=[pending.pk])
        response = client_of(desk["ae_boss"]).post(reassign, {"ae": desk["bob"].pk}, format="json")
        assert response.status_code == 400 and list(response.json()["fields"]) == ["ae"]
        response = client_of(desk["ae_boss"]).post(reassign, {}, format="json")
        assert response.status_code == 400 and "ae" in response.json()["fields"]
        response = client_of(desk["ann"]).post(reassign, {"ae": desk["carl"].pk}, format="json")
        assert response.status_code == 403 and list(response.json()["fields"]) == ["user"]
        response = client_of(desk["ae_boss"]).post(reassign, {"ae": desk["carl"].pk}, format="json")
        assert response.status_code == 200 and response.json()["ae"] == "carl"
        assert response.json()["reassigned_at"] is not None

        cancel = reverse("api-handoff-cancel", args=[pending.pk])
        response = client_of(desk["ann"]).post(cancel, {"reason": ""}, format="json")
        assert response.status_code == 400 and list(response.json()["fields"]) == ["reason"]
        response = client_of(desk["ann"]).post(cancel, {"reason": "Not now"}, format="json")
        assert response.status_code == 200 and response.json()["status"] == "cancelled"
        assert response.json()["cancel_reason"] == "Not now"
        again = client_of(desk["ann"]).post(cancel, {"reason": "Twice"}, format="json")
        assert again.status_code == 409
        missing = reverse("api-handoff-cancel", args=[999_999])
        assert client_of(desk["ann"]).post(missing, {"reason": "x"}, format="json").status_code == 404

    def test_marketing_may_do_neither(self, desk, pending):
        marketing = UserFactory(username="mkt", roles=[Role.MARKETING])
        for name, body in (("api-handoff-reassign", {"ae": desk["carl"].pk}), ("api-handoff-cancel", {"reason": "x"})):
            response = client_of(marketing).post(reverse(name, args=[pending.pk]), body, format="json")
            assert response.status_code == 403
        assert Handoff.objects.get(pk=pending.pk).status == HandoffStatus.PENDING
