"""Django-Q tasks of the desk. Each calls a service and is safe to run twice."""

from __future__ import annotations

import time

from django.utils import timezone

from sdr_desk.routing.engine import lead_hand_on_route, lead_route
from sdr_desk.routing.models import LeadAssignment
from sdr_desk.routing.sla import sla_sweep

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


def handon_sweep(older_than_seconds: int = 60) -> int:
    """Hand on the leads whose hand-on never ran (a process died after the response): score and route them."""
    from datetime import timedelta

    from inbound.models import Lead
    from sdr_desk.routing.receivers import lead_hand_on_now

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    missed = list(Lead.objects.filter(assignment__isnull=True, created_at__lt=cutoff,
                                      created_at__gte=cutoff - timedelta(days=1))
                  .values_list("pk", flat=True)[:500])
    for lead_id in missed:
        lead_hand_on_now(lead_id=lead_id, kind="lead", created=True)
    return len(missed)
