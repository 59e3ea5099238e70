"""``manage.py simulate_inbound``: a steady stream of realistic leads and behaviour, until stopped.

It sends through the real intake path: in-process through the same services
the API calls (with a source's API key, as the API records it), or, with
``--url`` and ``--key``, over HTTP to a running desk's API. Either way the
board, scoring and routing see exactly what a real integration would cause.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections, connection

from inbound import demo_data
from inbound.models import ApiKey, Lead, Source, SubmissionChannel
from inbound.payloads import clean_event_payload, clean_lead_payload
from inbound.services import event_submission_accept, lead_submission_accept

KEY_NAME = "simulate_inbound"
USER_AGENT = "simulate_inbound/1.0"
# Bounded memories: enough variety for repeats and stitching, no growth over a long run.
MAX_KNOWN = 500
MAX_ANONYMOUS = 100


@dataclass(frozen=True)
class Result:
    ok: bool
    summary: str
    email: str = ""  # the lead's email, when the receiver says which lead it was


class LocalSender:
    """Calls intake's services in this process, as the API view does after authenticating the key."""

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key

    def send(self, kind: str, payload: dict[str, Any]) -> Result:
        # A long-running process must notice a database that restarted or a
        # connection past its age, as a request would at its start; but never
        # inside a caller's transaction (a test's), which that would close.
        if not connection.in_atomic_block:
            close_old_connections()
        clean = clean_lead_payload if kind == "lead" else clean_event_payload
        cleaned, errors = clean(payload)
        if errors:
            return Result(False, f"refused (as the API would, with 400): {json.dumps(errors)}")
        accept = lead_submission_accept if kind == "lead" else event_submission_accept
        outcome = accept(cleaned=cleaned, payload=payload, channel=SubmissionChannel.API, source=self.api_key.source,
                         api_key=self.api_key, user_agent=USER_AGENT)
        submission = outcome.submission
        if not outcome.ok:
            return Result(False, f"stored as {submission.status} #{submission.pk}: {submission.error.splitlines()[0]}")
        if outcome.lead is None:
            return Result(True, f"pending until the visitor converts (submission #{submission.pk})")
        if kind == "event":
            return Result(True, f"attached to lead #{outcome.lead.pk}", outcome.lead.email)
        if outcome.created:
            return Result(True, f"created lead #{outcome.lead.pk}", outcome.lead.email)
        return Result(True, f"converted lead #{outcome.lead.pk} again ({outcome.lead.conversion_count} conversions)",
                      outcome.lead.email)


class HttpSender:
    """POSTs to a desk's API with a source's key, using only the standard library."""

    def __init__(self, url: str, key: str, *, timeout: float = 10.0) -> None:
        self.base = url.rstrip("/")
        self.key = key
        self.timeout = timeout

    def send(self, kind: str, payload: dict[str, Any]) -> Result:
        endpoint = "leads" if kind == "lead" else "events"
        request = urllib.request.Request(
            f"{self.base}/api/v1/{endpoint}/",
            data=json.dumps(payload).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Api-Key {self.key}",
                     "User-Agent": USER_AGENT},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - our own URL
                code, body = response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return Result(False, f"HTTP {error.code}: {error.read()[:300].decode(errors='replace')}")
        return _http_result(kind, code, body)


def _http_result(kind: str, code: int, body: dict[str, Any]) -> Result:
    if kind == "lead" and code in (200, 201):
        verb = "created" if code == 201 else "converted again"
        return Result(True, f"{code} {verb} lead #{body.get('id')}", body.get("email", ""))
    status, lead_id = body.get("status"), body.get("lead_id")
    summary = f"{code} {status} lead #{lead_id}" if lead_id else f"{code} {status}"
    return Result(status in ("attached", "pending"), summary)


