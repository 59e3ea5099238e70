"""``manage.py seed_bulk --leads N [--days 365] [--seed 1]``: a big, realistic data set, set-based on PostgreSQL.

Adds: every run adds ``--leads`` new leads (their emails carry their ids, so they never meet an existing
lead) to whatever is there, and reuses the teams, reps, AEs and sources it made before (found by name).
The same ``--seed`` on an empty database gives the same data set. Refused on SQLite. See
``sdr_desk/bulk.py`` for what is made and ``bench/README.md`` for how long it takes.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sdr_desk.bulk import BulkRefused, bulk_seed


class Command(BaseCommand):
    help = "Add N leads with a year of desk history (routing, touches, dispositions, handoffs), set-based."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--leads", type=int, required=True, help="how many leads to add")
        parser.add_argument("--days", type=int, default=365, help="spread the leads over the last N days (365)")
        parser.add_argument("--seed", type=int, default=1, help="random seed (1): the same seed, the same rows")

    def handle(self, *args: Any, leads: int, days: int, seed: int, **options: Any) -> None:
        verbose = options.get("verbosity", 1) > 1
        try:
            result = bulk_seed(leads=leads, days=days, seed=seed,
                               log=(lambda line: self.stdout.write(line)) if verbose else (lambda line: None))
        except BulkRefused as error:
            raise CommandError(str(error)) from None
        counts = ", ".join(f"{value:,} {name}" for name, value in result.counts.items())
        self.stdout.write(self.style.SUCCESS(f"seed_bulk: {counts} in {result.seconds:.1f}s"))
