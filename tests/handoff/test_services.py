"""Handing off, routing the AE, the verdicts, the meeting and the acceptance SLA, through the services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from inbound.models import Lead, LeadStatus, TimelineEntry
from sdr_desk.board.live import facts_of, section_for, viewer_for
from sdr_desk.board.models import BoardEvent
from sdr_desk.dispositions.models import Disposition
from sdr_desk.dispositions.services import DispositionInvalid
from sdr_desk.handoff.models import Handoff, HandoffSettings, HandoffStatus, MeetingStatus
from sdr_desk.handoff.selectors import handoff_counts
from sdr_desk.handoff.services import (
    HandoffConflict,
    HandoffForbidden,
    HandoffInvalid,
    handoff_sweep,
    handoff_verdict,
    lead_handoff,
    meeting_outcome,
)
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment, LeadState, Rep
from sdr_desk.routing.ownership import NotAllowed, lead_claim
from tests.desk_fixtures import hot_lead
from tests.handoff.fixtures import ready_lead, soon

pytestmark = pytest.mark.django_db(transaction=False)


def nothing_changed(lead) -> bool:
    return (not Handoff.objects.filter(lead=lead).exists()
            and not Disposition.objects.filter(lead=lead).exists()
            and LeadAssignment.objects.get(lead=lead).state != LeadState.CLOSED)


class TestHandingOff:
    def test_the_owner_hands_off_and_the_lead_is_qualified_handed_to_ae(self, desk, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], note="Wants a demo next week")
        assert handoff.status == HandoffStatus.PENDING and handoff.sdr == desk["ann"]
        assert handoff.ae_team == desk["americas"] and handoff.ae in (desk["amy"], desk["carl"])
        disposition = Disposition.objects.get(lead=desk["lead"], is_current=True)
        assert disposition.code.slug == "qualified-handed-to-ae"
        assert Lead.objects.get(pk=desk["lead"].pk).status == LeadStatus.QUALIFIED
        entry = TimelineEntry.objects.get(lead=desk["lead"], kind="handoff")
        assert entry.actor == desk["ann"] and entry.data["after"]["status"] == "pending"
        assert entry.data["before"] == {"handoff": None}
        assert [m.to for m in mail.outbox] == [[handoff.ae.email]]  # no meeting: a notice, no invitation

    def test_territory_routes_an_emea_lead_to_the_emea_aes(self, desk):
        lead = ready_lead(desk["ann"], country="DE")
        handoff = lead_handoff(lead.pk, sdr=desk["ann"])
        assert (handoff.ae, handoff.ae_team) == (desk["eve"], desk["emea"])
        settings = HandoffSettings.objects.get(team=desk["emea"])
        assert handoff.routed_by.startswith("territory: EMEA AEs")
        assert handoff.rule_set_version == f"territory-{desk['emea'].pk}.v{settings.version}"

    def test_no_territory_match_falls_back_to_the_sdr_teams_ae_team(self, desk):
        lead = ready_lead(desk["ann"], country="JP")
        handoff = lead_handoff(lead.pk, sdr=desk["ann"])
        assert handoff.ae_team == desk["americas"] and handoff.routed_by.startswith("SDR team default")

    def test_weighted_round_robin_gives_carl_twice_amys_share(self, desk):
        picks = [lead_handoff(desk["lead"].pk, sdr=desk["ann"]).ae.username]
        for _ in range(5):
            lead = ready_lead(desk["ann"], country="US")
            picks.append(lead_handoff(lead.pk, sdr=desk["ann"]).ae.username)
        assert picks.count("carl") == 4 and picks.count("amy") == 2
        assert Rep.objects.get(user=desk["carl"]).routed_count == 4

    def test_an_away_ae_is_skipped(self, desk):
        Rep.objects.filter(user=desk["carl"]).update(status="away")
        assert lead_handoff(desk["lead"].pk, sdr=desk["ann"]).ae == desk["amy"]

    def test_by_hand_names_the_ae(self, desk):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["eve"])
        assert (handoff.ae, handoff.ae_team, handoff.routed_by, handoff.rule_set_version) == (
            desk["eve"], desk["emea"], "by hand", "")

    def test_the_teams_manager_may_hand_off_for_the_rep(self, desk):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["boss"], ae=desk["amy"])
        assert handoff.sdr == desk["ann"]

    def test_someone_else_may_not_and_nothing_changes(self, desk):
        with pytest.raises(NotAllowed):
            lead_handoff(desk["lead"].pk, sdr=desk["bob"])
        assert nothing_changed(desk["lead"])

    def test_a_meeting_in_the_past_is_a_field_error_and_nothing_changes(self, desk):
        with pytest.raises(HandoffInvalid) as error:
            lead_handoff(desk["lead"].pk, sdr=desk["ann"], meeting_at=timezone.now() - timedelta(minutes=1))
        assert list(error.value.errors) == ["meeting_at"]
        assert nothing_changed(desk["lead"])

    def test_a_meeting_beyond_a_year_is_refused(self, desk):
        with pytest.raises(HandoffInvalid) as error:
            lead_handoff(desk["lead"].pk, sdr=desk["ann"], meeting_at=timezone.now() + timedelta(days=400))
        assert "within a year" in error.value.errors["meeting_at"][0]

    def test_a_non_ae_named_by_hand_is_refused(self, desk):
        with pytest.raises(HandoffInvalid) as error:
            lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["bob"])
        assert list(error.value.errors) == ["ae"]
        assert nothing_changed(desk["lead"])

    def test_missing_checklist_answers_refuse_it_through_the_disposition(self, desk):
        lead = hot_lead(country="US")
        lead_route(lead.pk)
        lead_claim(lead.pk, user=desk["ann"])
        with pytest.raises(DispositionInvalid) as error:
            lead_handoff(lead.pk, sdr=desk["ann"])
        assert "answers" in error.value.errors
        assert nothing_changed(lead)

    def test_a_second_open_handoff_is_a_conflict(self, desk):
        lead_handoff(desk["lead"].pk, sdr=desk["ann"])
        with pytest.raises(HandoffConflict):
            lead_handoff(desk["lead"].pk, sdr=desk["ann"])
        assert Handoff.objects.filter(lead=desk["lead"]).count() == 1

    def test_the_database_allows_one_open_handoff_per_lead(self, desk):
        from django.db import IntegrityError, transaction

        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"])
        with pytest.raises(IntegrityError), transaction.atomic():
            Handoff.objects.create(lead=desk["lead"], sdr=desk["ann"], ae=desk["amy"], ics_uid="x@y",
                                   routed_by="by hand")
        assert Handoff.objects.filter(lead=desk["lead"]).get() == handoff


class TestVerdicts:
    def test_the_ae_accepts(self, desk, django_capture_on_commit_callbacks):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"])
        at = timezone.now()
        with django_capture_on_commit_callbacks(execute=True):
            handoff_verdict(handoff.pk, ae=desk["amy"], accept=True, now=at)
        handoff.refresh_from_db()
        assert (handoff.status, handoff.accepted_at, handoff.verdict_reason) == (HandoffStatus.ACCEPTED, at, "")
        entry = TimelineEntry.objects.get(lead=desk["lead"], kind="handoff_verdict")
        assert entry.actor == desk["amy"] and entry.data["before"] == {"status": "pending"}
        assert entry.data["after"] == {"status": "accepted"}
        assert LeadAssignment.objects.get(lead=desk["lead"]).state == LeadState.CLOSED
        assert mail.outbox[-1].to == [desk["ann"].email]

    def test_a_rejection_sends_the_lead_back_to_the_sdrs_board_with_its_reason(self, desk):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"])
        events = BoardEvent.objects.count()
        handoff_verdict(handoff.pk, ae=desk["amy"], accept=False, reason="Wrong territory")
        handoff.refresh_from_db()
        assert (handoff.status, handoff.verdict_reason) == (HandoffStatus.REJECTED, "Wrong territory")
        assignment = LeadAssignment.objects.get(lead=desk["lead"])
        assert (assignment.owner, assignment.state) == (desk["ann"], LeadState.WORKING)
        assert section_for(viewer_for(desk["ann"]), facts_of(assignment)) == "mine"
        assert BoardEvent.objects.count() == events + 1
        assert not Disposition.objects.filter(lead=desk["lead"], is_current=True).exists()
        assert Lead.objects.get(pk=desk["lead"].pk).status == LeadStatus.NEW
        back = TimelineEntry.objects.get(lead=desk["lead"], kind="owner", data__change="returned")
        assert "Wrong territory" in back.summary and back.actor == desk["amy"]
        # It can be handed off again (the open-handoff constraint counts only open ones).
        assert lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["carl"]).status == HandoffStatus.PENDING

    def test_the_board_notice_says_why_it_is_back(self, desk):
        from sdr_desk.board.live import board_message

        message = board_message(1, LeadAssignment.objects.get(lead=desk["lead"]), returned_from=desk["ann"].pk,
                                reason="handoff rejected by Amy: Bad timing", change="returned")
        assert message["notice"] == "Back on your board: handoff rejected by Amy: Bad timing."

    def test_a_rejection_needs_a_reason_from_the_list(self, desk):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"])
        for reason in ("", "I just don't like it"):
            with pytest.raises(HandoffInvalid) as error:
                handoff_verdict(handoff.pk, ae=desk["amy"], accept=False, reason=reason)
            assert list(error.value.errors) == ["reason"]
        handoff.refresh_from_db()
        assert handoff.status == HandoffStatus.PENDING
        assert not TimelineEntry.objects.filter(lead=desk["lead"], kind="handoff_verdict").exists()

    def test_only_that_ae_gives_the_verdict(self, desk):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"])
        for someone in (desk["carl"], desk["ann"], desk["ae_boss"]):
            with pytest.raises(HandoffForbidden) as error:
                handoff_verdict(handoff.pk, ae=someone, accept=True)
            assert error.value.status == 403 and list(error.value.errors) == ["ae"]
        handoff.refresh_from_db()
        assert handoff.status == HandoffStatus.PENDING

    def test_a_verdict_given_is_final(self, desk):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"])
        handoff_verdict(handoff.pk, ae=desk["amy"], accept=True)
        with pytest.raises(HandoffConflict):
            handoff_verdict(handoff.pk, ae=desk["amy"], accept=False, reason="Bad timing")

    def test_counts_by_rep_source_and_rule_set_version(self, desk):
        one = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"])
        handoff_verdict(one.pk, ae=desk["amy"], accept=True)
        lead = ready_lead(desk["ann"], country="DE")
        two = lead_handoff(lead.pk, sdr=desk["ann"])
        handoff_verdict(two.pk, ae=desk["eve"], accept=False, reason="Bad timing")
        by_rep = {row["key"]: row for row in handoff_counts("sdr")}
        assert (by_rep["ann"]["accepted"], by_rep["ann"]["rejected"], by_rep["ann"]["handed_off"]) == (1, 1, 2)
        by_version = {row["key"]: row for row in handoff_counts("rule_set_version")}
        assert by_version[two.rule_set_version]["rejected"] == 1 and by_version[""]["accepted"] == 1
        assert sum(row["handed_off"] for row in handoff_counts("source")) == 2


class TestMeetings:
    def test_held_and_no_show_only_once_it_started(self, desk):
        at = soon()
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], meeting_at=at)
        with pytest.raises(HandoffInvalid):
            meeting_outcome(handoff.pk, user=desk["amy"], outcome="held")
        meeting_outcome(handoff.pk, user=desk["amy"], outcome="held", now=at + timedelta(minutes=40))
        handoff.refresh_from_db()
        assert handoff.meeting_status == MeetingStatus.HELD
        entry = TimelineEntry.objects.get(lead=desk["lead"], kind="meeting")
        assert entry.data["before"]["meeting_status"] == "scheduled" and entry.data["after"]["meeting_status"] == "held"

    def test_no_show(self, desk):
        at = soon()
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], meeting_at=at)
        meeting_outcome(handoff.pk, user=desk["ann"], outcome="no_show", now=at + timedelta(hours=1))
        handoff.refresh_from_db()
        assert handoff.meeting_status == MeetingStatus.NO_SHOW

    def test_a_reschedule_to_the_past_is_refused(self, desk):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], meeting_at=soon())
        with pytest.raises(HandoffInvalid) as error:
            meeting_outcome(handoff.pk, user=desk["amy"], outcome="rescheduled",
                            new_time=timezone.now() - timedelta(hours=1))
        assert list(error.value.errors) == ["new_time"]
        handoff.refresh_from_db()
        assert (handoff.meeting_status, handoff.ics_sequence) == (MeetingStatus.SCHEDULED, 0)

    def test_an_outsider_may_not_record_it(self, desk):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], meeting_at=soon())
        with pytest.raises(HandoffForbidden):
            meeting_outcome(handoff.pk, user=desk["bob"], outcome="cancelled")

    def test_a_rejection_cancels_the_meeting(self, desk, django_capture_on_commit_callbacks):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], meeting_at=soon())
        with django_capture_on_commit_callbacks(execute=True):
            handoff_verdict(handoff.pk, ae=desk["amy"], accept=False, reason="Duplicate")
        handoff.refresh_from_db()
        assert (handoff.meeting_status, handoff.ics_sequence) == (MeetingStatus.CANCELLED, 1)
        assert any("method=CANCEL" in m.attachments[0][2] for m in mail.outbox if m.attachments)


class TestAcceptanceSla:
    # Americas AEs: 09:00-17:00 New York on weekdays, 8 business hours to accept.
    def test_the_deadline_counts_the_ae_teams_business_hours(self, desk):
        from sdr_desk.routing.models import Team

        Team.objects.filter(pk=desk["americas"].pk).update(
            business_hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")})
        friday_3pm = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)  # 15:00 in New York
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], now=friday_3pm)
        # 2 hours on Friday, 6 on Monday: Monday 15:00 New York, 19:00 UTC (DST started on the 8th).
        assert handoff.due_at == datetime(2026, 3, 9, 19, 0, tzinfo=UTC)

    def test_an_overdue_handoff_is_escalated_once_when_swept_twice(self, desk, django_capture_on_commit_callbacks):
        handed = timezone.now()
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], now=handed)
        assert handoff_sweep(now=handoff.due_at - timedelta(seconds=1)) == 0
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert handoff_sweep(now=handoff.due_at) == 1
            assert handoff_sweep(now=handoff.due_at + timedelta(minutes=5)) == 0
        handoff.refresh_from_db()
        assert handoff.escalated and handoff.escalated_at == handoff.due_at
        entries = TimelineEntry.objects.filter(lead=desk["lead"], kind="handoff", data__change="escalated")
        assert entries.count() == 1 and "Alex" in entries.get().summary
        assert [m.to for m in mail.outbox] == [[desk["ae_boss"].email]]

    def test_a_decided_handoff_is_not_escalated(self, desk):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"])
        handoff_verdict(handoff.pk, ae=desk["amy"], accept=True)
        assert handoff_sweep(now=handoff.due_at + timedelta(days=1)) == 0

    def test_the_schedule_is_declared(self):
        from sdr_desk.schedules import declared_schedules

        assert ("Handoff acceptance watch", "sdr_desk.handoff.tasks.handoff_watch", "I", 1, None) in \
            declared_schedules()
