"""Django-Q tasks of the desk. Each calls a service and is safe to run twice."""

from __future__ import annotations

import time

from django.utils import timezone

from sdr_desk.models import LeadAssignment
from sdr_desk.routing import lead_hand_on_route, lead_route
from sdr_desk.sla import sla_sweep

# The cluster's schedules tick at most once a minute; the sweep keeps watching
# for the rest of that minute so a deadline is acted on within a few seconds.
SWEEP_SECONDS = 55
SWEEP_EVERY = 5


def sla_watch(seconds: float = SWEEP_SECONDS, every: float = SWEEP_EVERY) -> dict[str, int]:
    """Run the SLA sweep every few seconds for about a minute (scheduled each minute, no catch-up)."""
    totals = {"warned": 0, "escalated": 0, "released": 0}
    ends = time.monotonic() + seconds
    while True:
        for key, value in sla_sweep(now=timezone.now()).items():
            totals[key] += value
        if time.monotonic() + every > ends:
            return totals
        time.sleep(every)


def lead_route_retry(lead_id: int) -> None:
    lead_hand_on_route(lead_id)


def leads_route(lead_ids: list[int]) -> int:
    """Route imported leads that are not routed yet."""
    routed = set(LeadAssignment.objects.filter(lead_id__in=lead_ids).values_list("lead_id", flat=True))
    for lead_id in lead_ids:
        if lead_id not in routed:
            lead_route(lead_id, reason="imported")
    return len(lead_ids) - len(routed)
