"""Reads shared by intake's pages and API."""

from __future__ import annotations

from django.db.models import Q

from inbound.models import Activity, Lead, Submission, TimelineEntry


def lead_matching(text: str, *, prefix: str = "") -> Q:
    """Leads whose email, name or company contains ``text`` (``prefix``: the path to the lead, e.g. "lead__")."""
    fields = ("email", "first_name", "last_name", "company")
    query = Q()
    for name in fields:
        query |= Q(**{f"{prefix}{name}__icontains": text})
    return query


def lead_timeline(lead: Lead, *, limit: int = 200, hidden: Q | None = None) -> list[TimelineEntry]:
    """The lead's newest entries; ``hidden`` leaves out the entries it matches (what this viewer may not see)."""
    entries = TimelineEntry.objects.filter(lead=lead).select_related("actor")
    if hidden is not None:
        entries = entries.exclude(hidden)
    return list(entries[:limit])


def lead_activities(lead: Lead, *, limit: int = 100) -> list[Activity]:
    return list(Activity.objects.filter(lead=lead).select_related("source")[:limit])


def lead_submissions(lead: Lead, *, limit: int = 50) -> list[Submission]:
    return list(Submission.objects.filter(lead=lead).select_related("source")[:limit])
