"""Every figure of a report through one door: computed live, or served from a snapshot when computing is slow.

A report's figures are exact (percentiles sort every value in range), so a year over a million leads takes
seconds to compute. A figure whose live computation took ``REPORT_SNAPSHOT_SLOW_MS`` or more is kept as a
``ReportSnapshot``, keyed by the figure and everything it reads: the viewer's scope resolved to team and rep
ids, the days, the zone, the team and source filters. Served:

- while the facts are at the version it was computed at: the very rows a live query gives;
- after the facts moved, for at most ``REPORT_SNAPSHOT_MAX_AGE_SECONDS`` since it was made, while one task
  (claimed on the row, so one at a time) computes it again; the page says how old its figures are;
- older than that, the page computes it live again (and keeps the result).

The "Report snapshots" schedule brings every snapshot viewed within ``REPORT_SNAPSHOT_KEEP_DAYS`` up to the
facts' version (most recently viewed first, within a time budget), rolls a window that ended on the day it
was viewed ("the last 365 days") on to today, and drops what nobody looked at. A desk whose figures are all
fast never makes a snapshot: its reports are always live.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from sdr_desk.reports import selectors as s
from sdr_desk.reports.models import LeadFact, ReportSnapshot, rows_dump, rows_load
from sdr_desk.reports.rollups import FactsVersion, facts_version

logger = logging.getLogger(__name__)

Rows = list[dict[str, Any]]

# Percentiles sort their group: with PostgreSQL's default 4 MB a year of leads sorts on disk.
REPORT_WORK_MEM = "64MB"
# How long a task may hold a snapshot's claim before another may take it (a worker that died mid-way).
CLAIM_SECONDS = 600
# The schedule's time budget per run (it runs every 5 minutes; Django-Q's timeout is 300 s).
WARM_BUDGET_SECONDS = 120


@contextmanager
def report_session() -> Iterator[None]:
    """One transaction with room to sort in memory and no JIT (``SET LOCAL``: this transaction only)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
            # A report's queries are many and short: compiling each (JIT) cost more than it saved, 20-30 ms a
            # query at a million facts.
            cursor.execute("SET LOCAL jit = off")
        yield


# --- what a figure reads --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Inputs:
    """Everything a figure depends on besides the facts themselves; JSON-able, so a task can compute it again."""

    scope: dict[str, Any]  # Scope.descriptor: {"everyone", "teams", "rep"}
    since: date
    until: date
    zone: str
    team_id: int | None = None
    source_id: int | None = None

    @property
    def window(self) -> s.Window:
        return s.Window(since=self.since, until=self.until, zone=ZoneInfo(self.zone))

    def facts(self) -> QuerySet[LeadFact]:
        scoped = s.scoped_facts(everyone=self.scope["everyone"], teams=self.scope["teams"], rep=self.scope["rep"])
        return s.facts_filter(scoped, window=self.window, team_id=self.team_id, source_id=self.source_id)

    def as_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "since": self.since.isoformat(), "until": self.until.isoformat(),
                "zone": self.zone, "team": self.team_id, "source": self.source_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inputs:
        return cls(scope=data["scope"], since=date.fromisoformat(data["since"]),
                   until=date.fromisoformat(data["until"]), zone=data["zone"], team_id=data["team"],
                   source_id=data["source"])

    def ends_today(self) -> bool:
        return self.until == timezone.localtime(timezone.now(), ZoneInfo(self.zone)).date()

    def rolled_to_today(self) -> Inputs:
        """The same number of days, ending today in the same zone."""
        today = timezone.localtime(timezone.now(), ZoneInfo(self.zone)).date()
        shift = today - self.until
        return Inputs(scope=self.scope, since=self.since + shift, until=today, zone=self.zone,
                      team_id=self.team_id, source_id=self.source_id)


