from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sdr_desk.reports.rollups import facts_refresh


class Command(BaseCommand):
    help = "Bring the report facts up to date: the leads whose timeline moved, or every lead with --full."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full", action="store_true", help="recompute every lead (after a bulk load)")

    def handle(self, *args: Any, full: bool = False, **options: Any) -> None:
        started = time.perf_counter()
        done = facts_refresh(full=full)
        self.stdout.write(f"{done.leads} leads' facts written up to timeline entry {done.last_entry_id} "
                          f"in {time.perf_counter() - started:.1f} s")
