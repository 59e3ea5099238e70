"""The facts follow the raw rows through the real services: the timeline is the change feed."""

from __future__ import annotations

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from inbound.models import TimelineEntry
from sdr_desk.dispositions.merge import lead_merge
from sdr_desk.dispositions.services import lead_disposition
from sdr_desk.handoff.services import handoff_verdict, lead_handoff
from sdr_desk.reports import rollups
from sdr_desk.reports.models import LeadFact, RollupState
from sdr_desk.reports.rollups import facts_fresh_enough, facts_rebuild, facts_refresh, facts_store, facts_waiting
from sdr_desk.reports.snapshots import facts_version
from sdr_desk.reports.tasks import facts_rebuild as facts_rebuild_task
from sdr_desk.reports.tasks import facts_watch
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
        assert facts_rebuild_task() == 1

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


# --- the full rebuild, in committed batches -----------------------------------------------------------

@pytest.fixture
def three(routed):
    """Three routed leads, no facts yet, the feed's mark at the timeline's end."""
    for _ in range(2):
        lead_route(hot_lead().pk)
    facts_refresh()
    LeadFact.objects.all().delete()
    return sorted(LeadFact._meta.get_field("lead").related_model.objects.values_list("pk", flat=True))


def state() -> RollupState:
    return RollupState.objects.get(name=rollups.FACTS)


def rebuild() -> RollupState:
    return RollupState.objects.get(name=rollups.REBUILD)


class TestTheRebuildInSteps:
    def test_a_rebuild_over_its_budget_stops_at_a_committed_cursor_and_the_next_run_finishes_it(self, three):
        first = facts_rebuild(budget_seconds=0, batch=1)
        assert (first.leads, first.cursor, first.done) == (1, three[0], False)
        assert rebuild().rebuild_cursor == three[0] and not rebuild().rebuild_claim  # the claim is let go
        assert list(LeadFact.objects.values_list("lead_id", flat=True)) == three[:1]
        rest = facts_rebuild(start=False, budget_seconds=None, batch=1)
        assert (rest.leads, rest.cursor, rest.done) == (2, None, True)
        assert sorted(LeadFact.objects.values_list("lead_id", flat=True)) == three
        assert rebuild().rebuild_cursor is None

    def test_full_at_and_the_facts_version_move_only_when_a_rebuild_reaches_the_end(self, three):
        facts_refresh(full=True)
        version = facts_version()
        facts_rebuild(budget_seconds=0, batch=1)
        facts_rebuild(start=False, budget_seconds=0, batch=1)
        assert facts_version() == version  # two batches in, not done
        facts_rebuild(start=False, budget_seconds=0, batch=1)
        assert facts_version() == version  # the last lead is in; the end is found by the next batch's read
        facts_rebuild(start=False, budget_seconds=0, batch=1)
        assert facts_version().full_at > version.full_at and rebuild().rebuild_cursor is None

    def test_without_a_rebuild_in_progress_going_on_does_nothing(self, three):
        run = facts_rebuild(start=False)
        assert run.busy and run.leads == 0 and not LeadFact.objects.exists()

    def test_the_nightly_task_goes_on_in_a_task_queued_on_commit_until_the_end(
            self, three, monkeypatch, django_capture_on_commit_callbacks):
        monkeypatch.setattr(rollups, "REBUILD_BUDGET_SECONDS", 0)
        monkeypatch.setattr(rollups, "BATCH", 1)
        with django_capture_on_commit_callbacks(execute=True) as queued:
            facts_rebuild_task()  # the tests' Django-Q runs a queued task at once, in the caller
        assert len(queued) >= 3
        assert sorted(LeadFact.objects.values_list("lead_id", flat=True)) == three
        assert state().full_at is not None and rebuild().rebuild_cursor is None

    def test_a_run_that_dies_leaves_its_claim_to_the_lease_then_the_minutes_watch_goes_on(
            self, three, django_capture_on_commit_callbacks):
        facts_rebuild(budget_seconds=0, batch=1)
        RollupState.objects.filter(name=rollups.REBUILD).update(rebuild_claim="dead", rebuild_heartbeat=timezone.now())
        assert facts_rebuild(start=False).busy  # a live claim: not taken
        assert not rollups.facts_rebuild_stalled()
        RollupState.objects.filter(name=rollups.REBUILD).update(
            rebuild_heartbeat=timezone.now() - rollups.REBUILD_LEASE - timedelta(seconds=1))
        assert rollups.facts_rebuild_stalled()
        with django_capture_on_commit_callbacks(execute=True):
            facts_watch()
        assert sorted(LeadFact.objects.values_list("lead_id", flat=True)) == three
        assert rebuild().rebuild_cursor is None and state().full_at is not None

    def test_the_incremental_refresh_runs_between_the_runs_of_a_rebuild(self, three, routed):
        facts_rebuild(budget_seconds=0, batch=1)
        touch_log(routed["lead"].pk, rep=routed["ann"], channel="call", outcome="connected")
        assert facts_refresh().leads >= 1
        assert fact(routed["lead"]).touches == 1 and rebuild().rebuild_cursor == three[0]
        facts_rebuild(start=False, budget_seconds=None)
        assert fact(routed["lead"]).touches == 1 and LeadFact.objects.count() == 3

    def test_the_rebuild_moves_the_feeds_mark_to_where_it_began(self, three):
        RollupState.objects.filter(name=rollups.FACTS).update(last_entry_id=0)
        assert facts_refresh(full=True).last_entry_id == TimelineEntry.objects.latest("id").pk

    def test_a_merged_away_lead_loses_its_facts_in_a_rebuild(self, three, routed):
        facts_refresh(full=True)
        survivor = LeadFact.objects.exclude(lead=routed["lead"]).first().lead
        lead_merge(routed["lead"].pk, into_id=survivor.pk, user=routed["ann"])
        RollupState.objects.filter(name=rollups.FACTS).update(last_entry_id=10**9)  # the feed says nothing moved
        facts_rebuild(budget_seconds=None, batch=1)
        assert not LeadFact.objects.filter(lead=routed["lead"]).exists() and LeadFact.objects.count() == 2

    def test_the_command_runs_the_rebuild_to_the_end(self, three, monkeypatch):
        monkeypatch.setattr(rollups, "BATCH", 1)
        out = StringIO()
        call_command("reports_refresh", "--full", stdout=out)
        assert out.getvalue().startswith("3 leads' facts written up to timeline entry")
        assert LeadFact.objects.count() == 3 and rebuild().rebuild_cursor is None and state().full_at is not None

    def test_the_command_says_so_when_another_run_is_at_the_rebuild(self, three):
        facts_rebuild(budget_seconds=0, batch=1)
        RollupState.objects.filter(name=rollups.REBUILD).update(rebuild_claim="other", rebuild_heartbeat=timezone.now())
        out = StringIO()
        call_command("reports_refresh", "--full", stdout=out)
        assert "another run is at the rebuild" in out.getvalue() and LeadFact.objects.count() == 1


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

    def test_reading_a_batch_by_its_range_gives_the_facts_reading_by_ids_gives(self, desk):
        lead_ids = sorted(LeadFact.objects.values_list("lead_id", flat=True))
        now = timezone.now()
        by_ids = rollups._facts_for(lead_ids, rollups._Calendars(), now)
        by_range = rollups._facts_for(lead_ids, rollups._Calendars(), now, every_lead=True)
        assert by_range == by_ids


