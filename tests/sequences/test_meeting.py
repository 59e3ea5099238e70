"""A meeting set stops the lead's sequence with the reason "meeting set": a handoff with a meeting, or a
meeting set on the handoff afterwards. The handoff app is not touched: sequences hear its timeline entries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inbound.models import Lead, TimelineEntry
from inbound.timeline import timeline_record
from sdr_desk.handoff.models import HandoffSettings
from sdr_desk.handoff.services import lead_handoff, meeting_outcome
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import touch_log
from sdr_desk.sequences.models import Enrollment
from sdr_desk.sequences.services import MEETING_SET
from tests.desk_fixtures import answers_give, hot_lead, rep_make, team_make
from tests.handoff.fixtures import ae_make, soon
from tests.sequences.helpers import template_make

pytestmark = pytest.mark.django_db

STEPS = [{"channel": "call", "delay_minutes": 0}, {"channel": "email", "delay_business_days": 1,
                                                    "subject": "Hi {first_name}", "body": "{rep_signature}"}]


@pytest.fixture
def desk():
    team = team_make("Inbound", visibility="claim")
    ann = rep_make("ann", team)
    aes = team_make("AEs", visibility="owned", is_default=False)
    HandoffSettings.objects.create(team=team, ae_team=aes)
    amy = ae_make("amy", aes)
    lead = hot_lead(country="US")
    lead_route(lead.pk)
    template_make("Hand-raisers", team=team, tier=LeadAssignment.objects.get(lead=lead).tier, auto_enroll=True,
                  steps=STEPS)
    lead_claim(lead.pk, user=ann)
    touch_log(lead.pk, rep=ann, channel="call", outcome="no_answer")  # a touch, but no conversation
    answers_give(lead.pk, ann)
    assert Enrollment.objects.get(lead=lead).status == "active"
    return {"team": team, "ann": ann, "amy": amy, "lead": lead}


def test_a_handoff_with_a_meeting_stops_the_sequence_as_meeting_set(desk):
    lead_handoff(desk["lead"].pk, sdr=desk["ann"], meeting_at=soon())
    enrollment = Enrollment.objects.get(lead=desk["lead"])
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", MEETING_SET)
    entry = TimelineEntry.objects.filter(lead=desk["lead"], kind="sequence", data__reason=MEETING_SET).get()
    assert "stopped: meeting set" in entry.summary
    assert entry.data["before"]["stop_reason"].startswith("disposition")


def test_a_handoff_without_a_meeting_stops_it_as_a_disposition(desk):
    lead_handoff(desk["lead"].pk, sdr=desk["ann"])
    enrollment = Enrollment.objects.get(lead=desk["lead"])
    assert enrollment.status == "stopped" and enrollment.stop_reason.startswith("disposition")


def test_a_meeting_set_on_the_handoff_later_makes_it_meeting_set(desk):
    handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"])
    meeting_outcome(handoff.pk, user=desk["amy"], outcome="rescheduled", new_time=soon())
    assert Enrollment.objects.get(lead=desk["lead"]).stop_reason == MEETING_SET
    meeting_outcome(handoff.pk, user=desk["amy"], outcome="rescheduled", new_time=soon(72))  # moved: said once
    assert TimelineEntry.objects.filter(lead=desk["lead"], kind="sequence", data__reason=MEETING_SET).count() == 1


def test_a_sequence_that_ended_before_the_handoff_is_left_alone(desk):
    enrollment = Enrollment.objects.get(lead=desk["lead"])
    Enrollment.objects.filter(pk=enrollment.pk).update(status="stopped", stop_reason="disposition (earlier)",
                                                       ended_at=timezone.now() - timedelta(days=2))
    lead_handoff(desk["lead"].pk, sdr=desk["ann"], meeting_at=soon())
    enrollment.refresh_from_db()
    assert enrollment.stop_reason == "disposition (earlier)"


def test_an_ongoing_sequence_is_stopped_by_a_meeting_entry(desk):
    """A meeting heard while the lead is still in a sequence (no disposition came first) stops it at once."""
    timeline_record(lead=Lead(pk=desk["lead"].pk), kind="meeting", actor=desk["amy"], occurred_at=timezone.now(),
                    summary="Meeting set", data={"handoff": None, "outcome": "scheduled"})
    enrollment = Enrollment.objects.get(lead=desk["lead"])
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", MEETING_SET)


def test_a_held_or_cancelled_meeting_changes_nothing(desk):
    for outcome in ("held", "cancelled", "no_show"):
        timeline_record(lead=Lead(pk=desk["lead"].pk), kind="meeting", actor=desk["amy"], occurred_at=timezone.now(),
                        summary="Meeting", data={"handoff": None, "outcome": outcome})
    assert Enrollment.objects.get(lead=desk["lead"]).status == "active"
