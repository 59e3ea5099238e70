"""The live board: who sees which lead, the cards, and the events that move them.

Routing's services send ``assignment_changed`` inside their transaction and the
board's receiver calls ``board_changed`` (routing imports nothing of the board): it numbers the change
(a ``BoardEvent`` row) and, after commit, renders the card once with the same
template the page uses and sends it to the groups that might show it. Each
websocket consumer then decides, from the facts in the message and what it
knows of its user, whether to show, move or drop the card: a user never
receives a card they may not see. Pushes are hints; a reconnecting board asks
for everything since the last event it saw.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from sdr_desk.board.models import BoardEvent
from sdr_desk.routing.business_hours import day_ends, zone_or_utc
from sdr_desk.routing.models import OWNED_OPEN, LeadAssignment, LeadState, Rep, Team, Visibility

logger = logging.getLogger(__name__)

HOT, DUE, MINE = "hot", "due", "mine"
SECTIONS = (HOT, DUE, MINE)
# An unowned hot lead of a claim-mode team in any of these states is on every rep's Hot now: offered,
# queued because nobody was in hours, or escalated past its deadline, a hot lead is never out of sight.
CLAIMABLE = (LeadState.OFFERED, LeadState.QUEUED, LeadState.ESCALATED)
CATCH_UP_LIMIT = 1000


@dataclass(frozen=True)
class Viewer:
    user_id: int
    claim_team_ids: frozenset[int]
    managed_team_ids: frozenset[int]
    time_zone: str = "UTC"  # "due today" ends at midnight where the rep works

    @property
    def groups(self) -> list[str]:
        # A manager's board shows their own leads and their claim team's offers; the queue is its own page.
        return [user_group(self.user_id)] + [team_group(t) for t in sorted(self.claim_team_ids)]

    def today_ends(self, now: datetime | None = None) -> datetime:
        """The end of the viewer's today: a next step due before it is due today (or overdue)."""
        return day_ends(zone_or_utc(self.time_zone), now or timezone.now())


@dataclass(frozen=True)
class CardFacts:
    lead_id: int
    team_id: int | None
    owner_id: int | None
    state: str
    is_hot: bool
    touched: bool
    next_step_at: str | None = None  # ISO 8601, so the facts travel as JSON
    has_target: bool = True  # a first-touch deadline runs (or ran out): what Hot now is ordered by


def user_group(user_id: int) -> str:
    return f"board.user.{user_id}"


def team_group(team_id: int) -> str:
    return f"board.team.{team_id}"


def viewer_of_rep(rep: Rep, *, managed_team_ids: frozenset[int] = frozenset()) -> Viewer:
    """What the rep's board shows (their team's offers if it claims), in the rep's time zone."""
    claim = frozenset({rep.team_id}) if rep.team and rep.team.visibility == Visibility.CLAIM else frozenset()
    return Viewer(user_id=rep.user_id, claim_team_ids=claim, managed_team_ids=managed_team_ids,
                  time_zone=rep.time_zone)


def viewer_for(user: AbstractBaseUser) -> Viewer:
    rep = Rep.objects.filter(user=user).select_related("team").first()
    managed = frozenset(Team.objects.filter(manager=user).values_list("pk", flat=True))
    if rep is None:
        return Viewer(user_id=user.pk, claim_team_ids=frozenset(), managed_team_ids=managed)
    return viewer_of_rep(rep, managed_team_ids=managed)


def watched_rep(manager: AbstractBaseUser, rep_user_id: int) -> Rep | None:
    """The rep whose board the manager may watch (a rep of a team they manage), or None."""
    return Rep.objects.filter(user_id=rep_user_id, team__manager=manager).select_related("user", "team").first()


def rep_viewer_for(manager: AbstractBaseUser, rep_user_id: int) -> Viewer | None:
    """A rep's own board as their manager may watch it, or None when it is not theirs to watch.

    The watched board shows what the rep sees, nothing of the manager's own queue.
    """
    rep = watched_rep(manager, rep_user_id)
    return viewer_of_rep(rep) if rep is not None else None


def facts_of(assignment: LeadAssignment) -> CardFacts:
    return CardFacts(lead_id=assignment.lead_id, team_id=assignment.team_id, owner_id=assignment.owner_id,
                     state=assignment.state, is_hot=assignment.is_hot, touched=assignment.first_touch_at is not None,
                     next_step_at=assignment.next_step_at.isoformat() if assignment.next_step_at else None,
                     has_target=assignment.sla_due_at is not None or assignment.escalation_level > 0)


