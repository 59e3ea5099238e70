"""The board's websocket on the real Redis channel layer: sign-in, origin, who receives what, catching up."""

from __future__ import annotations

import json

import pytest
import redis
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from sdr_desk.asgi import application
from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import touch_log
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def clean_channel_layer():
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


def cookie_for(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def communicator(user=None, *, origin: str = "http://localhost", path: str = "/ws/board/") -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode()), (b"host", b"localhost")]
    if user is not None:
        headers.append((b"cookie", cookie_for(user).encode()))
    return WebsocketCommunicator(application, path, headers=headers)


class Session:
    """A connected board; every call is awaited inside one event loop per test (see ``run``)."""

    def __init__(self, user, **kwargs) -> None:
        self.user, self.kwargs = user, kwargs
        self.connected = False

    async def open(self) -> Session:
        self.ws = await database_sync_to_async(communicator)(self.user, **self.kwargs)
        self.connected, self.code = await self.ws.connect()
        if not self.connected:
            # Channels' communicator answers (False, None) for a close before accept; the code is the output's.
            self.code = self.code or (await self.ws.receive_output(1)).get("code")
        return self

    async def receive(self, timeout: float = 3) -> dict:
        return await self.ws.receive_json_from(timeout)

    async def send(self, message) -> None:
        await self.ws.send_json_to(message)

    async def silent(self, timeout: float = 0.5) -> bool:
        return await self.ws.receive_nothing(timeout)

    async def close(self) -> None:
        await self.ws.disconnect()


def run(scenario) -> None:
    """One event loop for the whole scenario: the communicator's application lives in it."""
    async_to_sync(scenario)()


def db(fn, *args, **kwargs):
    """Run desk code (ORM, services) off the event loop, as a consumer's callers would."""
    return database_sync_to_async(fn)(*args, **kwargs)


@pytest.fixture
def desk(transactional_db):
    manager = UserFactory(username="mgr", roles=[Role.MANAGER])
    claimers = team_make("Claimers", visibility="claim", manager=manager)
    owners = team_make("Owners", visibility="owned", is_default=False)
    ann, bob = rep_make("ann", claimers), rep_make("bob", claimers)
    olga = rep_make("olga", owners)
    from sdr_desk.routing.models import RoutingRule

    RoutingRule.objects.create(name="Germany to owners", countries=["DE"], target_team=owners)
    return {"manager": manager, "ann": ann, "bob": bob, "olga": olga}


def test_anonymous_sockets_are_refused(desk):
    async def scenario():
        assert not (await Session(None).open()).connected
    run(scenario)


def test_a_foreign_origin_is_refused(desk):
    async def scenario():
        assert not (await Session(desk["ann"], origin="https://evil.example").open()).connected
    run(scenario)


def test_a_user_without_a_role_is_refused(desk):
    nobody = UserFactory(username="nobody")

    async def scenario():
        session = await Session(nobody).open()
        assert not session.connected
    run(scenario)


def test_a_hot_lead_reaches_every_claimer_but_not_other_teams(desk):
    async def scenario():
        ann, bob, olga, mgr = [await Session(desk[n]).open() for n in ("ann", "bob", "olga", "manager")]
        for session in (ann, bob, olga, mgr):
            assert session.connected and (await session.receive())["type"] == "hello"
        lead = await db(hot_lead, first_name="<script>alert(1)</script>", country="US")
        await db(lead_route, lead.pk)
        for session in (ann, bob):
            message = await session.receive()
            assert message["type"] == "card" and message["section"] == "hot" and message["lead"] == lead.pk
            assert message["notify"] is True
            assert "<script>alert(1)</script>" not in message["html"]
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message["html"]
        assert await mgr.silent()  # the manager's team queue is a page of its own, not a wall of cards
        assert await olga.silent()
        for session in (ann, bob, olga, mgr):
            await session.close()
    run(scenario)


