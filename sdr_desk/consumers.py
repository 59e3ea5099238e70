"""The board's websocket: signed-in staff only, each receiving only the cards they may see."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from sdr_desk.board import CardFacts, Viewer, board_since, latest_seq, section_for, viewer_for


class BoardConsumer(AsyncJsonWebsocketConsumer):
    viewer: Viewer | None = None

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
        self.viewer = await database_sync_to_async(viewer_for)(user)
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
        for message in await database_sync_to_async(board_since)(self.viewer, seq):
            await self.send_json(message)

    async def board_lead(self, event: dict[str, Any]) -> None:
        """A lead changed somewhere: show, move or drop its card for this user."""
        assert self.viewer is not None
        facts = CardFacts(**event["facts"])
        if self.seen.get(facts.lead_id, 0) >= event["seq"]:
            return
        self.seen[facts.lead_id] = event["seq"]
        section = section_for(self.viewer, facts)
        if section is None:
            await self.send_json({"type": "remove", "lead": facts.lead_id, "seq": event["seq"],
                                  "reason": event["reason"]})
            return
        mine = facts.owner_id == self.viewer.user_id
        await self.send_json({
            "type": "card", "lead": facts.lead_id, "seq": event["seq"], "section": section,
            "html": event["html_owner"] if mine and event["html_owner"] else event["html"],
            "notify": bool(event["notify"] and section == "hot"),
        })
