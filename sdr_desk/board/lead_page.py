"""Reads for the lead page that join intake's timeline to the desk's rows (intake knows nothing of the desk)."""

from __future__ import annotations

from functools import cache

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from inbound import selectors
from inbound.models import Lead, TimelineEntry
from sdr_desk.routing.models import LeadAssignment, Touch
from sdr_desk.routing.ownership import OWNER_KIND, may_see_outcomes
from sdr_desk.routing.touches import TOUCH_KIND


@cache
def outcome_kinds() -> tuple[str, ...]:
    """Timeline kinds that tell how a lead ended (``outcome_timeline_kinds`` on apps' AppConfigs)."""
    return tuple(kind for config in apps.get_app_configs() for kind in getattr(config, "outcome_timeline_kinds", ()))


def outcomes_hidden(user: AbstractBaseUser, assignment: LeadAssignment | None) -> Q | None:
    """The entries an SDR of another team may not see: the outcome kinds, and the owner change that closed it."""
    if may_see_outcomes(user, assignment):
        return None
    return Q(kind__in=outcome_kinds()) | Q(kind=OWNER_KIND, data__change="closed")


def lead_timeline_with_touches(lead: Lead, *, hidden: Q | None = None) -> list[TimelineEntry]:
    """The lead's timeline, each touch entry carrying its ``Touch`` (full notes, outcome, rep): two queries.

    The entry's own data keeps the first 500 characters of the notes; the page shows them all.
    An entry whose touch row is gone keeps ``touch`` None and shows what the entry recorded.
    """
    entries = selectors.lead_timeline(lead, hidden=hidden)
    ids = {entry.data.get("touch") for entry in entries if entry.kind == TOUCH_KIND and isinstance(entry.data, dict)}
    ids = {pk for pk in ids if isinstance(pk, int)}
    touches = {t.pk: t for t in Touch.objects.filter(pk__in=ids, lead=lead).select_related("rep")} if ids else {}
    for entry in entries:
        entry.touch = touches.get(entry.data.get("touch")) if entry.kind == TOUCH_KIND else None  # type: ignore[attr-defined]
    return entries
