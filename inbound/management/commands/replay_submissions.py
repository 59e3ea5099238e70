from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from inbound.models import Submission, SubmissionStatus
from inbound.services import submissions_replay


class Command(BaseCommand):
    help = "Process failed (and, with --rejected, rejected) submissions again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="only these submissions")
        parser.add_argument("--rejected", action="store_true", help="also replay rejected ones (after fixing them)")

    def handle(self, *args: Any, ids: list[int], rejected: bool, **options: Any) -> None:
        statuses = [SubmissionStatus.FAILED] + ([SubmissionStatus.REJECTED] if rejected else [])
        queryset = Submission.objects.filter(status__in=statuses)
        if ids:
            queryset = queryset.filter(pk__in=ids)
        counts = submissions_replay(queryset)
        self.stdout.write(", ".join(f"{count} {status}" for status, count in counts.items()))