@pytest.mark.django_db(transaction=True)
class TestTheRebuildAcrossProcesses:
    def pause_in_a_batch(self, monkeypatch):
        """Hold the rebuild's first batch after it read its raw rows (before it writes), until released."""
        inside, release = threading.Event(), threading.Event()
        real = rollups._facts_for

        def reading(*args, **kwargs):
            read = real(*args, **kwargs)
            if not inside.is_set():
                inside.set()
                release.wait(20)
            return read

        monkeypatch.setattr(rollups, "_facts_for", reading)
        return inside, release

    def in_a_thread(self, work):
        seen = {}

        def run():
            try:
                seen["run"] = work()
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        return thread, seen

    def test_two_runs_at_once_one_works_the_other_returns(self, three, monkeypatch):
        inside, release = self.pause_in_a_batch(monkeypatch)
        thread, seen = self.in_a_thread(lambda: facts_rebuild(budget_seconds=None, batch=1))
        assert inside.wait(20)
        second = facts_rebuild(budget_seconds=None)
        release.set()
        thread.join(20)
        assert second.busy and second.leads == 0
        assert seen["run"].done and seen["run"].leads == 3 and LeadFact.objects.count() == 3

    def test_the_incremental_refresh_runs_while_a_batch_is_being_read_and_its_fact_is_kept(
            self, three, routed, monkeypatch):
        inside, release = self.pause_in_a_batch(monkeypatch)
        thread, seen = self.in_a_thread(lambda: facts_rebuild(budget_seconds=None))
        assert inside.wait(20)  # the batch read the lead untouched...
        touch_log(routed["lead"].pk, rep=routed["ann"], channel="call", outcome="connected")
        assert facts_refresh().leads >= 1  # ...the minute's refresh is not held up by the rebuild...
        release.set()
        thread.join(20)
        assert seen["run"].done
        assert fact(routed["lead"]).touches == 1  # ...and the batch does not write its older reading over it

    def test_a_run_killed_mid_batch_resumes_from_the_last_committed_cursor_without_losing_or_doubling(
            self, three, monkeypatch):
        real, batches = rollups.facts_store, []

        def store_then_die(facts, gone, **kwargs):
            real(facts, gone, **kwargs)
            batches.append(facts)
            if len(batches) == 2:
                raise RuntimeError("worker killed")

        monkeypatch.setattr(rollups, "facts_store", store_then_die)
        with pytest.raises(RuntimeError):
            facts_rebuild(budget_seconds=None, batch=1)
        assert rebuild().rebuild_cursor == three[0]  # the second batch and its cursor were rolled back
        assert list(LeadFact.objects.values_list("lead_id", flat=True)) == three[:1]
        monkeypatch.setattr(rollups, "facts_store", real)
        rest = facts_rebuild(start=False, budget_seconds=None, batch=1)
        assert rest.done and rest.leads == 2  # the second and third, once each
        assert sorted(LeadFact.objects.values_list("lead_id", flat=True)) == three

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="a row lock held by another connection")
    def test_the_incremental_refresh_waits_for_a_batch_writing_instead_of_skipping_its_minute(self, three):
        writing, done = threading.Event(), threading.Event()

        def a_batch_writing():
            from django.db import transaction
            with transaction.atomic():
                RollupState.objects.get_or_create(name=rollups.REBUILD)
                RollupState.objects.select_for_update().get(name=rollups.REBUILD)
                writing.set()
                done.wait(0.5)
            connection.close()

        batch = threading.Thread(target=a_batch_writing)
        batch.start()
        assert writing.wait(20)
        assert facts_refresh().leads == 3  # waited, then did its work
        batch.join(20)

