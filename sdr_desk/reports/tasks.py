"""Django-Q entry points: keep the report facts in step (each minute) and rebuild them (each night); keep the
snapshots of slow figures up to date (every five minutes, and one at a time when a page served a stale one)."""

from __future__ import annotations

from sdr_desk.reports import snapshots
from sdr_desk.reports.rollups import facts_refresh


def facts_watch() -> int:
    return facts_refresh().leads


def facts_rebuild() -> int:
    return facts_refresh(full=True).leads


def snapshot_refresh(key: str) -> bool:
    """A page served snapshot ``key`` stale and claimed it: compute it again."""
    return snapshots.snapshot_refresh(key)


def snapshots_warm() -> int:
    warmed = snapshots.snapshots_warm()
    return warmed.refreshed + warmed.rolled