# Every figure a report shows, by name: (facts, inputs, **kwargs) -> rows. Only names cross into snapshots.
FIGURES: dict[str, Callable[..., Rows]] = {
    "speed_summary": lambda facts, inputs: s.speed_summary(facts),
    "bucket_outcomes": lambda facts, inputs: s.bucket_outcomes(facts),
    "speed_by": lambda facts, inputs, dimension: s.speed_by(facts, dimension),
    "response_series": lambda facts, inputs: s.response_series(facts, ZoneInfo(inputs.zone)),
    "funnel_total": lambda facts, inputs: [s.funnel_total(facts)],
    "funnel_by": lambda facts, inputs, dimension: s.funnel_by(facts, dimension),
    "attribution": lambda facts, inputs, dimension, prefix: s.funnel_by(facts.filter(qualified=True), dimension,
                                                                         prefix=prefix),
    "reasons": lambda facts, inputs: s.reasons(facts),
    "rejection_reasons": lambda facts, inputs, by_source=False: s.rejection_reasons(facts, by_source=by_source),
    "bad_fit_reasons": lambda facts, inputs: s.bad_fit_reasons(facts),
    "coaching": lambda facts, inputs: s.coaching(facts),
}


def figure_compute(name: str, kwargs: dict[str, Any], inputs: Inputs,
                   facts: QuerySet[LeadFact] | None = None) -> Rows:
    return FIGURES[name](inputs.facts() if facts is None else facts, inputs, **kwargs)