class Command(BaseCommand):
    help = ("Send realistic new leads, repeat conversions and behaviour events through the intake path "
            "until stopped (Ctrl-C or SIGTERM).")

    def add_arguments(self, parser: CommandParser) -> None:
        # About 0.4 of the sends start a hot lead's clock: 1 a minute is a hot lead every ~2.5 min, which the
        # demo's three reps can answer (seed_demo's DEMO_REP_CAPACITY says more).
        parser.add_argument("--rate", type=float, default=1.0, help="sends per minute, on average (default 1)")
        parser.add_argument("--count", type=int, default=None, help="stop after this many sends")
        parser.add_argument("--source", default="Website", help="the source to send as, in-process (default Website)")
        parser.add_argument("--url", default="", help="send over HTTP to this desk, e.g. http://127.0.0.1:8000")
        parser.add_argument("--key", default="", help="the source's API key, with --url")
        parser.add_argument("--seed", type=int, default=None, help="random seed, for a repeatable stream")

    def handle(self, *args: Any, rate: float, count: int | None, source: str, url: str, key: str,
               seed: int | None, **options: Any) -> None:
        if rate <= 0:
            raise CommandError("--rate must be above zero.")
        if count is not None and count < 0:
            raise CommandError("--count cannot be negative.")
        if bool(url) != bool(key):
            raise CommandError("--url and --key go together: the API needs a source's key.")
        if url and not url.startswith(("http://", "https://")):
            # urllib also opens file:// and ftp:// URLs; only a desk's API is a target.
            raise CommandError("--url must start with http:// or https://.")
        if url:
            sender: LocalSender | HttpSender = HttpSender(url, key)
            known: list[str] = []
            self.stdout.write(f"Sending to {sender.base}/api/v1/ at about {rate:g} a minute")
        else:
            sender = LocalSender(_simulator_key(source))
            # Repeats and events need leads to be about: start with the desk's latest.
            known = list(Lead.objects.order_by("-created_at").values_list("email", flat=True)[:200])
            self.stdout.write(f"Sending as source {source!r} at about {rate:g} a minute")

        stop = threading.Event()
        with _stop_on_signals(stop.set):
            sent = self._run(sender, random.Random(seed), rate=rate, count=count, stop=stop, known=known)
        self.stdout.write(f"Stopped after {sent} sends.")

    def _run(self, sender: LocalSender | HttpSender, rng: random.Random, *, rate: float, count: int | None,
             stop: threading.Event, known: list[str]) -> int:
        anonymous: list[str] = []
        sent = 0
        while not stop.is_set() and (count is None or sent < count):
            send = demo_data.traffic_next(rng, known=known, anonymous=anonymous)
            try:
                result = sender.send(send.kind, send.payload)
            except Exception as error:  # noqa: BLE001 - a demo feed survives a server or database hiccup
                result = Result(False, f"failed: {type(error).__name__}: {error}")
            self.stdout.write(f"{send.label} -> {result.summary}")
            self.stdout.flush()
            if result.ok:
                _remember(send, result, known=known, anonymous=anonymous)
            sent += 1
            if count is None or sent < count:
                # Arrivals of independent buyers: exponential gaps, ``rate`` a minute on average.
                stop.wait(rng.expovariate(rate / 60))
        return sent


def _remember(send: demo_data.Send, result: Result, *, known: list[str], anonymous: list[str]) -> None:
    """Keep who the desk now knows, and which visitors are still anonymous, for later sends."""
    visitor = send.payload.get("visitor_id", "")
    if send.kind == "lead":
        if result.email and result.email not in known:
            known.append(result.email)
            del known[:-MAX_KNOWN]
        if visitor in anonymous:
            anonymous.remove(visitor)
    elif visitor and not send.payload.get("email") and visitor not in anonymous and "pending" in result.summary:
        anonymous.append(visitor)
        del anonymous[:-MAX_ANONYMOUS]


def _simulator_key(source_name: str) -> ApiKey:
    """The simulator's own key on the source, made once; its secret is never needed in-process."""
    channel = demo_data.SOURCES.get(source_name, "other")
    source, _ = Source.objects.get_or_create(name=source_name, defaults={"channel": channel})
    if not source.is_active:
        raise CommandError(f"Source {source_name!r} is disabled; the API would refuse its keys.")
    key = source.api_keys.filter(name=KEY_NAME, revoked_at__isnull=True).first()
    if key is None:
        key, _ = ApiKey.generate(source=source, name=KEY_NAME)
    return key


@contextmanager
def _stop_on_signals(on_stop: Callable[[], None]) -> Iterator[None]:
    """While inside, Ctrl-C and SIGTERM call ``on_stop``: the send under way finishes, then the loop ends."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        on_stop()

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
