"""The due sweep at scale: a batch of human steps goes to the boards in a fixed number of queries (every lead
still in its timeline and pushed), and automatic sends are queued a chunk to a task, each still claimed once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inbound.models import TimelineEntry
from sdr_desk.board.models import BoardEvent
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import lead_next_step_set
from sdr_desk.sequences import sending
from sdr_desk.sequences.models import Enrollment, Outbox, StepRun
from sdr_desk.sequences.services import STALE_NOTE, enrollment_start, steps_due_sweep
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.sequences.helpers import template_make

pytestmark = pytest.mark.django_db

EMAIL = {"channel": "email", "mode": "automatic", "delay_minutes": 0, "subject": "Hi {first_name}", "body": "Hello"}


def leads_enrolled(n: int, steps: list[dict]) -> dict:
    team = team_make("Inbound", visibility="claim")
    ann = rep_make("ann", team)
    template = template_make("Batch", steps=steps)
    leads = []
    for _ in range(n):
        lead = hot_lead()
        lead_route(lead.pk)
        lead_claim(lead.pk, user=ann)
        enrollment_start(lead.pk, template, by=ann)
        leads.append(lead)
    return {"ann": ann, "leads": leads, "template": template}


def test_a_batch_of_call_steps_costs_the_same_queries_for_3_leads_or_12(django_assert_max_num_queries):
    few = leads_enrolled(3, [{"channel": "call", "delay_minutes": 0}])
    counts = []
    for extra in (0, 9):
        for _ in range(extra):
            lead = hot_lead()
            lead_route(lead.pk)
            lead_claim(lead.pk, user=few["ann"])
            enrollment_start(lead.pk, few["template"], by=few["ann"])
        StepRun.objects.update(status="pending")
        LeadAssignment.objects.update(next_step_at=None, next_step="")
        with django_assert_max_num_queries(30) as captured:
            assert steps_due_sweep(now=timezone.now() + timedelta(seconds=1))["due"] == 3 + extra
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_every_lead_of_the_batch_is_on_the_owners_due_today_in_its_timeline_and_numbered_for_the_board(
        django_capture_on_commit_callbacks):
    desk = leads_enrolled(5, [{"channel": "call", "delay_minutes": 0}])
    events = BoardEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert steps_due_sweep(now=timezone.now() + timedelta(seconds=1))["due"] == 5
    assert len(callbacks) == 1  # one push after commit for the batch of five
    assert BoardEvent.objects.count() == events + 5
    for lead in desk["leads"]:
        run = StepRun.objects.get(enrollment__lead=lead)
        assignment = LeadAssignment.objects.get(lead=lead)
        assert run.status == "due" and assignment.next_step_at == run.due_at
        assert assignment.next_step == "Sequence step 1: Call"
        assert TimelineEntry.objects.filter(lead=lead, kind="next_step", actor_label="sequence").count() == 1


def test_an_earlier_step_the_rep_planned_is_kept_by_the_batch():
    desk = leads_enrolled(2, [{"channel": "call", "delay_minutes": 0}])
    planned = timezone.now() - timedelta(minutes=2)  # before the step came due (a step not done yet, say)
    lead_next_step_set(desk["leads"][0].pk, rep=desk["ann"], at=planned, note="call back at 3")
    steps_due_sweep(now=timezone.now() + timedelta(days=1))
    kept, handed = (LeadAssignment.objects.get(lead=lead) for lead in desk["leads"])
    assert (kept.next_step_at, kept.next_step) == (planned, "call back at 3")
    assert handed.next_step == "Sequence step 1: Call"


def test_a_stale_automatic_email_goes_to_due_today_in_the_same_batch_as_the_calls():
    desk = leads_enrolled(2, [EMAIL])
    StepRun.objects.filter(enrollment__lead=desk["leads"][0]).update(due_at=timezone.now() - timedelta(hours=3))
    totals = steps_due_sweep(now=timezone.now() + timedelta(seconds=1))
    assert totals["due"] == 2 and totals["sends"] == 1
    stale = StepRun.objects.get(enrollment__lead=desk["leads"][0])
    assert stale.note == STALE_NOTE
    assert LeadAssignment.objects.get(lead=desk["leads"][0]).next_step == "Sequence step 1: Email"
    assert LeadAssignment.objects.get(lead=desk["leads"][1]).next_step_at is None


def test_sends_are_queued_a_chunk_to_a_task(monkeypatch, django_capture_on_commit_callbacks):
    leads_enrolled(5, [EMAIL])
    monkeypatch.setattr(sending, "SEND_CHUNK", 2)
    queued: list[list[int]] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, ids, **kwargs: queued.append(ids))
    with django_capture_on_commit_callbacks(execute=True):
        assert steps_due_sweep(now=timezone.now() + timedelta(seconds=1))["sends"] == 5
    assert [len(chunk) for chunk in queued] == [2, 2, 1]
    assert sorted(sum(queued, [])) == sorted(StepRun.objects.values_list("pk", flat=True))


def test_a_chunk_sends_each_once_and_one_that_raises_does_not_stop_the_rest(monkeypatch, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SEQUENCES_MIN_SPACING_SECONDS = 0
    desk = leads_enrolled(3, [EMAIL])
    StepRun.objects.update(status="due")
    ids = list(StepRun.objects.order_by("pk").values_list("pk", flat=True))
    real = sending.step_send

    def flaky(run_id: int, **kwargs):
        if run_id == ids[1]:
            raise RuntimeError("the database went away")
        return real(run_id, **kwargs)

    monkeypatch.setattr(sending, "step_send", flaky)
    assert sending.steps_send(ids) == {"sent": 2, "error": 1}
    monkeypatch.setattr(sending, "step_send", real)
    assert sending.steps_send(ids) == {"skipped": 2, "sent": 1}  # the one left is sent; the others never again
    assert Outbox.objects.filter(status="sent").count() == 3
    assert Enrollment.objects.filter(lead__in=desk["leads"], status="completed").count() == 3
