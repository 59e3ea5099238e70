"""Django-Q tasks of intake. Each calls a service and is safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from inbound.models import Submission, SubmissionStatus
from inbound.services import submissions_replay

MAX_AUTOMATIC_ATTEMPTS = 5


def failed_submissions_replay() -> dict[str, int]:
    """Retry submissions whose processing failed (not rejected ones: those need a fix first)."""
    due = Submission.objects.filter(
        status=SubmissionStatus.FAILED,
        attempts__lt=MAX_AUTOMATIC_ATTEMPTS,
        processed_at__lt=timezone.now() - timedelta(minutes=1),
    )
    return submissions_replay(due)
