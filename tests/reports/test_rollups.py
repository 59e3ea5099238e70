"""The facts follow the raw rows through the real services: the timeline is the change feed."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import timezone

from inbound.models import TimelineEntry
from sdr_desk.dispositions.merge import lead_merge
from sdr_desk.dispositions.services import lead_disposition
from sdr_desk.handoff.services import handoff_verdict, lead_handoff
from sdr_desk.reports import rollups
from sdr_desk.reports.models import LeadFact, RollupState
from sdr_desk.reports.rollups import facts_fresh_enough, facts_refresh, facts_store, facts_waiting
from sdr_desk.reports.tasks import facts_rebuild, facts_watch
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment, Team
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import touch_log
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.handoff.fixtures import ae_make, ready_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(db):
    team = team_make("Inbound")
    ann = rep_make("ann", team)
    lead = hot_lead()
    lead_route(lead.pk)
    lead_claim(lead.pk, user=ann)
    return {"team": team, "ann": ann, "lead": lead}


def fact(lead) -> LeadFact:
    return LeadFact.objects.get(lead=lead)


class TestTheChangeFeed:
    def test_a_routed_lead_gets_its_facts_on_the_next_refresh(self, routed):
        assert not LeadFact.objects.exists()
        done = facts_refresh()
        assert done.leads == 1 and done.last_entry_id == TimelineEntry.objects.latest("id").pk
        row = fact(routed["lead"])
        assert row.team_id == routed["team"].pk and row.bucket == "never" and row.touches == 0

    def test_a_touch_moves_the_lead_into_its_bucket_with_the_desks_own_response_time(self, routed):
        facts_refresh()
        touch_log(routed["lead"].pk, rep=routed["ann"], channel="call", outcome="connected")
        assert facts_waiting() > 0
        facts_refresh()
        assignment = LeadAssignment.objects.get(lead=routed["lead"])
        row = fact(routed["lead"])
        assert row.response_seconds == assignment.response_seconds
        assert row.response_business_seconds == assignment.response_business_seconds
        assert row.first_touch_at == assignment.first_touch_at and row.bucket == "lt5m"
        assert (row.touches, row.connected, row.attempts_to_connect, row.rep_id) == (1, True, 1, routed["ann"].pk)

    def test_a_disposition_lands_in_the_facts(self, routed):
        touch_log(routed["lead"].pk, rep=routed["ann"], channel="call", outcome="no_answer")
        lead_disposition(routed["lead"].pk, user=routed["ann"], code="bad-fit", reason="Too small")
        facts_refresh()
        row = fact(routed["lead"])
        assert (row.outcome, row.disposition_reason, row.qualified) == ("disqualified", "Too small", False)

    def test_a_handoff_and_the_aes_verdict_land_in_the_facts(self, routed):
        ae_team = Team.objects.create(name="AEs", business_hours=routed["team"].business_hours)
        ae = ae_make("alex", ae_team)
        lead = ready_lead(routed["ann"])
        handoff = lead_handoff(lead.pk, sdr=routed["ann"], ae=ae)
        facts_refresh()
        assert fact(lead).handed_off and fact(lead).qualified and not fact(lead).ae_rejected
        handoff_verdict(handoff.pk, ae=ae, accept=False, reason="Bad timing")
        facts_refresh()
        assert fact(lead).ae_rejected and fact(lead).rejection_reason == "Bad timing"

    def test_a_merged_duplicate_leaves_the_reports(self, routed):
        survivor = hot_lead()
        lead_route(survivor.pk)
        facts_refresh()
        assert LeadFact.objects.filter(lead=routed["lead"]).exists()
        lead_merge(routed["lead"].pk, into_id=survivor.pk, user=routed["ann"])
        facts_refresh()
        assert not LeadFact.objects.filter(lead=routed["lead"]).exists()
        assert LeadFact.objects.filter(lead=survivor).exists()

    def test_running_twice_changes_nothing(self, routed):
        facts_refresh()
        before = list(LeadFact.objects.values())
        again = facts_refresh()
        after = list(LeadFact.objects.values())
        assert again.leads >= 1  # the overlap is read again...
        assert [dict(r, refreshed_at=None) for r in before] == [dict(r, refreshed_at=None) for r in after]  # ...to the same

    def test_a_full_rebuild_writes_every_lead(self, routed):
        other = hot_lead()
        lead_route(other.pk)
        LeadFact.objects.all().delete()
        RollupState.objects.update_or_create(name=rollups.FACTS, defaults={"last_entry_id": 10**9})
        assert facts_refresh().leads == 0  # the feed says nothing moved...
        assert facts_refresh(full=True).leads == 2  # ...the nightly rebuild catches it anyway
        assert RollupState.objects.get(name=rollups.FACTS).full_at is not None

    def test_the_tasks_call_the_same_refresh(self, routed):
        assert facts_watch() == 1
        assert facts_rebuild() == 1

    def test_a_report_catches_up_when_little_is_waiting_and_leaves_a_big_backlog_to_the_schedule(self, routed,
                                                                                                monkeypatch):
        assert facts_fresh_enough() is not None and LeadFact.objects.count() == 1
        touch_log(routed["lead"].pk, rep=routed["ann"], channel="call", outcome="connected")
        monkeypatch.setattr(rollups, "READ_REFRESH_LIMIT", 0)
        facts_fresh_enough()
        assert fact(routed["lead"]).touches == 0  # too much waiting: not on the request


@pytest.mark.django_db(transaction=True)
class TestOneAtATime:
    def test_a_second_refresh_while_one_runs_returns_at_once(self, routed):
        facts_refresh()
        holding, release = threading.Event(), threading.Event()
        seen = {}

        def hold_the_row():
            from django.db import transaction
            with transaction.atomic():
                RollupState.objects.select_for_update().get(name=rollups.FACTS)
                holding.set()
                release.wait(10)
            connection.close()

        def second():
            seen["done"] = facts_refresh()
            connection.close()

        holder = threading.Thread(target=hold_the_row)
        holder.start()
        assert holding.wait(10)
        other = threading.Thread(target=second)
        other.start()
        other.join(10)
        release.set()
        holder.join(10)
        assert seen["done"].leads == 0


class TestClosedUntouched:
    def test_a_lead_closed_without_a_touch_counts_as_never_touched(self, routed):
        # The desk's clock stops on the disposition; the reports do not take that for an answer.
        lead_disposition(routed["lead"].pk, user=routed["ann"], code="spam-or-invalid", reason="Bot")
        facts_refresh()
        assert LeadAssignment.objects.get(lead=routed["lead"]).first_touch_at is not None
        row = fact(routed["lead"])
        assert (row.bucket, row.first_touch_at, row.response_seconds, row.touches) == ("never", None, None, 0)
        assert row.outcome == "disqualified"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
class TestTheCopyPath:
    def test_it_writes_exactly_what_the_portable_upsert_writes(self, desk):
        lead_ids = sorted(LeadFact.objects.values_list("lead_id", flat=True))
        facts, gone = rollups._facts_for(lead_ids, rollups._Calendars(), timezone.now())
        assert len(facts) == 7 and not gone
        LeadFact.objects.all().delete()
        facts_store(facts, gone, copy=False)
        portable = list(LeadFact.objects.order_by("lead_id").values())
        LeadFact.objects.all().delete()
        facts_store(facts, gone, copy=True)  # inserted
        assert list(LeadFact.objects.order_by("lead_id").values()) == portable
        facts_store(facts, gone, copy=True)  # and over themselves: updated
        assert list(LeadFact.objects.order_by("lead_id").values()) == portable

    def test_it_updates_a_changed_fact(self, desk):
        lead_ids = sorted(LeadFact.objects.values_list("lead_id", flat=True))
        LeadFact.objects.update(touches=99, campaign="stale", first_touch_at=None)
        facts, gone = rollups._facts_for(lead_ids, rollups._Calendars(), timezone.now())
        facts_store(facts, gone, copy=True)
        assert not LeadFact.objects.filter(touches=99).exists() and not LeadFact.objects.filter(campaign="stale")