def section_for(viewer: Viewer, facts: CardFacts, *, now: datetime | None = None) -> str | None:
    """Where this user's board shows the lead, or None when they may not see it.

    Hot now holds hot leads waiting for a first touch against a deadline; a hot lead whose tier has
    no first-touch target is an open lead like any other. The managers' queue is its own page.
    """
    if facts.owner_id == viewer.user_id and facts.state in OWNED_OPEN:
        if facts.is_hot and not facts.touched and facts.has_target:
            return HOT
        if facts.next_step_at and datetime.fromisoformat(facts.next_step_at) < viewer.today_ends(now):
            return DUE
        return MINE
    if (facts.state in CLAIMABLE and facts.owner_id is None and facts.is_hot and not facts.touched
            and facts.team_id in viewer.claim_team_ids):
        return HOT
    return None


def _visible_query(viewer: Viewer) -> Q:
    query = Q(owner_id=viewer.user_id, state__in=OWNED_OPEN)
    if viewer.claim_team_ids:
        query |= Q(state__in=CLAIMABLE, owner__isnull=True, is_hot=True, first_touch_at__isnull=True,
                   team_id__in=viewer.claim_team_ids)
    return query


def _cards(assignments: QuerySet[LeadAssignment]) -> QuerySet[LeadAssignment]:
    # No deadline sorts last on every database (SQLite would put NULL first).
    return assignments.select_related("lead", "lead__score", "lead__source", "owner", "team").order_by(
        F("sla_due_at").asc(nulls_last=True), "-lead__created_at")


def board_sections(viewer: Viewer, *, limit: int = 200, csrf_token: str = "",
                   watching: bool = False) -> dict[str, list[tuple[LeadAssignment, str]]]:
    """The board's first render: each section's cards, ordered by SLA time left (one query).

    "Due today" is ordered by when each next step is due. Rendered for one user, the cards carry
    their CSRF token, so Claim works without JavaScript; ``watching`` (a manager looking at a
    rep's board) renders every card as an onlooker sees it.
    """
    sections: dict[str, list[tuple[LeadAssignment, str]]] = {name: [] for name in SECTIONS}
    now = timezone.now()
    for assignment in _cards(LeadAssignment.objects.filter(_visible_query(viewer)))[:limit]:
        section = section_for(viewer, facts_of(assignment), now=now)
        if section:
            mine = assignment.owner_id == viewer.user_id and not watching
            sections[section].append((assignment, card_render(assignment, for_owner=mine, csrf_token=csrf_token)))
    sections[DUE].sort(key=lambda pair: pair[0].next_step_at or now)
    return sections


def card_render(assignment: LeadAssignment, *, for_owner: bool, csrf_token: str = "") -> str:
    lead = assignment.lead
    return render_to_string("board/_card.html", {
        "a": assignment, "lead": lead, "score": getattr(lead, "score", None), "for_owner": for_owner,
        "csrf_token": csrf_token,
    })


def latest_seq() -> int:
    return BoardEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


# --- emitting ------------------------------------------------------------------------------


def board_changed(assignment: LeadAssignment, *, previous_team_id: int | None = None,
                  previous_owner_id: int | None = None, notify: bool = False, returned_from: int | None = None,
                  reason: str = "", change: str = "") -> None:
    """Number this change and push it after commit to every board that showed or may show the lead."""
    event = BoardEvent.objects.create(lead_id=assignment.lead_id)
    groups = _groups_of(assignment, previous_team_id, previous_owner_id)
    if not groups:
        return  # no team and no owner, before or after: no board shows it, nothing to render or send
    seq, lead_id = event.pk, assignment.lead_id
    transaction.on_commit(lambda: board_push(seq, lead_id, groups, notify=notify, returned_from=returned_from,
                                             reason=reason, change=change))


def returned_notice(reason: str, change: str = "released") -> str:
    """What the rep whose claim went back to the team (or who has a lead back from an AE) reads on their board."""
    if not reason:
        return ""
    if change == "returned":
        return f"Back on your board: {reason}."
    return f"Back to the team: {reason}. A touch on any channel, or a planned next step, keeps a claim."


def board_message(seq: int, assignment: LeadAssignment, *, notify: bool = False, returned_from: int | None = None,
                  reason: str = "", change: str = "released") -> dict[str, Any]:
    reason_given, owner = reason, assignment.owner
    if owner is not None:
        reason = f"Taken by {owner.get_full_name() or owner.get_username()}"
    elif assignment.state == LeadState.ESCALATED:
        reason = "Escalated to the manager queue"
    else:
        reason = ""
    return {
        "type": "board.lead",
        "seq": seq,
        "facts": asdict(facts_of(assignment)),
        "html": card_render(assignment, for_owner=False),
        "html_owner": card_render(assignment, for_owner=True) if owner is not None else "",
        "reason": reason,
        "notify": notify,
        # The rep whose claim just went back to the team is told why, once, on their board.
        "returned_from": returned_from,
        "notice": returned_notice(reason_given, change or "released") if returned_from else "",
    }