def test_a_claim_moves_the_card_and_tells_the_others_who_took_it(desk):
    async def scenario():
        ann, bob = await Session(desk["ann"]).open(), await Session(desk["bob"]).open()
        await ann.receive(), await bob.receive()
        lead = await db(hot_lead, country="US", phone="+14155550100")
        await db(lead_route, lead.pk)
        await ann.receive(), await bob.receive()
        await db(lead_claim, lead.pk, user=desk["ann"])
        mine = await ann.receive()
        assert mine["type"] == "card" and mine["section"] == "hot" and 'href="tel:+14155550100"' in mine["html"]
        gone = await bob.receive()
        assert gone == {"type": "remove", "lead": lead.pk, "seq": gone["seq"], "reason": "Taken by Ann"}
        await db(touch_log, lead.pk, rep=desk["ann"], channel="call", outcome="connected")
        worked = await ann.receive()
        assert worked["section"] == "mine" and "after arrival" in worked["html"] and "First touch after" not in worked["html"]
        await ann.close(), await bob.close()
    run(scenario)


def test_an_owned_team_lead_reaches_only_its_owner(desk):
    async def scenario():
        olga, ann = await Session(desk["olga"]).open(), await Session(desk["ann"]).open()
        await olga.receive(), await ann.receive()
        lead = await db(hot_lead, country="DE")
        assignment = await db(lead_route, lead.pk)
        assert assignment.owner_id == desk["olga"].pk
        message = await olga.receive()
        assert message["type"] == "card" and message["section"] == "hot"
        assert await ann.silent()
        await olga.close(), await ann.close()
    run(scenario)


def test_a_reconnecting_board_catches_up_on_what_it_missed(desk):
    async def scenario():
        ann = await Session(desk["ann"]).open()
        seq = (await ann.receive())["seq"]
        await ann.close()
        missed = await db(hot_lead, country="US")
        await db(lead_route, missed.pk)
        elsewhere = await db(hot_lead, country="DE")
        await db(lead_route, elsewhere.pk)  # the owned team's: ann may not see it
        again = await Session(desk["ann"]).open()
        assert (await again.receive())["type"] == "hello"
        await again.send({"type": "since", "seq": seq})
        caught = await again.receive()
        assert caught["type"] == "card" and caught["lead"] == missed.pk
        follow = await again.receive()
        assert follow == {"type": "remove", "lead": elsewhere.pk, "seq": follow["seq"], "reason": ""}
        assert await again.silent()
        await again.close()
    run(scenario)


def test_bad_messages_get_an_error_not_a_crash(desk):
    async def scenario():
        ann = await Session(desk["ann"]).open()
        await ann.receive()
        for bad in ({"type": "since", "seq": "x"}, {"type": "since", "seq": -1}, {"type": "dance"}, [1, 2]):
            await ann.send(bad)
            assert (await ann.receive())["type"] == "error"
        await ann.close()
    run(scenario)


def test_a_socket_idle_for_a_while_stays_connected(desk):
    # redis-py 8 once dropped idle consumers after a 5 s socket timeout (channels_redis #422).
    async def scenario():
        ann = await Session(desk["ann"]).open()
        await ann.receive()
        assert await ann.silent(timeout=7)
        lead = await db(hot_lead, country="US")
        await db(lead_route, lead.pk)
        assert (await ann.receive(timeout=5))["lead"] == lead.pk
        await ann.close()
    run(scenario)


def test_with_redis_unreachable_intake_still_answers_201(desk, keyed, settings):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}}
    channel_layers.backends.clear()
    try:
        response = keyed.post("/api/v1/leads/", data=json.dumps({"email": "a@b.io", "form_type": "demo_request",
                                                                 "country": "US"}),
                              content_type="application/json")
        assert response.status_code == 201
        assert LeadAssignment.objects.get().state == "offered"
    finally:
        channel_layers.backends.clear()


