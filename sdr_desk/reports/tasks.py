"""Django-Q entry points: keep the report facts in step (each minute) and rebuild them (each night); keep the
snapshots of slow figures up to date (every five minutes, and one at a time when a page served a stale one)."""

from __future__ import annotations

from django.db import transaction

from sdr_desk.reports import rollups, snapshots

CONTINUE = "sdr_desk.reports.tasks.facts_rebuild_continue"


def _go_on_later(run: rollups.Rebuilt) -> None:
    """A run that stopped at its budget queues the next (on commit: it must find the cursor it left)."""
    if run.cursor is not None and not run.busy:
        transaction.on_commit(_enqueue_continue)


def _enqueue_continue() -> None:
    from django_q.tasks import async_task

    async_task(CONTINUE, q_options={"group": "report-facts"})


def facts_watch() -> int:
    """Each minute: the leads whose timeline moved; and a rebuild whose run died or whose next run was lost goes on."""
    if rollups.facts_rebuild_stalled():
        transaction.on_commit(_enqueue_continue)
    return rollups.facts_refresh().leads


def facts_rebuild() -> int:
    """Each night: a full rebuild (or the one in progress), for at most the budget of a run; the next run goes on."""
    run = rollups.facts_rebuild(start=True, budget_seconds=rollups.REBUILD_BUDGET_SECONDS)
    _go_on_later(run)
    return run.leads


def facts_rebuild_continue() -> int:
    """The rebuild in progress, from its cursor, for one more run's budget; nothing if none is in progress."""
    run = rollups.facts_rebuild(start=False, budget_seconds=rollups.REBUILD_BUDGET_SECONDS)
    _go_on_later(run)
    return run.leads


def snapshot_refresh(key: str) -> bool:
    """A page served snapshot ``key`` stale and claimed it: compute it again."""
    return snapshots.snapshot_refresh(key)


def snapshots_warm() -> int:
    warmed = snapshots.snapshots_warm()
    return warmed.refreshed + warmed.rolled
