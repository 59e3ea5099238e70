"""Reordering a managed list (disposition codes, checklist items): one swap-and-renumber for every list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

STEP = 10


def neighbour_swap(rows: Sequence[Any], pk: int, *, up: bool, step: int = STEP) -> int | None:
    """Swap the row ``pk`` with its neighbour above (``up``) or below, and renumber every row's ``position``
    in steps of ``step`` (so ties cannot stick). Returns the row's new index, or None when it is not listed.
    At either end nothing moves. The caller holds the rows locked and saves them."""
    rows = list(rows)
    index = next((i for i, row in enumerate(rows) if row.pk == pk), None)
    if index is None:
        return None
    other = index - 1 if up else index + 1
    if 0 <= other < len(rows):
        rows[index], rows[other] = rows[other], rows[index]
        index = other
    for position, row in enumerate(rows, start=1):
        row.position = position * step
    return index
