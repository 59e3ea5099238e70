"""Reads of handoffs that several places share: the inbox, a lead's current handoff, the counts reports read."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When

from sdr_desk.handoff.models import OPEN_STATUSES, Handoff, HandoffStatus, MeetingStatus
from sdr_desk.qualification.models import Answer

COUNT_KEYS = {"sdr": "sdr__username", "source": "lead__source__name", "rule_set_version": "rule_set_version",
              "ae": "ae__username"}


def handoffs_visible(user: AbstractBaseUser) -> QuerySet[Handoff]:
    """The AE's own; a manager's AE and SDR teams' too; a superuser every one."""
    query = Handoff.objects.all()
    if not getattr(user, "is_superuser", False):
        query = query.filter(Q(ae=user) | Q(ae_team__manager=user) | Q(sdr_team__manager=user))
    return query


def inbox(user: AbstractBaseUser) -> QuerySet[Handoff]:
    """The inbox: pending first (soonest deadline first), then the rest, newest first; answers prefetched."""
    answers = (Answer.objects.filter(item__is_active=True).exclude(text="").select_related("item")
               .order_by("item__position", "item_id"))
    return (handoffs_visible(user)
            .select_related("lead", "lead__source", "sdr", "ae", "ae__rep", "ae_team", "sdr_team")
            .prefetch_related(Prefetch("lead__qualification_answers", queryset=answers, to_attr="given_answers"))
            .annotate(pending_first=Case(When(status=HandoffStatus.PENDING, then=Value(0)), default=Value(1),
                                         output_field=IntegerField()))
            .order_by("pending_first", "due_at", "-handed_at", "-id"))


def lead_zones_set(handoffs: list[Handoff]) -> list[Handoff]:
    """Each handoff's ``lead_zone`` (the lead's IANA zone or None), worked out without a query."""
    from sdr_desk.board.zones import lead_zone_name

    for handoff in handoffs:
        lead = handoff.lead
        handoff.lead_zone = lead_zone_name(lead.time_zone or "", lead.country or "", lead.state or "",  # type: ignore[attr-defined]
                                           lead.phone or "")
    return handoffs


def handoff_current(lead_id: int) -> Handoff | None:
    """The lead's open handoff, else its latest one."""
    return (Handoff.objects.filter(lead_id=lead_id).select_related("ae", "ae__rep", "ae_team", "sdr", "sdr_team")
            .annotate(open_first=Case(When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1),
                                      output_field=IntegerField()))
            .order_by("open_first", "-handed_at", "-id").first())


def handoff_counts(by: str, query: QuerySet[Handoff] | None = None) -> list[dict[str, Any]]:
    """Handed off, accepted, rejected, held and no-show, per rep (``sdr``), ``source``, ``rule_set_version`` or ``ae``."""
    key = COUNT_KEYS[by]
    query = Handoff.objects.all() if query is None else query
    rows = (query.order_by().values(key).annotate(
        handed_off=Count("id"),
        accepted=Count("id", filter=Q(status=HandoffStatus.ACCEPTED)),
        rejected=Count("id", filter=Q(status=HandoffStatus.REJECTED)),
        pending=Count("id", filter=Q(status=HandoffStatus.PENDING)),
        held=Count("id", filter=Q(meeting_status=MeetingStatus.HELD)),
        no_show=Count("id", filter=Q(meeting_status=MeetingStatus.NO_SHOW)),
    ).order_by(key))
    return [{"key": row.pop(key) or "", **row} for row in rows]