@dataclass(frozen=True)
class Push:
    """One numbered change to send after commit: the event, the lead, the groups that may show it."""

    seq: int
    lead_id: int
    groups: list[str]
    notify: bool = False
    returned_from: int | None = None
    reason: str = ""
    change: str = ""


def board_push(seq: int, lead_id: int, groups: list[str], *, notify: bool = False, returned_from: int | None = None,
               reason: str = "", change: str = "") -> None:
    """Send after commit. Never raises: a lost push is caught up from the event log on reconnect."""
    board_push_many([Push(seq, lead_id, groups, notify=notify, returned_from=returned_from, reason=reason,
                          change=change)])


def board_push_many(pushes: list[Push]) -> None:
    """Send many changes: one query for their cards, one event loop for every ``group_send``. Never raises."""
    try:
        assignments = {a.lead_id: a for a in _cards(LeadAssignment.objects.filter(
            lead_id__in={push.lead_id for push in pushes}))}
        layer = get_channel_layer()
        if layer is None or not assignments:
            return
        sends = []
        for push in pushes:
            assignment = assignments.get(push.lead_id)
            if assignment is not None:
                message = board_message(push.seq, assignment, notify=push.notify, returned_from=push.returned_from,
                                        reason=push.reason, change=push.change)
                sends += [(group, message) for group in push.groups]
        async_to_sync(_group_send_all)(layer, sends)
    except Exception:  # noqa: BLE001 - the board catches up; intake and the desk must not fail for a push
        logger.warning("board push for leads %s (events %s) failed; boards will catch up",
                       [push.lead_id for push in pushes[:5]], [push.seq for push in pushes[:5]], exc_info=True)


async def _group_send_all(layer: Any, sends: list[tuple[str, dict[str, Any]]]) -> None:
    for group, message in sends:
        await layer.group_send(group, message)


def _groups_of(assignment: LeadAssignment, previous_team_id: int | None = None,
               previous_owner_id: int | None = None) -> list[str]:
    groups = {team_group(t) for t in (assignment.team_id, previous_team_id) if t}
    groups |= {user_group(u) for u in (assignment.owner_id, previous_owner_id) if u}
    return sorted(groups)


def boards_changed(assignments: list[LeadAssignment]) -> None:
    """``board_changed`` for many leads changed in one transaction (a batch of next steps coming due).

    One ``INSERT`` numbers them all (an event per lead, as the catch-up reads them); after commit one
    ``board_push_many`` sends each lead's card to its owner's and team's boards.
    """
    shown = [(assignment, _groups_of(assignment)) for assignment in assignments]
    shown = [(assignment, groups) for assignment, groups in shown if groups]
    if not shown:
        return
    events = BoardEvent.objects.bulk_create([BoardEvent(lead_id=assignment.lead_id) for assignment, _ in shown])
    pushes = [Push(event.pk, assignment.lead_id, groups) for event, (assignment, groups) in zip(events, shown,
                                                                                               strict=True)]
    transaction.on_commit(lambda: board_push_many(pushes))


# --- catching up ---------------------------------------------------------------------------


def board_since(viewer: Viewer, seq: int, *, watching: bool = False) -> list[dict[str, Any]]:
    """What a reconnecting board missed: a card or a removal per lead changed since ``seq``."""
    events = list(BoardEvent.objects.filter(id__gt=seq).order_by("id").values_list("id", "lead_id")
                  [:CATCH_UP_LIMIT + 1])
    if len(events) > CATCH_UP_LIMIT:
        return [{"type": "resync", "seq": latest_seq()}]
    last_seq: dict[int, int] = {}
    for event_id, lead_id in events:
        last_seq[lead_id] = event_id
    messages = []
    for assignment in _cards(LeadAssignment.objects.filter(lead_id__in=list(last_seq))):
        section = section_for(viewer, facts_of(assignment))
        seq_of = last_seq[assignment.lead_id]
        if section:
            mine = assignment.owner_id == viewer.user_id and not watching
            messages.append({"type": "card", "lead": assignment.lead_id, "seq": seq_of, "section": section,
                             "html": card_render(assignment, for_owner=mine), "notify": False})
        else:
            messages.append({"type": "remove", "lead": assignment.lead_id, "seq": seq_of, "reason": ""})
    messages.sort(key=lambda m: m["seq"])
    return messages