def snapshot_key(name: str, kwargs: dict[str, Any], inputs: Inputs) -> str:
    canonical = json.dumps({"figure": name, "kwargs": kwargs, **inputs.as_json()}, sort_keys=True,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- serving --------------------------------------------------------------------------------------------

@dataclass
class Served:
    """What one page's figures were served from: the oldest facts any of them reflects."""

    version: FactsVersion
    as_of: datetime | None = None

    def note(self, as_of: datetime | None) -> None:
        if as_of is not None and (self.as_of is None or as_of < self.as_of):
            self.as_of = as_of


def figure_rows(name: str, kwargs: dict[str, Any], inputs: Inputs, *, served: Served,
                facts: QuerySet[LeadFact] | None = None) -> Rows:
    """The rows of figure ``name`` over ``inputs``: from its snapshot when that is current (or recent while a
    task catches it up), else computed live, and kept when that was slow."""
    key = snapshot_key(name, kwargs, inputs)
    now = timezone.now()
    snapshot = ReportSnapshot.objects.filter(pk=key).only(
        "rows", "version", "as_of", "made_at", "viewed_at", "refreshing_since").first()
    if snapshot is not None:
        current = snapshot.version == served.version.tag
        recent = now - snapshot.made_at <= timedelta(seconds=settings.REPORT_SNAPSHOT_MAX_AGE_SECONDS)
        if current or recent:
            if now - snapshot.viewed_at > timedelta(minutes=1):
                ReportSnapshot.objects.filter(pk=key).update(viewed_at=now)
            if not current and snapshot_claim(key, now=now):
                transaction.on_commit(lambda: _enqueue(key))
            served.note(served.version.refreshed_at if current else snapshot.as_of)
            return rows_load(snapshot.rows)
    began = time.perf_counter()
    rows = figure_compute(name, kwargs, inputs, facts)
    took = time.perf_counter() - began
    served.note(served.version.refreshed_at)
    if took * 1000 >= settings.REPORT_SNAPSHOT_SLOW_MS:
        _store(key, name, kwargs, inputs, rows, served.version, took, viewed_at=now)
    return rows


def _enqueue(key: str) -> None:
    from django_q.tasks import async_task

    async_task("sdr_desk.reports.tasks.snapshot_refresh", key, q_options={"group": "report-snapshots"})


def snapshot_claim(key: str, *, now: datetime | None = None) -> bool:
    """Take the right to compute ``key`` again: one task at a time, unless the last claim is old (a dead
    worker's)."""
    now = now or timezone.now()
    return ReportSnapshot.objects.filter(pk=key).filter(
        Q(refreshing_since__isnull=True) | Q(refreshing_since__lt=now - timedelta(seconds=CLAIM_SECONDS)),
    ).update(refreshing_since=now) == 1


def _store(key: str, name: str, kwargs: dict[str, Any], inputs: Inputs, rows: Rows, version: FactsVersion,
           took: float, *, viewed_at: datetime | None = None) -> None:
    """Insert or replace snapshot ``key`` in one statement (``ON CONFLICT DO UPDATE``): two requests computing one
    cold figure at once both succeed, the later one's rows kept."""
    snapshot = ReportSnapshot(key=key, figure=name, kwargs=kwargs, inputs=inputs.as_json(), rows=rows_dump(rows),
                              version=version.tag, as_of=version.refreshed_at, made_at=timezone.now(), seconds=took,
                              relative=inputs.ends_today(), viewed_at=viewed_at or timezone.now(),
                              refreshing_since=None)
    replaced = ["rows", "version", "as_of", "made_at", "seconds", "relative", "refreshing_since"]
    if viewed_at is not None:
        replaced.append("viewed_at")
    ReportSnapshot.objects.bulk_create([snapshot], update_conflicts=True, unique_fields=["key"],
                                       update_fields=replaced)


# --- keeping them up to date (Django-Q) -----------------------------------------------------------------

def snapshot_refresh(key: str, *, claimed: bool = True) -> bool:
    """Compute snapshot ``key`` again at the facts' current version; False when it is gone or current.

    Safe twice: a second run finds it current and does nothing."""
    snapshot = ReportSnapshot.objects.filter(pk=key).first()
    if snapshot is None:
        return False
    version = facts_version()
    if snapshot.version == version.tag:
        ReportSnapshot.objects.filter(pk=key).update(refreshing_since=None)
        return False
    if not claimed and not snapshot_claim(key):
        return False
    _compute_and_store(key, snapshot.figure, snapshot.kwargs, Inputs.from_json(snapshot.inputs), version)
    return True


def _compute_and_store(key: str, name: str, kwargs: dict[str, Any], inputs: Inputs, version: FactsVersion, *,
                       viewed_at: datetime | None = None) -> None:
    began = time.perf_counter()
    with report_session():
        rows = figure_compute(name, kwargs, inputs)
    _store(key, name, kwargs, inputs, rows, version, time.perf_counter() - began, viewed_at=viewed_at)


@dataclass
class Warmed:
    refreshed: int = 0
    rolled: int = 0
    dropped: int = 0
    left: int = 0


def snapshots_warm(*, budget_seconds: float = WARM_BUDGET_SECONDS) -> Warmed:
    """Bring what people look at up to date: drop snapshots nobody viewed within the keep days, roll windows
    that ended on their viewing day on to today, compute stale ones again, most recently viewed first, until
    the budget is spent (the rest is left to the next run, and said so)."""
    began = time.monotonic()
    now = timezone.now()
    result = Warmed()
    result.dropped, _ = ReportSnapshot.objects.filter(
        viewed_at__lt=now - timedelta(days=settings.REPORT_SNAPSHOT_KEEP_DAYS)).delete()
    version = facts_version()
    for snapshot in ReportSnapshot.objects.filter(relative=True).only("key", "inputs", "figure", "kwargs",
                                                                      "viewed_at"):
        inputs = Inputs.from_json(snapshot.inputs)
        if inputs.ends_today():
            continue
        if time.monotonic() - began > budget_seconds:
            result.left += 1
            continue
        rolled = inputs.rolled_to_today()
        key = snapshot_key(snapshot.figure, snapshot.kwargs, rolled)
        if not ReportSnapshot.objects.filter(pk=key).exists():
            _compute_and_store(key, snapshot.figure, snapshot.kwargs, rolled, version, viewed_at=snapshot.viewed_at)
        ReportSnapshot.objects.filter(pk=snapshot.key).delete()
        result.rolled += 1
    stale = (ReportSnapshot.objects.exclude(version=version.tag).order_by("-viewed_at")
             .values_list("key", flat=True))
    for key in stale:
        if time.monotonic() - began > budget_seconds:
            result.left += 1
            continue
        if snapshot_claim(key):
            result.refreshed += snapshot_refresh(key)
    if result.left:
        logger.warning("report snapshots: %s left for the next run (budget %s s)", result.left, budget_seconds)
    return result
