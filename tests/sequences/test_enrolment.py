"""Enrolment by hand and on assignment, the sweep that brings steps due onto the rep's Due today, steps
done by the rep's touches, stops by a disposition, and pauses while the rep is away."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from inbound.models import Lead, LeadStatus, TimelineEntry
from sdr_desk.board.live import DUE, facts_of, section_for, viewer_for
from sdr_desk.dispositions.services import lead_disposition
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment, Rep, RepStatus
from sdr_desk.routing.ownership import NotAllowed, lead_claim
from sdr_desk.routing.touches import touch_log
from sdr_desk.sequences.models import Enrollment, StepRun
from sdr_desk.sequences.services import SequenceInvalid, enrollment_start, steps_due_sweep
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.sequences.helpers import template_make

pytestmark = pytest.mark.django_db

STEPS = [{"channel": "call", "delay_minutes": 0}, {"channel": "sms", "delay_business_days": 0},
         {"channel": "linkedin", "delay_business_days": 1}]


@pytest.fixture
def desk():
    team = team_make("Inbound", visibility="claim")
    ann, bob = rep_make("ann", team), rep_make("bob", team)
    lead = hot_lead()
    lead_route(lead.pk)
    return {"team": team, "ann": ann, "bob": bob, "lead": lead}


def assignment_of(lead) -> LeadAssignment:
    return LeadAssignment.objects.get(lead=lead)


def enrollment_of(lead) -> Enrollment:
    return Enrollment.objects.get(lead=lead)


def open_run(lead) -> StepRun:
    return StepRun.objects.select_related("step").get(enrollment__lead=lead, status__in=["pending", "due"])


class TestByHand:
    def test_the_owner_enrols_the_lead_and_its_first_step_is_scheduled_and_in_the_timeline(self, desk):
        lead_claim(desk["lead"].pk, user=desk["ann"])
        template = template_make("Manual", steps=STEPS)
        now = timezone.now()
        enrollment = enrollment_start(desk["lead"].pk, template, by=desk["ann"], now=now)
        assert enrollment.status == "active" and enrollment.enrolled_by == desk["ann"]
        run = open_run(desk["lead"])
        assert (run.step.position, run.status, run.due_at) == (0, "pending", now)
        entry = TimelineEntry.objects.get(lead=desk["lead"], kind="sequence")
        assert entry.actor == desk["ann"] and "Enrolled in the sequence Manual by hand" in entry.summary

    def test_a_lead_in_a_sequence_is_refused_a_second_one(self, desk):
        lead_claim(desk["lead"].pk, user=desk["ann"])
        enrollment_start(desk["lead"].pk, template_make("One"), by=desk["ann"])
        with pytest.raises(SequenceInvalid) as refused:
            enrollment_start(desk["lead"].pk, template_make("Two"), by=desk["ann"])
        assert "in the sequence 'One' already" in refused.value.errors["lead"][0]
        assert Enrollment.objects.filter(lead=desk["lead"]).count() == 1

    def test_a_disqualified_lead_is_refused(self, desk):
        lead_claim(desk["lead"].pk, user=desk["ann"])
        Lead.objects.filter(pk=desk["lead"].pk).update(status=LeadStatus.DISQUALIFIED)
        with pytest.raises(SequenceInvalid) as refused:
            enrollment_start(desk["lead"].pk, template_make(), by=desk["ann"])
        assert "disqualified" in refused.value.errors["lead"][0]
        assert not Enrollment.objects.exists()

    def test_a_closed_lead_is_refused(self, desk):
        lead_claim(desk["lead"].pk, user=desk["ann"])
        touch_log(desk["lead"].pk, rep=desk["ann"], channel="call", outcome="connected")
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="bad-fit", reason="Too small")
        with pytest.raises(SequenceInvalid) as refused:
            enrollment_start(desk["lead"].pk, template_make(), by=None)
        assert "lead" in refused.value.errors

    def test_an_inactive_template_is_refused(self, desk):
        lead_claim(desk["lead"].pk, user=desk["ann"])
        with pytest.raises(SequenceInvalid) as refused:
            enrollment_start(desk["lead"].pk, template_make(is_active=False), by=desk["ann"])
        assert "not active" in refused.value.errors["template"][0]

    def test_a_teammate_who_does_not_own_the_lead_may_not_enrol_it(self, desk):
        lead_claim(desk["lead"].pk, user=desk["ann"])
        with pytest.raises(NotAllowed):
            enrollment_start(desk["lead"].pk, template_make(), by=desk["bob"])
        assert not Enrollment.objects.exists()


class TestOnAssignment:
    def test_a_claimed_lead_of_the_teams_tier_is_enrolled(self, desk):
        tier = assignment_of(desk["lead"]).tier
        template = template_make("Hand-raisers", team=desk["team"], tier=tier, auto_enroll=True)
        lead_claim(desk["lead"].pk, user=desk["ann"])
        enrollment = enrollment_of(desk["lead"])
        assert enrollment.template == template and enrollment.enrolled_by is None
        assert TimelineEntry.objects.filter(lead=desk["lead"], kind="sequence",
                                            summary__contains="on assignment").exists()

    def test_another_tier_or_another_teams_template_enrols_nobody(self, desk):
        other = team_make("Other", is_default=False)
        template_make("Researchers", team=desk["team"], tier="researcher", auto_enroll=True)
        template_make("Theirs", team=other, tier=assignment_of(desk["lead"]).tier, auto_enroll=True)
        lead_claim(desk["lead"].pk, user=desk["ann"])
        assert not Enrollment.objects.exists()

    def test_a_template_without_auto_enrolment_waits_for_a_hand(self, desk):
        template_make("Manual only", team=desk["team"], tier=assignment_of(desk["lead"]).tier)
        lead_claim(desk["lead"].pk, user=desk["ann"])
        assert not Enrollment.objects.exists()


@pytest.fixture
def working(desk):
    """Ann claimed the lead, is enrolled in call, SMS, LinkedIn."""
    template_make("Hand-raisers", team=desk["team"], tier=assignment_of(desk["lead"]).tier, auto_enroll=True,
                  steps=STEPS)
    lead_claim(desk["lead"].pk, user=desk["ann"])
    return desk


class TestTheDay:
    def test_the_first_call_logged_does_the_first_call_step_and_schedules_the_next(self, working):
        touch_log(working["lead"].pk, rep=working["ann"], channel="call", outcome="no_answer")
        first = StepRun.objects.get(enrollment__lead=working["lead"], step__position=0)
        assert first.status == "done" and first.done_by == working["ann"]
        assert open_run(working["lead"]).step.channel == "sms"

    def test_a_touch_on_another_channel_leaves_the_step_open(self, working):
        touch_log(working["lead"].pk, rep=working["ann"], channel="linkedin")
        assert open_run(working["lead"]).step.position == 0

    def test_the_sweep_marks_due_steps_and_puts_them_on_the_reps_due_today(self, working):
        touch_log(working["lead"].pk, rep=working["ann"], channel="call", outcome="no_answer")
        run = open_run(working["lead"])
        totals = steps_due_sweep(now=run.due_at + timedelta(seconds=1))
        assert totals["due"] == 1
        run.refresh_from_db()
        assert run.status == "due"
        assignment = assignment_of(working["lead"])
        assert assignment.next_step_at == run.due_at and assignment.next_step == "Sequence step 2: SMS"
        assert section_for(viewer_for(working["ann"]), facts_of(assignment), now=timezone.now()) == DUE

    def test_the_sweep_is_set_based_and_a_second_run_finds_nothing(self, working):
        touch_log(working["lead"].pk, rep=working["ann"], channel="call", outcome="no_answer")
        later = timezone.now() + timedelta(seconds=5)
        assert steps_due_sweep(now=later)["due"] == 1
        assert steps_due_sweep(now=later)["due"] == 0

    def test_a_step_not_yet_due_is_left_pending(self, working):
        touch_log(working["lead"].pk, rep=working["ann"], channel="call", outcome="no_answer")
        touch_log(working["lead"].pk, rep=working["ann"], channel="sms")
        run = open_run(working["lead"])
        assert run.step.channel == "linkedin" and run.due_at > timezone.now()
        assert steps_due_sweep()["due"] == 0

    def test_doing_the_due_step_clears_it_from_due_today(self, working):
        touch_log(working["lead"].pk, rep=working["ann"], channel="call", outcome="no_answer")
        steps_due_sweep(now=timezone.now() + timedelta(seconds=5))
        touch_log(working["lead"].pk, rep=working["ann"], channel="sms", now=timezone.now() + timedelta(seconds=10))
        assert assignment_of(working["lead"]).next_step_at is None
        assert open_run(working["lead"]).step.channel == "linkedin"

    def test_the_last_step_done_completes_the_enrolment(self, working):
        for channel, outcome in (("call", "no_answer"), ("sms", ""), ("linkedin", "")):
            touch_log(working["lead"].pk, rep=working["ann"], channel=channel, outcome=outcome)
        enrollment = enrollment_of(working["lead"])
        assert enrollment.status == "completed"
        assert TimelineEntry.objects.filter(lead=working["lead"], kind="sequence", summary__contains="completed")


class TestStops:
    def test_a_disposition_stops_the_sequence(self, working):
        touch_log(working["lead"].pk, rep=working["ann"], channel="call", outcome="no_answer")
        lead_disposition(working["lead"].pk, user=working["ann"], code="bad-fit", reason="Too small")
        enrollment = enrollment_of(working["lead"])
        assert enrollment.status == "stopped" and enrollment.stop_reason.startswith("disposition")
        assert not StepRun.objects.filter(enrollment=enrollment, status__in=["pending", "due"]).exists()
        assert TimelineEntry.objects.filter(lead=working["lead"], kind="sequence", summary__contains="stopped")

    def test_a_connected_call_stops_the_sequence_after_doing_its_step(self, working):
        touch_log(working["lead"].pk, rep=working["ann"], channel="call", outcome="connected")
        enrollment = enrollment_of(working["lead"])
        assert enrollment.status == "stopped" and enrollment.stop_reason == "connected call"
        assert StepRun.objects.get(enrollment=enrollment, step__position=0).status == "done"
        assert not StepRun.objects.filter(enrollment=enrollment, status__in=["pending", "due"]).exists()

    def test_a_connected_call_on_another_step_stops_it_too(self, working):
        touch_log(working["lead"].pk, rep=working["ann"], channel="call", outcome="no_answer")
        touch_log(working["lead"].pk, rep=working["ann"], channel="call", outcome="connected")
        enrollment = enrollment_of(working["lead"])
        assert enrollment.status == "stopped" and enrollment.stop_reason == "connected call"
        assert StepRun.objects.get(enrollment=enrollment, step__position=1).status == "skipped"

    def test_a_stopped_sequence_makes_nothing_due(self, working):
        touch_log(working["lead"].pk, rep=working["ann"], channel="call", outcome="no_answer")
        lead_disposition(working["lead"].pk, user=working["ann"], code="bad-fit", reason="Too small")
        assert steps_due_sweep(now=timezone.now() + timedelta(days=30))["due"] == 0


class TestAway:
    def test_a_rep_away_pauses_and_their_return_resumes_with_the_dates_shifted(self, desk):
        template_make("Slow", team=desk["team"], tier=assignment_of(desk["lead"]).tier, auto_enroll=True,
                      steps=[{"channel": "call", "delay_minutes": 0},
                             {"channel": "sms", "delay_business_days": 2, "window_start": time(9),
                              "window_end": time(17), "weekdays": [0, 1, 2, 3, 4]}])
        lead_claim(desk["lead"].pk, user=desk["ann"])
        touch_log(desk["lead"].pk, rep=desk["ann"], channel="call", outcome="no_answer")
        run = open_run(desk["lead"])
        planned = run.due_at
        Rep.objects.filter(user=desk["ann"]).update(status=RepStatus.AWAY)
        start = timezone.now()
        assert steps_due_sweep(now=start)["paused"] == 1
        assert enrollment_of(desk["lead"]).status == "paused"
        # Away for a week: nothing came due meanwhile.
        back = start + timedelta(days=7)
        assert steps_due_sweep(now=back - timedelta(seconds=1))["due"] == 0
        Rep.objects.filter(user=desk["ann"]).update(status=RepStatus.AVAILABLE)
        totals = steps_due_sweep(now=back)
        assert totals["resumed"] == 1 and totals["due"] == 0
        run.refresh_from_db()
        assert run.status == "pending" and run.due_at >= planned + timedelta(days=7)
        assert run.due_at.astimezone(run.due_at.tzinfo).weekday() < 5
        assert enrollment_of(desk["lead"]).status == "active"
        summaries = list(TimelineEntry.objects.filter(lead=desk["lead"], kind="sequence").values_list("summary", flat=True))
        assert "Sequence paused: the rep is away" in summaries
        assert any(s.startswith("Sequence resumed: the rep is back; steps moved on by 7.0 days") for s in summaries)


class TestClaims:
    def test_a_sequence_step_coming_due_does_not_keep_an_untouched_claim(self, working):
        assignment = assignment_of(working["lead"])
        assert assignment.claim_expires_at is not None
        steps_due_sweep(now=timezone.now() + timedelta(seconds=1))  # the first call step comes due
        assignment = assignment_of(working["lead"])
        assert assignment.next_step_at is not None and assignment.claim_expires_at is not None
