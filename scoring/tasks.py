"""Django-Q tasks of scoring. Each calls a service and is safe to run twice."""

from __future__ import annotations

from scoring.services import lead_rescore, leads_rescore_bulk


def scores_decay() -> dict[str, int]:
    """Nightly: intent fades with age, so every open lead is rescored from the database's state."""
    return leads_rescore_bulk(trigger="decay")


def lead_rescore_retry(lead_id: int) -> None:
    """Scoring failed right after intake: try again off the request."""
    lead_rescore(lead_id, trigger="retry")


def scores_rescore_after_publish() -> dict[str, int]:
    """After a rules change is published: every open lead is rescored under the new version."""
    return leads_rescore_bulk(trigger="rules")


def leads_rescore_retry(lead_ids: list[int]) -> dict[str, int]:
    """Scoring a batch after intake failed: try again off-line."""
    return leads_rescore_bulk(lead_ids=lead_ids, open_only=False, trigger="retry")
