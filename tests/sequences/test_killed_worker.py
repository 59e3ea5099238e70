"""Exactly once with a real Django-Q cluster killed mid-send.

A real ``manage.py qcluster`` (a subprocess on the test database) takes the send task; a real SMTP server
(aiosmtpd, in this test) receives the message's DATA and stalls before answering, so the worker is in the
middle of the SMTP conversation when the whole cluster is killed with SIGKILL. A second cluster is then
started: the broker redelivers the task the dead cluster held, a doubled task is queued too, and the sweep
looks again. The SMTP server must have received the message at most once, and the outbox row stays
"sending" (claimed, never re-sent by the desk; the rep sees the note and sends it by hand if it never arrived).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ, Schedule, Task
from django_q.tasks import async_task

from sdr_desk.sequences.models import Outbox, StepRun
from sdr_desk.sequences.services import steps_due_sweep
from tests.sequences.test_sending import EphemeralController, desk_make

ROOT = Path(__file__).resolve().parents[2]
SEND = "sdr_desk.sequences.sending.step_send"
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class StallingServer:
    """Counts every message whose DATA arrived; holds the first one's answer until released."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802  aiosmtpd's hook name
        self.received.append(envelope.content)
        if len(self.received) == 1:
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return "250 OK"


@pytest.fixture
def stalling_smtp() -> Iterator[tuple[StallingServer, int]]:
    handler = StallingServer()
    controller: Controller = EphemeralController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        handler.release.set()
        controller.stop()


def wait_for(condition: Callable[[], object], *, seconds: float, what: str) -> object:
    """Poll a condition (not a fixed sleep): a loaded two-core machine may take a while to start a cluster."""
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def cluster_start(port: int, log: Path) -> subprocess.Popen:
    db = connection.settings_dict
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "tests.sequences.cluster_settings",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "DATABASE_POOL": "0", "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
           "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "SEQUENCES_MIN_SPACING_SECONDS": "0"}
    with log.open("ab") as out:
        # A session of its own: SIGKILL to the group takes the sentinel, pusher, monitor and worker at once.
        return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def cluster_kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=20)


def test_a_cluster_killed_mid_send_and_started_again_sends_the_step_at_most_once(stalling_smtp, tmp_path):
    smtp, port = stalling_smtp
    Schedule.objects.all().delete()  # only the tasks this test queues run: no minute sweep of its own
    desk = desk_make()
    run = StepRun.objects.get(enrollment__lead=desk["lead"], step__position=0)
    StepRun.objects.filter(pk=run.pk).update(status="due")  # as the sweep leaves it
    log = tmp_path / "qcluster.log"
    first = cluster_start(port, log)
    try:
        async_task(SEND, run.pk, sync=False, task_name=f"sequence-send-{run.pk}")
        assert smtp.stalled.wait(timeout=30), log.read_text()  # the worker is inside the SMTP DATA exchange
        outbox = Outbox.objects.get(enrollment__lead=desk["lead"])
        assert outbox.status == "sending"
    finally:
        cluster_kill(first)
    smtp.release.set()  # the dead worker's session ends; nothing more arrives from it

    second = cluster_start(port, log)
    try:
        async_task(SEND, run.pk, sync=False, task_name=f"sequence-send-{run.pk}-again")  # a doubled task
        # The dead cluster's task is redelivered once its broker lock (retry = 12 s) runs out.
        wait_for(lambda: not OrmQ.objects.exists() and Task.objects.filter(func=SEND).count() == 2,
                 seconds=45, what=f"the redelivered and the doubled task to finish\n{log.read_text()}")
        assert steps_due_sweep(now=timezone.now())["sends"] == 0  # the sweep finds the claim, queues nothing
    finally:
        cluster_kill(second)

    assert len(smtp.received) == 1
    assert sorted(Task.objects.filter(func=SEND).values_list("result", flat=True)) == ["duplicate", "duplicate"]
    outbox.refresh_from_db()
    assert (outbox.status, outbox.sent_at) == ("sending", None)
    run.refresh_from_db()
    assert run.status == "due" and run.note.startswith("Sending since") and "send it by hand" in run.note
