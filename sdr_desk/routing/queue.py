"""The managers' queue: every lead of their teams that nobody holds, filtered and sorted as the page asks.

Read-only (``lead_assign`` in ``ownership`` hands the leads out). The URL's query string is the whole state
of the page, so a filtered, sorted queue can be bookmarked and shared; every value is whitelisted, and a
value the page does not know is ignored, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, F, Q, QuerySet
from django.http import QueryDict

from inbound.selectors import lead_matching
from scoring.models import Tier, tier_order
from sdr_desk.routing.models import LeadAssignment, LeadState, Team

# Unowned leads a manager may hand out: queued (nobody eligible), escalated (the deadline passed) and
# offered (in claim mode, waiting for a claim).
UNOWNED_STATES = (LeadState.QUEUED, LeadState.ESCALATED, LeadState.OFFERED)
PAGE_SIZE = 50

_TIER_ORDER = tier_order("tier")
# sort key -> (ordering ascending, the column's label). "-key" reverses.
SORTS: dict[str, tuple[Any, str]] = {
    "sla": (F("sla_due_at").asc(nulls_last=True), "SLA"),
    "age": (F("lead__created_at").asc(), "Age"),
    "tier": (F("tier_rank").asc(), "Tier"),
    "score": (F("lead__score__total").asc(nulls_first=True), "Score"),
    "country": (F("lead__country").asc(), "Country"),
}
DEFAULT_SORT = "sla"


@dataclass(frozen=True)
class QueueFilters:
    team: int | None = None
    state: str = ""
    tier: str = ""
    country: str = ""
    hot: bool = False
    q: str = ""
    sort: str = DEFAULT_SORT

    @classmethod
    def of(cls, params: QueryDict, *, team_ids: set[int]) -> QueueFilters:
        team = params.get("team", "")
        sort = params.get("sort", DEFAULT_SORT)
        return cls(
            team=int(team) if team.isdigit() and int(team) in team_ids else None,
            state=params.get("state", "") if params.get("state") in UNOWNED_STATES else "",
            tier=params.get("tier", "") if params.get("tier") in Tier.values else "",
            country=params.get("country", "").strip().upper()[:2],
            hot=params.get("hot") == "1",
            q=params.get("q", "").strip()[:100],
            sort=sort if sort.lstrip("-") in SORTS else DEFAULT_SORT,
        )

    def query_string(self, **change: Any) -> str:
        """This page's query string, with ``change`` applied (for sort links and pages)."""
        values = {"team": self.team or "", "state": self.state, "tier": self.tier, "country": self.country,
                  "hot": "1" if self.hot else "", "q": self.q, "sort": self.sort, **change}
        query = QueryDict(mutable=True)
        for key, value in values.items():
            if value not in ("", None) and not (key == "sort" and value == DEFAULT_SORT):
                query[key] = str(value)
        return query.urlencode()


def managed_teams(manager: AbstractBaseUser) -> list[Team]:
    teams = Team.objects.order_by("name")
    return list(teams if getattr(manager, "is_superuser", False) else teams.filter(manager=manager))


def queue_leads(team_ids: set[int], filters: QueueFilters) -> QuerySet[LeadAssignment]:
    """The unowned leads of these teams, filtered and in the page's order, with what each row shows (one query)."""
    rows = (LeadAssignment.objects.filter(team_id__in=team_ids, owner__isnull=True, state__in=UNOWNED_STATES)
            .select_related("lead", "lead__score", "lead__source", "team").annotate(tier_rank=_TIER_ORDER))
    if filters.team:
        rows = rows.filter(team_id=filters.team)
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.tier:
        rows = rows.filter(tier=filters.tier)
    if filters.country:
        rows = rows.filter(lead__country=filters.country)
    if filters.hot:
        rows = rows.filter(is_hot=True)
    if filters.q:
        rows = rows.filter(lead_matching(filters.q, prefix="lead__"))
    key = filters.sort.lstrip("-")
    order = SORTS[key][0]
    if filters.sort.startswith("-"):
        order = order.copy().reverse_ordering()  # descending, with empty values on the other end
    return rows.order_by(order, "lead__created_at", "lead_id")


def queue_summary(team_ids: set[int] | frozenset[int]) -> dict[str, int]:
    """How many unowned leads the teams have, in all and by state, and how many of them are hot (one query)."""
    counts = {"total": 0, "hot": 0, **{state: 0 for state in UNOWNED_STATES}}
    if not team_ids:
        return counts
    rows = (LeadAssignment.objects.filter(team_id__in=team_ids, owner__isnull=True, state__in=UNOWNED_STATES)
            .values("state").annotate(n=Count("pk"), hot=Count("pk", filter=Q(is_hot=True))).order_by())
    for row in rows:
        counts[row["state"]] = row["n"]
        counts["total"] += row["n"]
        counts["hot"] += row["hot"]
    return counts
