"""Reads of dispositions that several places share."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from sdr_desk.dispositions.models import Disposition
from sdr_desk.routing.models import Touch


def dispositions_reviewable(user: AbstractBaseUser) -> QuerySet[Disposition]:
    """Dispositions of leads in the teams ``user`` manages (every team for a superuser), newest first."""
    touches = (Touch.objects.filter(lead_id=OuterRef("lead_id")).order_by().values("lead_id")
               .annotate(n=Count("id")).values("n"))
    query = Disposition.objects.all()
    if not getattr(user, "is_superuser", False):
        query = query.filter(team__manager=user)
    return (query.select_related("lead", "lead__source", "code", "rep", "team", "recorded_by")
            .annotate(touch_count=Coalesce(Subquery(touches, output_field=IntegerField()), 0))
            .order_by("-recorded_at", "-id"))


def dispositions_filter(query: QuerySet[Disposition], filters: dict[str, Any]) -> QuerySet[Disposition]:
    """Apply the review page's filters (already validated): rep, team, code, source, from, to, current only."""
    zone = timezone.get_current_timezone()
    if filters.get("rep"):
        query = query.filter(rep=filters["rep"])
    if filters.get("team"):
        query = query.filter(team=filters["team"])
    if filters.get("code"):
        query = query.filter(code=filters["code"])
    if filters.get("source"):
        query = query.filter(lead__source=filters["source"])
    if filters.get("since"):
        query = query.filter(recorded_at__gte=datetime.combine(filters["since"], time.min, tzinfo=zone))
    if filters.get("until"):
        query = query.filter(recorded_at__lt=datetime.combine(filters["until"], time.max, tzinfo=zone))
    if filters.get("current"):
        query = query.filter(is_current=True)
    return query


def dispositions_counts(query: QuerySet[Disposition]) -> list[dict[str, Any]]:
    """How many of each code in ``query``, most first (the review page's summary line)."""
    return list(query.order_by().values("code__name", "code__outcome").annotate(n=Count("id"))
                .order_by("-n", "code__name"))
