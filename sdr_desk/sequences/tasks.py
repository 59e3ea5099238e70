"""Django-Q tasks of sequences. Each looks at the database's state, so a late or doubled run is harmless."""

from __future__ import annotations

import time

from django.utils import timezone

from sdr_desk.sequences.services import steps_due_sweep

# Schedules tick once a minute; the sweep keeps looking for the rest of it, so a due step is on the board
# within seconds, as the SLA watch does.
SWEEP_SECONDS = 55
SWEEP_EVERY = 10


def steps_due_watch(seconds: float = SWEEP_SECONDS, every: float = SWEEP_EVERY) -> dict[str, int]:
    totals: dict[str, int] = {}
    ends = time.monotonic() + seconds
    while True:
        for key, value in steps_due_sweep(now=timezone.now()).items():
            totals[key] = totals.get(key, 0) + value
        if time.monotonic() + every > ends:
            return totals
        time.sleep(every)
