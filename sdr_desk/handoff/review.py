"""The handoff column of the managers' disposition review page (``review_columns`` on this app's config)."""

from __future__ import annotations

from typing import Any

from sdr_desk.handoff.models import Handoff


def handoffs_attach(rows: list[Any]) -> None:
    """Each disposition row's ``handoff``: its lead's latest handoff, or None, for the whole page in one query."""
    latest: dict[int, Handoff] = {}
    lead_ids = {row.lead_id for row in rows}
    if lead_ids:
        for handoff in Handoff.objects.filter(lead_id__in=lead_ids).select_related("ae").order_by(
                "lead_id", "-handed_at", "-id"):
            latest.setdefault(handoff.lead_id, handoff)
    for row in rows:
        row.handoff = latest.get(row.lead_id)
