"""The desk's side of the hand-on: intake says a lead arrived; the desk scores it (and, later, routes it)."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver
from django_q.tasks import async_task

from inbound.signals import leads_batch_processed, submission_processed
from scoring.services import lead_rescore, leads_rescore_bulk
from sdr_desk.handon import after_response
from sdr_desk.routing.engine import lead_hand_on_route

logger = logging.getLogger(__name__)


@receiver(submission_processed, dispatch_uid="sdr_desk.lead_hand_on")
def lead_hand_on(*, lead_id: int, kind: str, created: bool, **kwargs: Any) -> None:
    """Runs after intake committed, once the response is delivered: score, then route."""
    after_response(lambda: lead_hand_on_now(lead_id=lead_id, kind=kind, created=created))


def lead_hand_on_now(*, lead_id: int, kind: str, created: bool) -> None:
    """Score, then route. A failure never reaches the buyer's response; it is retried off-line."""
    try:
        lead_rescore(lead_id, trigger="submission" if kind == "lead" else "activity",
                     restart_clock=not created)
    except Exception:
        logger.exception("scoring lead %s after intake failed; queued for retry", lead_id)
        async_task("scoring.tasks.lead_rescore_retry", lead_id, q_options={"group": "scoring-retry"})
    try:
        assignment = lead_hand_on_route(lead_id)
        if created and assignment is not None and assignment.team and assignment.team.hot_criteria_id:
            # A new lead was scored by the default criteria; its team has its own: judge it by those.
            lead_rescore(lead_id, trigger="team criteria", criteria_id=assignment.team.hot_criteria_id)
            lead_hand_on_route(lead_id)
    except Exception:
        logger.exception("routing lead %s after intake failed; queued for retry", lead_id)
        async_task("sdr_desk.routing.tasks.lead_route_retry", lead_id, q_options={"group": "routing-retry"})


@receiver(leads_batch_processed, dispatch_uid="sdr_desk.leads_batch_hand_on")
def leads_batch_hand_on(*, lead_ids: list[int], channel: str, **kwargs: Any) -> None:
    """A bulk channel (a CSV import chunk) committed: score its leads set-based."""
    try:
        leads_rescore_bulk(lead_ids=lead_ids, open_only=False, trigger="import")
    except Exception:
        logger.exception("scoring %d imported leads failed; queued for retry", len(lead_ids))
        async_task("scoring.tasks.leads_rescore_retry", lead_ids, q_options={"group": "scoring-retry"})
    # Routing an import is queued, not done inline: a thousand leads must not hold the chunk's worker.
    async_task("sdr_desk.routing.tasks.leads_route", lead_ids, q_options={"group": "routing"})
