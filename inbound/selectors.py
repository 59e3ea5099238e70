"""Reads shared by intake's pages and API."""

from __future__ import annotations

from inbound.models import Activity, Lead, Submission, TimelineEntry


def lead_timeline(lead: Lead, *, limit: int = 200) -> list[TimelineEntry]:
    return list(TimelineEntry.objects.filter(lead=lead).select_related("actor")[:limit])


def lead_activities(lead: Lead, *, limit: int = 100) -> list[Activity]:
    return list(Activity.objects.filter(lead=lead).select_related("source")[:limit])


def lead_submissions(lead: Lead, *, limit: int = 50) -> list[Submission]:
    return list(Submission.objects.filter(lead=lead).select_related("source")[:limit])
