"""A real HTTP receiver on 127.0.0.1 (a CRM stand-in) and a desk with one claimed lead to disposition."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.webhooks.models import Endpoint
from sdr_desk.webhooks.signing import SIGNATURE_HEADER, signature_verify
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import UserFactory


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signed: bool  # the signature checked out with the receiver's secret, within the tolerance

    @property
    def event_id(self) -> str:
        return self.headers["X-Desk-Event-Id"]


@dataclass
class Receiver:
    """Counts every POST, checks its signature, answers ``status`` after ``delay`` seconds."""

    url: str = ""
    secret: str = ""
    status: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def endpoint(self, name: str = "CRM", events: list[str] | None = None, **fields) -> Endpoint:
        """An endpoint pointed here; the receiver verifies with its secret (one secret per receiver)."""
        endpoint = Endpoint.objects.create(name=name, url=self.url, events=events or ["disposition"], **fields)
        if self.secret and self.secret != endpoint.secret:
            Endpoint.objects.filter(pk=endpoint.pk).update(secret=self.secret)
            endpoint.secret = self.secret
        self.secret = endpoint.secret
        return endpoint

    @property
    def event_ids(self) -> list[str]:
        return [r.event_id for r in self.received]


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            signed = signature_verify(receiver.secret, body, self.headers.get(SIGNATURE_HEADER, ""))
            with receiver.lock:
                receiver.received.append(Received(dict(self.headers.items()), body, signed))
            time.sleep(receiver.delay)
            try:
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except (BrokenPipeError, ConnectionResetError):  # the desk stopped waiting (its timeout)
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)  # type: ignore[arg-type]
    server.daemon_threads = True
    state = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks/desk")
    server.RequestHandlerClass = _handler_for(state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def dead_url() -> str:
    """A port nothing listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


@pytest.fixture
def desk(db):
    boss = UserFactory(username="boss", roles=[Role.MANAGER])
    team = team_make("Inbound", visibility="claim", manager=boss)
    ann = rep_make("ann", team)
    lead = hot_lead(email="ada@analytical.io")
    lead_route(lead.pk)
    lead_claim(lead.pk, user=ann)
    return {"team": team, "ann": ann, "boss": boss, "lead": lead}
