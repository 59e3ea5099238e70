"""Reads for the lead page that join intake's timeline to the desk's rows (intake knows nothing of the desk)."""

from __future__ import annotations

from inbound import selectors
from inbound.models import Lead, TimelineEntry
from sdr_desk.routing.models import Touch
from sdr_desk.routing.touches import TOUCH_KIND


def lead_timeline_with_touches(lead: Lead) -> list[TimelineEntry]:
    """The lead's timeline, each touch entry carrying its ``Touch`` (full notes, outcome, rep): two queries.

    The entry's own data keeps the first 500 characters of the notes; the page shows them all.
    An entry whose touch row is gone keeps ``touch`` None and shows what the entry recorded.
    """
    entries = selectors.lead_timeline(lead)
    ids = {entry.data.get("touch") for entry in entries if entry.kind == TOUCH_KIND and isinstance(entry.data, dict)}
    ids = {pk for pk in ids if isinstance(pk, int)}
    touches = {t.pk: t for t in Touch.objects.filter(pk__in=ids, lead=lead).select_related("rep")} if ids else {}
    for entry in entries:
        entry.touch = touches.get(entry.data.get("touch")) if entry.kind == TOUCH_KIND else None  # type: ignore[attr-defined]
    return entries
