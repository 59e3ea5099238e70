"""``leads_next_step_due``: a batch of desk-planned next steps (the sequence sweep's) set in a fixed number of
queries, with the single-lead rules (an earlier planned step is kept), a timeline entry and a live card per lead."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from inbound.models import TimelineEntry
from sdr_desk.board.live import user_group
from sdr_desk.board.models import BoardEvent
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import NextStepDue, lead_next_step_set, leads_next_step_due
from tests.desk_fixtures import hot_lead, rep_make, team_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    team = team_make("Inbound", visibility="claim")
    ann = rep_make("ann", team)
    leads = [hot_lead() for _ in range(4)]
    for lead in leads:
        lead_route(lead.pk)
        lead_claim(lead.pk, user=ann)
    return {"team": team, "ann": ann, "leads": leads}


def steps_for(leads, at) -> list[NextStepDue]:
    return [NextStepDue(lead_id=lead.pk, at=at, note=f"Sequence step 2: Call {lead.pk}") for lead in leads]


def test_every_lead_gets_its_step_its_timeline_entry_and_a_numbered_board_event(desk, django_assert_max_num_queries):
    at, now = timezone.now() - timedelta(minutes=3), timezone.now()
    versions = dict(LeadAssignment.objects.values_list("lead_id", "version"))
    events_before = BoardEvent.objects.count()
    with django_assert_max_num_queries(6):  # lock, update, timeline insert, board events insert (+ savepoints)
        changed = leads_next_step_due(steps_for(desk["leads"], at), actor_label="sequence", now=now)
    assert sorted(a.lead_id for a in changed) == sorted(lead.pk for lead in desk["leads"])
    for assignment in LeadAssignment.objects.filter(lead__in=desk["leads"]):
        assert assignment.next_step_at == at and assignment.next_step == f"Sequence step 2: Call {assignment.lead_id}"
        assert assignment.version == versions[assignment.lead_id] + 1 and assignment.updated_at == now
        entry = TimelineEntry.objects.get(lead_id=assignment.lead_id, kind="next_step")
        assert entry.actor_label == "sequence" and entry.data["after"]["note"] == assignment.next_step
        assert entry.data["before"] == {"at": None, "note": ""}
    assert BoardEvent.objects.count() == events_before + 4


def test_the_query_count_does_not_grow_with_the_batch(desk, django_assert_max_num_queries):
    more = [hot_lead() for _ in range(6)]
    for lead in more:
        lead_route(lead.pk)
        lead_claim(lead.pk, user=desk["ann"])
    with django_assert_max_num_queries(6):
        assert len(leads_next_step_due(steps_for(desk["leads"] + more, timezone.now()), actor_label="sequence")) == 10


def test_an_earlier_step_the_rep_planned_is_kept_and_a_later_one_is_replaced(desk):
    first, second = desk["leads"][:2]
    soon, later = timezone.now() + timedelta(minutes=30), timezone.now() + timedelta(days=2)
    lead_next_step_set(first.pk, rep=desk["ann"], at=soon, note="call back")
    lead_next_step_set(second.pk, rep=desk["ann"], at=later, note="call Thursday")
    due = timezone.now() + timedelta(hours=1)
    changed = leads_next_step_due(steps_for([first, second], due), actor_label="sequence")
    assert [a.lead_id for a in changed] == [second.pk]
    assert LeadAssignment.objects.get(lead=first).next_step == "call back"
    replaced = LeadAssignment.objects.get(lead=second)
    assert replaced.next_step_at == due
    entry = TimelineEntry.objects.filter(lead=second, kind="next_step", actor_label="sequence").get()
    assert entry.data["before"]["note"] == "call Thursday"
    assert not TimelineEntry.objects.filter(lead=first, kind="next_step", actor_label="sequence").exists()


def test_an_unowned_or_closed_lead_is_left_alone(desk):
    unowned = hot_lead()
    lead_route(unowned.pk)
    closed = desk["leads"][0]
    LeadAssignment.objects.filter(lead=closed).update(state="closed")
    events = BoardEvent.objects.count()
    assert leads_next_step_due(steps_for([unowned, closed], timezone.now()), actor_label="sequence") == []
    assert LeadAssignment.objects.get(lead=unowned).next_step_at is None
    assert not TimelineEntry.objects.filter(lead__in=[unowned, closed], kind="next_step").exists()
    assert BoardEvent.objects.count() == events


def test_the_owners_board_gets_each_card_after_commit(desk, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(desk["ann"].pk), channel)
    at = timezone.now()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        leads_next_step_due(steps_for(desk["leads"], at), actor_label="sequence")
    assert len(callbacks) == 1  # one push for the batch, after commit
    for callback in callbacks:
        callback()
    messages = [async_to_sync(layer.receive)(channel) for _ in desk["leads"]]
    assert sorted(m["facts"]["lead_id"] for m in messages) == sorted(lead.pk for lead in desk["leads"])
    seqs = [m["seq"] for m in messages]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    assert all(m["type"] == "board.lead" and m["facts"]["next_step_at"] == at.isoformat() for m in messages)
    assert all("Sequence step 2" in m["html_owner"] for m in messages)
