"""The board's websocket: signed-in staff only, each receiving only the cards they may see.

``/ws/board/`` is the user's own board; ``/ws/board/?rep=<user id>`` is a rep's board as
their team's manager watches it (refused to anyone else).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from sdr_desk.board.live import CardFacts, Viewer, board_since, latest_seq, rep_viewer_for, section_for, viewer_for


def _watched_rep(query_string: bytes) -> int | bool | None:
    """The rep id asked for, None for one's own board, False for a malformed ask."""
    values = parse_qs(query_string.decode("latin-1")).get("rep")
    if not values:
        return None
    return int(values[0]) if values[0].isdigit() else False


class BoardConsumer(AsyncJsonWebsocketConsumer):
    viewer: Viewer | None = None
    watching = False  # a manager watching a rep's board sees every card as an onlooker

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A change is sent to every group that may show it; a user in two of them hears it twice.
        self.seen: dict[int, int] = {}

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        allowed = await database_sync_to_async(user.has_perm)("inbound.view_lead")
        if not allowed:
            await self.close(code=4403)
            return
        watched = _watched_rep(self.scope.get("query_string", b""))
        if watched is False:
            await self.close(code=4400)
            return
        if watched is None or watched == user.pk:
            self.viewer = await database_sync_to_async(viewer_for)(user)
        else:
            self.viewer = await database_sync_to_async(rep_viewer_for)(user, watched)
            if self.viewer is None:
                await self.close(code=4403)
                return
            self.watching = True
        for group in self.viewer.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "seq": await database_sync_to_async(latest_seq)()})

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes old database connections (through a worker thread) before every
        # handler; a push touches no database, and that hop was a third of each board's cost.
        if message.get("type") == "board.lead":
            await self.board_lead(message)
            return
        await super().dispatch(message)

    async def disconnect(self, code: int) -> None:
        # Leave quietly: no group_send from disconnect (channels_redis #372).
        if self.viewer is not None:
            for group in self.viewer.groups:
                await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "since":
            await self.send_json({"type": "error", "detail": 'Send {"type": "since", "seq": <last event>}.'})
            return
        seq = content.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            await self.send_json({"type": "error", "detail": "seq must be a whole number, 0 or more."})
            return
        assert self.viewer is not None
        # Every "since" also renews this socket's groups: the board sends one a minute, so a board
        # whose memberships Redis lost (a restart, a flush, the group expiry of a day) hears pushes
        # again within a minute, and what it missed meanwhile comes from the database right here.
        for group in self.viewer.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        for message in await database_sync_to_async(board_since)(self.viewer, seq, watching=self.watching):
            await self.send_json(message)

    async def board_lead(self, event: dict[str, Any]) -> None:
        """A lead changed somewhere: show, move or drop its card for this user."""
        assert self.viewer is not None
        facts = CardFacts(**event["facts"])
        if self.seen.get(facts.lead_id, 0) >= event["seq"]:
            return
        self.seen[facts.lead_id] = event["seq"]
        section = section_for(self.viewer, facts)
        told = event.get("returned_from") == self.viewer.user_id and not self.watching
        notice = event.get("notice", "") if told else ""
        if section is None:
            await self.send_json({"type": "remove", "lead": facts.lead_id, "seq": event["seq"],
                                  "reason": notice or event["reason"]})
            return
        mine = facts.owner_id == self.viewer.user_id and not self.watching
        await self.send_json({
            "type": "card", "lead": facts.lead_id, "seq": event["seq"], "section": section,
            "html": event["html_owner"] if mine and event["html_owner"] else event["html"],
            "notify": bool(event["notify"] and section == "hot" and not self.watching),
            "notice": notice,
        })
