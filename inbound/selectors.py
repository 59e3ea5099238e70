"""Reads shared by intake's pages and API."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from inbound.models import Activity, Lead, Submission, TimelineEntry


def lead_list(*, query: str = "", status: str = "", source_id: int | None = None) -> QuerySet[Lead]:
    leads = Lead.objects.select_related("source", "account")
    if query:
        leads = leads.filter(
            Q(email__icontains=query) | Q(first_name__icontains=query) | Q(last_name__icontains=query)
            | Q(company__icontains=query)
        )
    if status:
        leads = leads.filter(status=status)
    if source_id:
        leads = leads.filter(source_id=source_id)
    return leads


def lead_timeline(lead: Lead, *, limit: int = 200) -> list[TimelineEntry]:
    return list(TimelineEntry.objects.filter(lead=lead).select_related("actor")[:limit])


def lead_activities(lead: Lead, *, limit: int = 100) -> list[Activity]:
    return list(Activity.objects.filter(lead=lead).select_related("source")[:limit])


def lead_submissions(lead: Lead, *, limit: int = 50) -> list[Submission]:
    return list(Submission.objects.filter(lead=lead).select_related("source")[:limit])