def test_a_touch_that_plans_a_step_due_today_moves_the_card_to_due(desk):
    from datetime import timedelta

    from django.utils import timezone

    async def scenario():
        lead = await db(hot_lead, country="US")
        await db(lead_route, lead.pk)
        await db(lead_claim, lead.pk, user=desk["ann"])
        ann = await Session(desk["ann"]).open()
        await ann.receive()
        await db(touch_log, lead.pk, rep=desk["ann"], channel="call", outcome="voicemail",
                 next_step_at=timezone.now() + timedelta(minutes=1), next_step="Try again")
        moved = await ann.receive()
        assert moved["type"] == "card" and moved["section"] == "due" and "Try again" in moved["html"]
        await ann.close()
    run(scenario)


def test_a_manager_watches_a_reps_board_live_as_an_onlooker(desk):
    async def scenario():
        watch = await Session(desk["manager"], path=f"/ws/board/?rep={desk['ann'].pk}").open()
        assert watch.connected and (await watch.receive())["type"] == "hello"
        lead = await db(hot_lead, country="US", phone="+14155550100")
        await db(lead_route, lead.pk)
        offered = await watch.receive()
        assert offered["section"] == "hot" and offered["notify"] is False  # ann's alarm, not the manager's
        await db(lead_claim, lead.pk, user=desk["ann"])
        taken = await watch.receive()
        assert taken["section"] == "hot" and 'href="tel:' not in taken["html"]  # no Call for the onlooker
        await watch.send({"type": "since", "seq": 0})
        caught = await watch.receive()
        assert caught["lead"] == lead.pk and 'href="tel:' not in caught["html"]
        await watch.close()
    run(scenario)


def test_nobody_but_the_reps_manager_may_watch_their_board(desk):
    async def scenario():
        for user, path, code in ((desk["bob"], f"/ws/board/?rep={desk['ann'].pk}", 4403),
                                 (desk["manager"], f"/ws/board/?rep={desk['olga'].pk}", 4403),
                                 (desk["manager"], "/ws/board/?rep=999999", 4403),
                                 (desk["manager"], "/ws/board/?rep=ann", 4400)):
            session = await Session(user, path=path).open()
            assert not session.connected and session.code == code, (user, path)
    run(scenario)


def test_a_board_whose_groups_redis_lost_catches_up_and_hears_pushes_again_after_its_next_since(desk):
    async def scenario():
        ann = await Session(desk["ann"]).open()
        seq = (await ann.receive())["seq"]
        await db(lambda: redis.Redis.from_url(settings.REDIS_URL).flushdb())  # Redis forgot every group
        missed = await db(hot_lead, country="US")
        await db(lead_route, missed.pk)
        assert await ann.silent()  # connected, but deaf
        await ann.send({"type": "since", "seq": seq})  # the board's minute resync
        assert (await ann.receive())["lead"] == missed.pk
        later = await db(hot_lead, country="US")
        await db(lead_route, later.pk)
        assert (await ann.receive())["lead"] == later.pk  # the since renewed its groups
        await ann.close()
    run(scenario)


def test_a_claim_returned_to_the_team_tells_its_rep_why(desk):
    from sdr_desk.routing.sla import sla_sweep

    async def scenario():
        ann, bob = await Session(desk["ann"]).open(), await Session(desk["bob"]).open()
        await ann.receive(), await bob.receive()
        lead = await db(hot_lead, country="US")
        await db(lead_route, lead.pk)
        await ann.receive(), await bob.receive()
        claimed = await db(lead_claim, lead.pk, user=desk["ann"])
        await ann.receive(), await bob.receive()
        await db(sla_sweep, now=claimed.claim_expires_at)  # the SLA warning falls due then too: skip its card
        back = await ann.receive()
        back = back if back.get("notice") else await ann.receive()
        assert back["type"] == "card" and back["section"] == "hot"  # on Hot now again, claimable by all
        assert back["notice"] == ("Back to the team: claimed 3 minutes ago with no touch and no next step "
                                  "planned. A touch on any channel, or a planned next step, keeps a claim.")
        other = await bob.receive()
        other = other if other["type"] == "card" else await bob.receive()  # past the warning's "remove"
        assert other["section"] == "hot" and other["notice"] == ""  # only the rep who had it is told
        await ann.close(), await bob.close()
    run(scenario)
