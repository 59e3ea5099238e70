"""Snapshots of slow figures: kept, served only while exact or recent, computed again by a task, scoped, rolled."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sdr_desk.reports.models import ReportSnapshot, rows_dump, rows_load
from sdr_desk.reports.rollups import facts_refresh
from sdr_desk.reports.snapshots import (
    Inputs,
    facts_version,
    figure_compute,
    snapshot_claim,
    snapshot_key,
    snapshot_refresh,
    snapshots_warm,
)
from tests.reports.fixtures import MON_10, lead_arrive
from tests.reports.test_pages import PAGES, RANGE, client_for

pytestmark = pytest.mark.django_db

SUMMARY_CSV = f"/reports/?{RANGE}&format=csv&table=summary"


@pytest.fixture
def every_figure_kept(settings):
    """Every figure counts as slow, so each is kept."""
    settings.REPORT_SNAPSHOT_SLOW_MS = 0
    return settings


def leads_in_summary(response) -> int:
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    return int(rows[0]["Leads"])


def without_tokens(response) -> str:
    return re.sub(r'(X-CSRFToken": "|value=")[A-Za-z0-9]{64}', "", response.content.decode())


def facts_read(captured: CaptureQueriesContext) -> int:
    return sum("reports_leadfact" in query["sql"] for query in captured.captured_queries)


def one_more_lead(desk) -> None:
    lead_arrive(desk, "a7", arrived=MON_10 + timedelta(hours=4), owner=desk.bob)
    facts_refresh(full=True)


class TestKeeping:
    def test_a_fast_figure_is_not_kept(self, desk, settings):
        settings.REPORT_SNAPSHOT_SLOW_MS = 60_000
        assert client_for(desk.manager).get(f"/reports/?{RANGE}").status_code == 200
        assert not ReportSnapshot.objects.exists()

    @pytest.mark.parametrize("page", list(PAGES))
    def test_a_slow_figure_is_kept_and_served_without_reading_the_facts(self, desk, every_figure_kept, page):
        manager = client_for(desk.manager)
        live = manager.get(f"{page}?{RANGE}")
        assert ReportSnapshot.objects.count() >= len(PAGES[page])
        with CaptureQueriesContext(connection) as captured:
            kept = manager.get(f"{page}?{RANGE}")
        assert facts_read(captured) == 0
        assert without_tokens(kept) == without_tokens(live)

    def test_each_export_is_served_from_the_same_snapshot(self, desk, every_figure_kept):
        manager = client_for(desk.manager)
        manager.get(f"/reports/?{RANGE}")
        with CaptureQueriesContext(connection) as captured:
            assert leads_in_summary(manager.get(SUMMARY_CSV)) == 6
        assert facts_read(captured) == 0

    def test_the_kept_rows_are_the_live_rows(self, desk, every_figure_kept):
        client_for(desk.marketing).get(f"/reports/?{RANGE}")
        for snapshot in ReportSnapshot.objects.all():
            live = figure_compute(snapshot.figure, snapshot.kwargs, Inputs.from_json(snapshot.inputs))
            assert rows_load(snapshot.rows) == live, snapshot.figure

    def test_dates_and_floats_come_back_as_they_were(self):
        rows = [{"day": date(2026, 11, 2), "at": datetime(2026, 11, 2, 15, tzinfo=UTC), "p50": 179999.19999999995,
                 "n": 3, "drill": {"rep": "-"}, "none": None}]
        assert rows_load(rows_dump(rows)) == rows


class TestFreshness:
    def test_after_the_facts_move_a_recent_snapshot_is_served_while_a_task_computes_it_again(
            self, desk, every_figure_kept, django_capture_on_commit_callbacks):
        manager = client_for(desk.manager)
        assert leads_in_summary(manager.get(SUMMARY_CSV)) == 6
        one_more_lead(desk)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert leads_in_summary(manager.get(SUMMARY_CSV)) == 6  # kept, and at most max-age old
        assert len(callbacks) == 1  # one task to compute it again
        snapshot = ReportSnapshot.objects.get(figure="speed_summary")
        assert snapshot.version == facts_version().tag and snapshot.refreshing_since is None
        assert leads_in_summary(manager.get(SUMMARY_CSV)) == 7

    def test_a_page_served_stale_says_how_old_its_figures_are(self, desk, every_figure_kept):
        manager = client_for(desk.manager)
        manager.get(f"/reports/?{RANGE}")
        made = ReportSnapshot.objects.get(figure="speed_summary").as_of
        one_more_lead(desk)
        response = manager.get(f"/reports/?{RANGE}")
        assert response.context["report"].refreshed_at == made < facts_version().refreshed_at
        assert b"newer figures are being computed" in response.content

    def test_a_snapshot_older_than_the_max_age_is_computed_live(self, desk, every_figure_kept):
        every_figure_kept.REPORT_SNAPSHOT_MAX_AGE_SECONDS = 0
        manager = client_for(desk.manager)
        manager.get(SUMMARY_CSV)
        one_more_lead(desk)
        assert leads_in_summary(manager.get(SUMMARY_CSV)) == 7

    def test_one_task_at_a_time_computes_a_snapshot_and_a_dead_ones_claim_expires(self, desk, every_figure_kept):
        client_for(desk.manager).get(SUMMARY_CSV)
        key = ReportSnapshot.objects.get(figure="speed_summary").pk
        assert snapshot_claim(key) and not snapshot_claim(key)
        later = timezone.now() + timedelta(hours=1)
        assert snapshot_claim(key, now=later)

    def test_computing_it_again_twice_does_the_work_once(self, desk, every_figure_kept):
        client_for(desk.manager).get(SUMMARY_CSV)
        key = ReportSnapshot.objects.get(figure="speed_summary").pk
        one_more_lead(desk)
        assert snapshot_refresh(key) is True
        assert snapshot_refresh(key) is False
        assert snapshot_refresh("no-such-key") is False


class TestScope:
    def test_a_manager_who_loses_a_team_loses_its_kept_figures_at_once(self, desk, every_figure_kept):
        manager = client_for(desk.manager)
        assert leads_in_summary(manager.get(SUMMARY_CSV)) == 6
        desk.team.manager = desk.other_manager
        desk.team.save()
        response = manager.get(SUMMARY_CSV)
        assert leads_in_summary(response) == 0

    def test_viewers_of_one_scope_share_a_snapshot_and_others_do_not(self, desk, every_figure_kept):
        from sdr_desk.roles import Role
        from tests.factories import UserFactory

        client_for(desk.marketing).get(SUMMARY_CSV)
        client_for(UserFactory(username="mo", roles=[Role.MARKETING])).get(SUMMARY_CSV)
        assert ReportSnapshot.objects.filter(figure="speed_summary").count() == 1
        assert leads_in_summary(client_for(desk.ann).get(SUMMARY_CSV)) == 4
        assert ReportSnapshot.objects.filter(figure="speed_summary").count() == 2


class TestTheSchedule:
    def inputs(self, desk, *, since: date, until: date) -> Inputs:
        return Inputs(scope={"everyone": True, "teams": [], "rep": None}, since=since, until=until,
                      zone="America/New_York")

    def test_it_computes_stale_snapshots_again(self, desk, every_figure_kept):
        client_for(desk.manager).get(f"/reports/?{RANGE}")
        one_more_lead(desk)
        warmed = snapshots_warm()
        assert warmed.refreshed == ReportSnapshot.objects.count() > 0
        assert set(ReportSnapshot.objects.values_list("version", flat=True)) == {facts_version().tag}
        assert snapshots_warm().refreshed == 0  # nothing moved since

    def test_it_drops_what_nobody_viewed_within_the_keep_days(self, desk, every_figure_kept):
        client_for(desk.manager).get(f"/reports/?{RANGE}")
        ReportSnapshot.objects.update(viewed_at=timezone.now() - timedelta(days=8))
        assert snapshots_warm().dropped > 0 and not ReportSnapshot.objects.exists()

    def test_it_rolls_the_last_n_days_on_to_today(self, desk, every_figure_kept):
        today = timezone.localtime(timezone.now(), Inputs(scope={}, since=date.today(), until=date.today(),
                                                          zone="America/New_York").window.zone).date()
        yesterday = self.inputs(desk, since=today - timedelta(days=30), until=today - timedelta(days=1))
        ReportSnapshot.objects.create(key=snapshot_key("coaching", {}, yesterday), figure="coaching", kwargs={},
                                      inputs=yesterday.as_json(), rows="[]", version="old", seconds=1, relative=True)
        warmed = snapshots_warm()
        assert warmed.rolled == 1
        rolled = self.inputs(desk, since=today - timedelta(days=29), until=today)
        assert list(ReportSnapshot.objects.values_list("key", flat=True)) == [snapshot_key("coaching", {}, rolled)]

    def test_it_stops_at_its_budget_and_says_what_is_left(self, desk, every_figure_kept):
        client_for(desk.manager).get(f"/reports/?{RANGE}")
        one_more_lead(desk)
        warmed = snapshots_warm(budget_seconds=-1)
        assert warmed.refreshed == 0 and warmed.left == ReportSnapshot.objects.count()


class TestTwoAtOnce:
    def test_a_second_store_of_one_key_replaces_the_first_and_keeps_when_it_was_viewed(self, desk):
        from sdr_desk.reports.snapshots import _store

        inputs = Inputs(scope={"everyone": True, "teams": [], "rep": None}, since=date(2026, 11, 1),
                        until=date(2026, 11, 30), zone="UTC")
        key = snapshot_key("coaching", {}, inputs)
        viewed = timezone.now() - timedelta(hours=1)
        _store(key, "coaching", {}, inputs, [{"n": 1}], facts_version(), 1.0, viewed_at=viewed)
        _store(key, "coaching", {}, inputs, [{"n": 2}], facts_version(), 2.0)
        snapshot = ReportSnapshot.objects.get(pk=key)
        assert rows_load(snapshot.rows) == [{"n": 2}] and snapshot.seconds == 2.0 and snapshot.viewed_at == viewed

    @pytest.mark.django_db(transaction=True)
    def test_two_requests_keeping_one_cold_figure_at_once_both_succeed(self):
        """The first holds its new row uncommitted while the second inserts the same key: the second waits, then
        replaces it (``ON CONFLICT DO UPDATE``) instead of failing its whole request on a duplicate key."""
        import threading

        from django.db import connections, transaction

        from sdr_desk.reports.snapshots import _store

        inputs = Inputs(scope={"everyone": True, "teams": [], "rep": None}, since=date(2026, 11, 1),
                        until=date(2026, 11, 30), zone="UTC")
        key = snapshot_key("coaching", {}, inputs)
        inserted, errors = threading.Event(), []

        def first() -> None:
            try:
                with transaction.atomic():
                    _store(key, "coaching", {}, inputs, [{"n": 1}], facts_version(), 1.0)
                    inserted.set()
                    second_thread.join(timeout=1)  # the second is blocked on our row now
            finally:
                connections.close_all()

        def second() -> None:
            inserted.wait(5)
            try:
                with transaction.atomic():
                    _store(key, "coaching", {}, inputs, [{"n": 2}], facts_version(), 2.0)
            except Exception as error:  # noqa: BLE001 - the failure this test is about
                errors.append(error)
            finally:
                connections.close_all()

        second_thread = threading.Thread(target=second)
        first_thread = threading.Thread(target=first)
        first_thread.start()
        second_thread.start()
        first_thread.join(10)
        second_thread.join(10)
        assert errors == []
        assert rows_load(ReportSnapshot.objects.get(pk=key).rows) == [{"n": 2}]
