"""The leads list: every lead with its score, tier, owner, desk state and first-touch label.

It lives on the desk, not in intake, because its columns are the desk's and scoring's
(``inbound`` knows neither, DESIGN.md). Filters and the sort are read from the query
string through whitelists: a value not on the list is ignored (the default applies),
never an error, so a hand-edited or stale URL still shows a list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet
from django.db.models.expressions import OrderBy
from django.http import QueryDict

from inbound.models import Lead, LeadStatus
from inbound.selectors import lead_matching
from scoring.models import Tier, tier_order
from sdr_desk.routing.models import LeadState

UNASSIGNED = "unassigned"
DEFAULT_SORT = "-created"
PAGE_SIZE = 50

_TIER_RANK = tier_order("score__tier", unknown=-1)

# Column -> what it sorts by (first is the main key). Nulls (no score, no owner, not routed) sort last both ways.
SORTS: dict[str, tuple[Any, ...]] = {
    "name": (F("last_name"), F("first_name"), F("email")),
    "source": (F("source__name"),),
    "score": (F("score__total"),),
    "tier": (_TIER_RANK, F("score__total")),
    "owner": (F("assignment__owner__first_name"), F("assignment__owner__last_name"),
              F("assignment__owner__username")),
    "state": (F("assignment__state"),),
    "sla": (F("assignment__sla_due_at"),),
    "created": (F("created_at"),),
}
# A first click on these sorts the biggest (highest score, most intent, newest) first.
DESCENDING_FIRST = {"score", "tier", "created"}


@dataclass(frozen=True)
class LeadFilters:
    query: str = ""
    status: str = ""
    tier: str = ""
    state: str = ""
    owner: str = ""  # a user id, or "unassigned"
    source_id: int | None = None
    hot: bool = False
    sort: str = DEFAULT_SORT

    @classmethod
    def from_query(cls, params: QueryDict) -> LeadFilters:
        status = params.get("status", "")
        tier = params.get("tier", "")
        state = params.get("state", "")
        owner = params.get("owner", "")
        source = params.get("source", "")
        sort = params.get("sort", "")
        return cls(
            query=params.get("q", "").strip()[:100],
            status=status if status in LeadStatus.values else "",
            tier=tier if tier in Tier.values else "",
            state=state if state in LeadState.values else "",
            owner=owner if owner == UNASSIGNED or (owner.isdigit() and len(owner) < 10) else "",
            source_id=int(source) if source.isdigit() and len(source) < 10 else None,
            hot=params.get("hot") == "1",
            sort=sort if sort.removeprefix("-") in SORTS else DEFAULT_SORT,
        )

    @property
    def sort_column(self) -> str:
        return self.sort.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def next_sort(self, column: str) -> str:
        """The sort a click on the column's header asks for: the other way round when it is the current one."""
        if column == self.sort_column:
            return column if self.descending else f"-{column}"
        return f"-{column}" if column in DESCENDING_FIRST else column


def lead_list_rows(filters: LeadFilters) -> QuerySet[Lead]:
    """The leads the filters select, in their sort, with everything a row shows in the same query."""
    leads = Lead.objects.select_related("source", "account", "score", "assignment", "assignment__owner")
    if filters.query:
        leads = leads.filter(lead_matching(filters.query))
    if filters.status:
        leads = leads.filter(status=filters.status)
    if filters.tier:
        leads = leads.filter(score__tier=filters.tier)
    if filters.state:
        leads = leads.filter(assignment__state=filters.state)
    if filters.owner == UNASSIGNED:
        leads = leads.filter(assignment__owner__isnull=True)  # not routed yet, or routed to nobody in particular
    elif filters.owner:
        leads = leads.filter(assignment__owner_id=int(filters.owner))
    if filters.source_id:
        leads = leads.filter(source_id=filters.source_id)
    if filters.hot:
        leads = leads.filter(score__is_hot=True)
    order: list[OrderBy] = []
    for key in SORTS[filters.sort_column]:
        order.append(key.desc(nulls_last=True) if filters.descending else key.asc(nulls_last=True))
    tiebreak = F("id").desc() if filters.descending else F("id").asc()
    return leads.order_by(*order, tiebreak)
