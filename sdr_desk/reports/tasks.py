"""Django-Q entry points: keep the report facts in step (each minute) and rebuild them (each night)."""

from __future__ import annotations

from sdr_desk.reports.rollups import facts_refresh


def facts_watch() -> int:
    return facts_refresh().leads


def facts_rebuild() -> int:
    return facts_refresh(full=True).leads
