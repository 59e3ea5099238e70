"""The desk's side of the hand-on: intake says a lead arrived; the desk scores it (and, later, routes it)."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver
from django_q.tasks import async_task

from inbound.signals import submission_processed
from scoring.services import lead_rescore

logger = logging.getLogger(__name__)


@receiver(submission_processed, dispatch_uid="sdr_desk.lead_hand_on")
def lead_hand_on(*, lead_id: int, kind: str, created: bool, **kwargs: Any) -> None:
    """Runs after intake committed. A failure here never reaches the buyer's response: it is retried off-line."""
    try:
        lead_rescore(lead_id, trigger="submission" if kind == "lead" else "activity",
                     restart_clock=not created)
    except Exception:
        logger.exception("scoring lead %s after intake failed; queued for retry", lead_id)
        async_task("scoring.tasks.lead_rescore_retry", lead_id, q_options={"group": "scoring-retry"})
