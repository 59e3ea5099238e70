from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sdr_desk.reports.models import RollupState
from sdr_desk.reports.rollups import FACTS, REBUILD, Rebuilt, facts_rebuild, facts_refresh


class Command(BaseCommand):
    help = ("Bring the report facts up to date: the leads whose timeline moved, or every lead with --full (to the "
            "end, however long: the nightly task runs it in steps).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="recompute every lead (after a bulk load)")

    def handle(self, *args: Any, full: bool = False, **options: Any) -> None:
        started = time.perf_counter()
        if not full:
            done = facts_refresh()
            self.stdout.write(f"{done.leads} leads' facts written up to timeline entry {done.last_entry_id} "
                              f"in {time.perf_counter() - started:.1f} s")
            return
        shown = [started]

        def progress(run: Rebuilt) -> None:
            if time.perf_counter() - shown[0] >= 10:
                shown[0] = time.perf_counter()
                self.stdout.write(f"  {run.leads} leads so far, up to lead {run.cursor} "
                                  f"({shown[0] - started:.0f} s)")

        run = facts_rebuild(budget_seconds=None, progress=progress)
        if run.busy:
            state = RollupState.objects.get(pk=REBUILD)
            self.stdout.write(f"another run is at the rebuild (at lead {state.rebuild_cursor}, last batch at "
                              f"{state.rebuild_heartbeat:%H:%M:%S}): nothing done")
            return
        state = RollupState.objects.get(pk=FACTS)
        self.stdout.write(f"{run.leads} leads' facts written up to timeline entry {state.last_entry_id} "
                          f"in {time.perf_counter() - started:.1f} s")
