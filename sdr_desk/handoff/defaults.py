"""The rejection reasons a new desk starts with; managers change the list afterwards."""

from __future__ import annotations

from typing import Any

DEFAULT_REASONS = [
    "Not qualified: no budget",
    "Not qualified: no authority",
    "Wrong territory",
    "Already a customer/open opportunity",
    "Bad timing",
    "Duplicate",
]


def reasons_ensure(**kwargs: Any) -> None:
    """After every migrate (and a test database's flush): the defaults, when the desk has no reasons at all."""
    from sdr_desk.handoff.models import RejectionReason

    if RejectionReason.objects.exists():
        return
    RejectionReason.objects.bulk_create([RejectionReason(name=name, position=(n + 1) * 10)
                                         for n, name in enumerate(DEFAULT_REASONS)], ignore_conflicts=True)
