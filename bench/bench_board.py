"""Live-board benchmark: from ``POST /api/v1/leads/`` to the card on N connected boards.

    .venv/bin/python bench/bench_board.py [--clients 1,50,200] [--posts 30] [--warmup 3]
                                               [--probes 30] [--timeout 10] [--debug 0]
                                               [--server uvicorn|daphne] [--no-db-pool]
                                               [--what-if gc] [--nice -10] [--keep]

Creates a throwaway PostgreSQL database (``sdr_bench_board`` on 127.0.0.1:5432
unless BENCH_ADMIN_DATABASE_URL names another server), migrates it
(``manage.py migrate`` with DEBUG=1), flushes Redis database 14
(``REDIS_URL=redis://127.0.0.1:6379/14`` unless BENCH_REDIS_URL says otherwise;
the channel layer is channels_redis on it) and makes one claim-mode default
team, open around the clock, with max(N) SDRs (large capacity) -- every board
is a rep of that team, so every new hot lead is offered to all of them -- an
API source with a key, and a signed-in session per SDR.

Two ASGI server processes (``--server``: uvicorn, what the desk runs, by
default; or daphne), each ``sdr_desk.asgi:application`` with the same
environment (DEBUG off unless ``--debug 1``; psycopg's connection pool, as
the desk runs, unless ``--no-db-pool``), serve the boards; for each N the bench connects N
websocket clients to ``/ws/board/``, half to each server, each with its own
session cookie and an allowed Origin, and waits for every ``hello``. Then it
posts ``--posts`` hot leads (a demo request, a new email each) one at a time to
server A and waits until every board has the lead's card (or ``--timeout``)
before posting the next:

- push latency: the card's arrival at a board minus t0, taken just before the
  POST is sent (so it includes the request itself); p50, p99 and max over every
  (board, lead) pair, and delivered / expected (lost pushes). Every lead adds N
  pairs, so at N = 200 and 30 leads the p99 is the slowest lead's boards;
  ``--posts 100`` or more gives a steadier p99;
- baseline: the POST's own response time (response - t0) in the same run; the
  table shows push minus response per pair and the ratio of the p50s. The
  desk scores, routes and pushes after the response is delivered
  (``sdr_desk.handon``), so push minus response is that hand-on plus the fan-out;
- where the time goes: the first and the last board per lead, boards on A (the
  server that also runs the POST and the hand-on) against boards on B; the CPU
  each server, the board clients, this process, Redis and everything else on
  the machine spent per lead (the machine is shared: "other" is PostgreSQL and
  whatever else ran meanwhile; wall-clock figures mean little when busy% is
  near 100); the Redis commands per lead; and a probe that calls channels_redis
  ``group_send`` directly with a real card message (no HTTP, no intake, no
  routing): the cost of the fan-out alone.

``--what-if`` runs the servers patched (``bench.bench_board:application``), to
price a change before anyone makes it; see ``WHAT_IFS``.

Goal (the issue): p99 under 100 ms at 200 boards. Prints the table and
"met / NOT met", and writes everything to ``bench/results/board-<timestamp>.json``.

The boards run in a child process (``bench/_ws_client.py``, autobahn's asyncio
client: autobahn is a dependency of daphne, so nothing extra is installed for
this bench). It stamps each message with CLOCK_MONOTONIC when its bytes reach
its event loop, before any parsing; this process takes t0 on the same clock.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import queue
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "sdr_bench_board"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
GOAL_MS = 100.0  # p99 at the largest N
GOAL_CLIENTS = 200
ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
PROBE_LEAD_BASE = 10**12  # lead ids of the direct group_send probes: never a real lead
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- set-up ---------------------------------------------------------------------------------


def database_create() -> str:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def database_drop(attempts: int = 10) -> None:
    import psycopg

    for attempt in range(attempts):  # a shared server may be out of connections for a moment
        try:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            return
        except psycopg.OperationalError as error:
            if attempt == attempts - 1:
                print(f"could not drop {BENCH_DB}: {error}; the next run drops it", file=sys.stderr)
                return
            time.sleep(3)


def redis_flush() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


def bench_env(database_url: str, *, debug: bool = True, what_if: list[str] | None = None,
              pool: bool = False) -> dict[str, str]:
    """What the migration, both servers and this process run with."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="sdr_desk.settings",
        DATABASE_URL=database_url,
        DEBUG="1" if debug else "0",
        SECURE_SSL_REDIRECT="0",  # plain HTTP on the loopback (only read when DEBUG is off)
        REDIS_URL=REDIS_URL,
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-not-secret-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
        BENCH_BOARD_WHAT_IF=",".join(what_if or []),
        DATABASE_POOL="1" if pool else "0",
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return env


# --- what-ifs: the servers run patched, to price a change before anyone makes it ----------------

WHAT_IFS = {
    "gc": "the servers freeze the objects of start-up out of the garbage collector (gc.freeze) and collect "
          "the young generation less often, so a full collection does not stall a push",
}


def what_if_apply(names: list[str]) -> None:
    """Monkeypatch the project in this (server) process; never how the desk runs."""
    if "gc" in names:
        import gc

        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)


def __getattr__(name: str) -> Any:
    """``bench.bench_board:application`` (daphne's argument under --what-if): the desk, patched."""
    if name == "application":
        names = [n for n in os.environ.get("BENCH_BOARD_WHAT_IF", "").split(",") if n]
        from sdr_desk.asgi import application

        what_if_apply(names)
        return application
    raise AttributeError(name)


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"migrate failed:\n{done.stdout}\n{done.stderr}")


def django_setup(env: dict[str, str]) -> None:
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DEBUG", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS",
                 "LOG_LEVEL"):
        os.environ[name] = env[name]
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@dataclass
class Desk:
    team_id: int
    raw_key: str
    sessions: list[str]  # one session key per SDR, in user order


def desk_make(reps: int) -> Desk:
    """One claim-mode default team open around the clock, ``reps`` SDRs in it, an API key, a session each."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connections

    from inbound.models import ApiKey, Source
    from sdr_desk.roles import Role
    from sdr_desk.routing.models import Rep, Team, Visibility

    team = Team.objects.create(name="Bench claim team", visibility=Visibility.CLAIM, is_default=True,
                               business_hours=ALWAYS)
    unusable = make_password(None)  # no password hashing for hundreds of users
    users = User.objects.bulk_create([
        User(username=f"bench-sdr-{i:04d}", first_name="Sdr", last_name=f"{i:04d}",
             email=f"bench-sdr-{i:04d}@desk.test", password=unusable) for i in range(reps)])
    sdr = Group.objects.get(name=Role.SDR)
    User.groups.through.objects.bulk_create([User.groups.through(user_id=u.pk, group_id=sdr.pk) for u in users])
    Rep.objects.bulk_create([Rep(user=u, team=team, working_hours=ALWAYS, capacity=1_000_000) for u in users])
    sessions = []
    for user in users:
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append(store.session_key)
    _, raw = ApiKey.generate(source=Source.objects.create(name="Bench board"))
    connections.close_all()  # hold no connection while the servers run
    return Desk(team_id=team.pk, raw_key=raw, sessions=sessions)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, env: dict[str, str], log_dir: Path, name: str, kind: str = "daphne") -> None:
        self.name = name
        self.port = free_port()
        self.log_path = log_dir / f"{kind}-{name}.log"
        app = "bench.bench_board:application" if env.get("BENCH_BOARD_WHAT_IF") else "sdr_desk.asgi:application"
        if kind == "uvicorn":
            command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(self.port),
                       "--log-level", "warning", "--no-access-log", "--lifespan", "off"]
        else:
            daphne = Path(sys.executable).with_name("daphne")
            command = [str(daphne)] if daphne.exists() else [sys.executable, "-m", "daphne"]
            command += ["-b", "127.0.0.1", "-p", str(self.port), "-v", "0", app]
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne {self.name} exited:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"daphne {self.name} did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far (all its threads)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


# --- websocket clients and the poster ---------------------------------------------------------


def now() -> float:
    """CLOCK_MONOTONIC: one clock for this process and the client process (see bench/_ws_client.py)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class BoardsProcess:
    """N board websockets in a child process (bench/_ws_client.py); arrivals come back by lead."""

    def __init__(self, boards: list[tuple[int, str]], timeout: float) -> None:
        self.n = len(boards)
        self.process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "_ws_client.py")], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.leads: dict[int, dict[str, Any]] = {}
        threading.Thread(target=self._read, daemon=True).start()
        self.send({"boards": [list(b) for b in boards], "timeout": timeout})
        ready = self.next_event(timeout + 30)
        if ready is None or ready.get("event") != "ready":
            self.stop()
            raise RuntimeError(f"board clients did not connect: {ready}")
        self.connect_seconds = ready["seconds"]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)

    def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.events.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None

    def wait_lead(self, lead: int, timeout: float) -> dict[int, float]:
        """{board: arrival} once every board has the lead's card, or what arrived within ``timeout``."""
        deadline = now() + timeout
        flushed = False
        while lead not in self.leads or not (self.leads[lead]["complete"] or flushed):
            event = self.next_event(deadline - now())
            if event is None:
                if flushed or self.process.poll() is not None:
                    break
                self.send({"cmd": "flush", "lead": lead})
                flushed, deadline = True, now() + 5
                continue
            if event.get("event") == "lead":
                self.leads[event["lead"]] = event
        return {int(i): at for i, at in self.leads.get(lead, {}).get("arrivals", [])}

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def close(self) -> dict[str, Any]:
        self.send({"cmd": "close"})
        while True:
            event = self.next_event(20)
            if event is None or event.get("event") == "closed":
                break
        self.stop()
        return event or {}

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # type: ignore[union-attr]
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(timeout=10)


class Poster:
    """POSTs hot leads to one server over a keep-alive connection; t0 just before the request is sent."""

    def __init__(self, port: int, raw_key: str) -> None:
        self.headers = {"Content-Type": "application/json", "Authorization": f"Api-Key {raw_key}",
                        "User-Agent": "sdr-desk-bench/1"}
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.count = 0
        self.last_used = time.monotonic()

    def _fresh_if_idle(self) -> None:
        # Servers close idle keep-alive connections (uvicorn after 5 s): while the boards connect
        # the poster idles, so reconnect before t0 rather than time a reconnect or a broken pipe.
        if time.monotonic() - self.last_used > 3:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.connect()

    def post(self, tag: str) -> tuple[float, float, int, dict[str, Any]]:
        self.count += 1
        n = self.count
        body = json.dumps({
            "email": f"buyer.{tag}{n}@prospect-{tag}{n}.example", "first_name": "Bench", "last_name": f"Buyer {n}",
            "company": f"Prospect {tag}{n}", "job_title": "VP Sales", "country": "US", "form_type": "demo_request",
        }).encode()
        self._fresh_if_idle()
        t0 = now()
        self.conn.request("POST", "/api/v1/leads/", body, self.headers)
        response = self.conn.getresponse()
        answer = response.read()
        t1 = now()
        self.last_used = time.monotonic()
        try:
            data = json.loads(answer)
        except ValueError:
            data = {"raw": answer[:300].decode(errors="replace")}
        return t0, t1, response.status, data

    def close(self) -> None:
        self.conn.close()


# --- figures -------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q % of the values at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def dist(values_s: list[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in values_s]
    if not ms:
        return {"n": 0, "p50_ms": None, "p90_ms": None, "p99_ms": None, "max_ms": None, "min_ms": None}
    return {"n": len(ms), "min_ms": round(min(ms), 2), "p50_ms": round(percentile(ms, 50), 2),
            "p90_ms": round(percentile(ms, 90), 2), "p99_ms": round(percentile(ms, 99), 2),
            "max_ms": round(max(ms), 2)}


def redis_snapshot() -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        stats = client.info("commandstats")
        cpu = client.info("cpu")
    finally:
        client.close()
    return {"calls": {k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()},
            "cpu": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])}


def redis_diff(before: dict[str, Any], after: dict[str, Any], per: int) -> dict[str, Any]:
    """Server-wide: on a shared Redis these include other users' commands (and CPU)."""
    calls = {k: after["calls"][k] - before["calls"].get(k, 0) for k in after["calls"]}
    calls = {k: round(v / per, 2) for k, v in sorted(calls.items(), key=lambda kv: -kv[1]) if v}
    return {"server_wide_commands_per_lead": calls,
            "cpu_ms_per_lead": round((after["cpu"] - before["cpu"]) * 1000 / per, 2)}


def redis_trace(boards: BoardsProcess, poster: Poster, n: int, leads: int, timeout: float) -> dict[str, Any]:
    """The bench database's own Redis commands per lead, from MONITOR (only for these few extra leads:
    MONITOR slows Redis down, so nothing timed runs under it)."""
    import redis

    db = int(REDIS_URL.rsplit("/", 1)[1]) if REDIS_URL.rsplit("/", 1)[1].isdigit() else 0
    counts: Counter[str] = Counter()
    stop = threading.Event()
    ready = threading.Event()
    sentinel = "bench-board-trace-stop"

    def watch() -> None:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=None)
        try:
            with client.monitor() as monitor:
                ready.set()
                while True:
                    command = monitor.next_command()
                    if stop.is_set() and sentinel in command.get("command", ""):
                        return
                    if command.get("db") == db:
                        counts[command["command"].split(" ", 1)[0].lower()] += 1
        except Exception as error:  # noqa: BLE001 - the trace is informative only
            counts[f"(trace failed: {type(error).__name__})"] += 1
        finally:
            ready.set()
            client.close()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    ready.wait(5)
    time.sleep(0.2)
    for _ in range(leads):
        _, _, status, data = poster.post(f"r{n}x")
        if status == 201 and "id" in data:
            boards.wait_lead(data["id"], timeout)
    time.sleep(0.3)
    stop.set()
    other = redis.Redis.from_url(REDIS_URL.rsplit("/", 1)[0] + "/15")  # another db: not counted
    try:
        for _ in range(3):
            other.echo(sentinel)
            thread.join(1)
            if not thread.is_alive():
                break
    finally:
        other.close()
    per = {k: round(v / leads, 2) for k, v in counts.most_common()}
    return {"leads": leads, "commands_per_lead": per, "total_per_lead": round(sum(counts.values()) / leads, 1)}


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all CPUs), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = values
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def cpu_snapshot(servers: list[Server], boards: BoardsProcess) -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {**{s.name: s.cpu_seconds() for s in servers}, "clients": boards.cpu_seconds(),
            "bench": usage.ru_utime + usage.ru_stime, "machine": machine_busy_seconds()}


# --- one N ---------------------------------------------------------------------------------------


def run_clients(n: int, args: argparse.Namespace, desk: Desk, servers: list[Server], poster: Poster,
                loop: asyncio.AbstractEventLoop, layer: Any) -> dict[str, Any]:
    server_of = [i % len(servers) for i in range(n)]  # board i on A when even, on B when odd
    boards = BoardsProcess([(servers[server_of[i]].port, desk.sessions[i]) for i in range(n)], args.timeout)
    print(f"\nN = {n}: {n} boards connected ({server_of.count(0)} on A, {server_of.count(1)} on B) in "
          f"{boards.connect_seconds:.1f} s", flush=True)
    closed: dict[str, Any] = {}
    failed: list[dict[str, Any]] = []
    try:
        # Warm-up: each server has imported, connected and compiled everything before anything is timed.
        for _ in range(args.warmup):
            for _attempt in range(3):
                t0, t1, status, data = poster.post(f"w{n}x")
                if status == 201 and "id" in data:
                    break
                print(f"  warm-up POST answered {status}: {data}; retrying", flush=True)
                time.sleep(2)
            else:
                raise RuntimeError(f"warm-up POST answered {status}: {data}\n{servers[0].log_tail()}")
            boards.wait_lead(data["id"], args.timeout)

        load = os.getloadavg()[0]
        cpu0, redis0 = cpu_snapshot(servers, boards), redis_snapshot()
        started = now()
        posts: list[dict[str, Any]] = []
        for _ in range(args.posts):
            t0, t1, status, data = poster.post(f"n{n}x")
            if status != 201 or "id" not in data:
                # Not a push to time (nothing was stored, or no id to match): count it and go on.
                failed.append({"status": status, "ms": round((t1 - t0) * 1000, 1), "body": str(data)[:200]})
                if len(failed) > args.posts // 2:
                    raise RuntimeError(f"{len(failed)} POSTs failed: {failed[:3]}\n{servers[0].log_tail()}")
                continue
            arrivals = boards.wait_lead(data["id"], args.timeout)
            posts.append({"lead": data["id"], "t0": t0, "t_response": t1, "arrivals": arrivals})
        cpu1, redis1 = cpu_snapshot(servers, boards), redis_snapshot()
        seconds = now() - started

        probe = probe_fanout(n, args, desk, boards, server_of, loop, layer, posts[-1]["lead"]) if args.probes else None
        trace = redis_trace(boards, poster, n, 3, args.timeout)
    finally:
        closed = boards.close()
        time.sleep(0.3)  # let the servers finish their group_discards

    measured = len(posts)
    push, push_minus_response, response, first, last, spread = [], [], [], [], [], []
    response_to_first: list[float] = []
    by_server: dict[str, list[float]] = {"A": [], "B": []}
    delivered = 0
    for p in posts:
        response.append(p["t_response"] - p["t0"])
        arrivals = p["arrivals"]
        delivered += len(arrivals)
        for index, at in arrivals.items():
            push.append(at - p["t0"])
            push_minus_response.append(at - p["t_response"])
            by_server["AB"[server_of[index]]].append(at - p["t0"])
        if arrivals:
            first.append(min(arrivals.values()) - p["t0"])
            last.append(max(arrivals.values()) - p["t0"])
            spread.append(max(arrivals.values()) - min(arrivals.values()))
            response_to_first.append(min(arrivals.values()) - p["t_response"])
    result = {
        "clients": n,
        "posts": measured,
        "connect_seconds": round(boards.connect_seconds, 2),
        "expected": measured * n,
        "delivered": delivered,
        "lost": measured * n - delivered,
        "failed_posts": len(failed),
        "failed_post_samples": failed[:3],
        "duplicates": closed.get("duplicates"),
        "other_messages": closed.get("others", {}),
        "unexpected_closes": closed.get("closes", []),
        "push": dist(push),
        "response": dist(response),
        "push_minus_response": dist(push_minus_response),
        "cards_before_response": sum(1 for v in push_minus_response if v < 0),
        "first_board": dist(first),
        "last_board": dist(last),
        "spread_first_to_last": dist(spread),
        "response_to_first_board": dist(response_to_first),
        "push_on_A": dist(by_server["A"]),
        "push_on_B": dist(by_server["B"]),
        "cpu_ms_per_lead": {name: round((cpu1[name] - cpu0[name]) * 1000 / max(measured, 1), 2) for name in cpu0},
        "redis": {**redis_diff(redis0, redis1, max(measured, 1)), "bench_db": trace},
        "load_average_1m_at_start": round(load, 2),
        "probe": probe,
    }
    cpu = result["cpu_ms_per_lead"]
    ours = sum(cpu[k] for k in ("A", "B", "clients", "bench")) + result["redis"]["cpu_ms_per_lead"]
    cpu["other"] = round(cpu["machine"] - ours, 2)  # PostgreSQL, and anything else running on the machine
    result["machine_busy_percent"] = round(100 * (cpu1["machine"] - cpu0["machine"]) / seconds / (os.cpu_count() or 1),
                                           1)
    p50_push, p50_resp = result["push"]["p50_ms"], result["response"]["p50_ms"]
    result["ratio_push_to_response_p50"] = round(p50_push / p50_resp, 3) if p50_push and p50_resp else None
    print(f"  push p50 {result['push']['p50_ms']} ms, p99 {result['push']['p99_ms']} ms, max "
          f"{result['push']['max_ms']} ms; POST p50 {result['response']['p50_ms']} ms; delivered {delivered}/"
          f"{measured * n}", flush=True)
    return result


def probe_fanout(n: int, args: argparse.Namespace, desk: Desk, boards: BoardsProcess, server_of: list[int],
                 loop: asyncio.AbstractEventLoop, layer: Any, lead_id: int) -> dict[str, Any]:
    """group_send a real card message (the last lead's, under a fresh lead id) to the team group, as board_push
    does, from this process: no HTTP, no intake, no scoring or routing."""
    from django.db import connections

    from sdr_desk.board.live import _cards, board_message, team_group
    from sdr_desk.routing.models import LeadAssignment

    message = board_message(1, _cards(LeadAssignment.objects.filter(lead_id=lead_id)).first())
    connections.close_all()
    group = team_group(desk.team_id)
    size = len(json.dumps(message))

    def send(fake: int) -> tuple[float, float]:
        body = {**message, "facts": {**message["facts"], "lead_id": fake}}
        t0 = now()
        loop.run_until_complete(layer.group_send(group, body))
        return t0, now()

    send(PROBE_LEAD_BASE + n * 10_000)  # warm the layer's connection pool
    boards.wait_lead(PROBE_LEAD_BASE + n * 10_000, args.timeout)
    sends, lat, first, spread, on_a, on_b = [], [], [], [], [], []
    delivered = 0
    for k in range(1, args.probes + 1):
        fake = PROBE_LEAD_BASE + n * 10_000 + k
        t0, t1 = send(fake)
        sends.append(t1 - t0)
        arrivals = boards.wait_lead(fake, args.timeout)
        delivered += len(arrivals)
        for index, at in arrivals.items():
            lat.append(at - t0)
            (on_a if server_of[index] == 0 else on_b).append(at - t0)
        if arrivals:
            first.append(min(arrivals.values()) - t0)
            spread.append(max(arrivals.values()) - min(arrivals.values()))
    return {"message_bytes": size, "group_send_call": dist(sends), "fanout": dist(lat), "first_board": dist(first),
            "spread_first_to_last": dist(spread), "on_A": dist(on_a), "on_B": dist(on_b),
            "delivered": delivered, "expected": args.probes * n}


def run_all(args: argparse.Namespace, desk: Desk, servers: list[Server]) -> list[dict[str, Any]]:
    from channels.layers import get_channel_layer

    loop = asyncio.new_event_loop()
    layer = get_channel_layer()
    poster = Poster(servers[0].port, desk.raw_key)
    results = []
    try:
        for n in args.clients:
            results.append(run_clients(n, args, desk, servers, poster, loop, layer))
    finally:
        poster.close()
        loop.run_until_complete(layer.close_pools())
        loop.close()
    return results


# --- report --------------------------------------------------------------------------------------


def fmt(value: Any, width: int = 7) -> str:
    return f"{value:>{width}.1f}" if isinstance(value, (int, float)) else f"{'-':>{width}}"


def table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'N':>4} {'posts':>5} {'delivered':>11} | {'push p50':>8} {'p90':>7} {'p99':>7} {'max':>7} | "
             f"{'POST p50':>8} {'p99':>7} | {'push-POST p50':>13} {'p99':>7} | {'ratio':>5} | "
             f"{'first p50':>9} {'last p50':>8} {'last p99':>8} | {'A p99':>7} {'B p99':>7}"]
    for r in results:
        lines.append(
            f"{r['clients']:>4} {r['posts']:>5} {str(r['delivered']) + '/' + str(r['expected']):>11} | "
            f"{fmt(r['push']['p50_ms'], 8)} {fmt(r['push']['p90_ms'])} {fmt(r['push']['p99_ms'])} "
            f"{fmt(r['push']['max_ms'])} | "
            f"{fmt(r['response']['p50_ms'], 8)} {fmt(r['response']['p99_ms'])} | "
            f"{fmt(r['push_minus_response']['p50_ms'], 13)} {fmt(r['push_minus_response']['p99_ms'])} | "
            f"{fmt(r['ratio_push_to_response_p50'], 5) if r['ratio_push_to_response_p50'] else '    -'} | "
            f"{fmt(r['first_board']['p50_ms'], 9)} {fmt(r['last_board']['p50_ms'], 8)} "
            f"{fmt(r['last_board']['p99_ms'], 8)} | {fmt(r['push_on_A']['p99_ms'])} {fmt(r['push_on_B']['p99_ms'])}")
    return "\n".join(lines)


def profile_table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'N':>4} | {'CPU ms/lead: A':>14} {'B':>6} {'redis':>6} {'boards':>6} {'other':>6} {'busy%':>5} | "
             f"{'group_send call p50':>19} | {'fan-out only p50':>16} {'p99':>6} {'max':>6} {'spread p50':>10} | "
             f"{'on A p99':>8} {'on B p99':>8} | Redis commands per lead (bench db, MONITOR)"]
    for r in results:
        cpu = r["cpu_ms_per_lead"]
        probe = r["probe"] or {}
        fan = probe.get("fanout", {})
        trace = r["redis"]["bench_db"]
        commands = f"{trace['total_per_lead']:g}: " + ", ".join(
            f"{k} {v:g}" for k, v in list(trace["commands_per_lead"].items())[:9])
        lines.append(
            f"{r['clients']:>4} | {fmt(cpu.get('A'), 14)} {fmt(cpu.get('B'), 6)} "
            f"{fmt(r['redis']['cpu_ms_per_lead'], 6)} {fmt(cpu.get('clients'), 6)} {fmt(cpu.get('other'), 6)} "
            f"{fmt(r['machine_busy_percent'], 5)} | "
            f"{fmt(probe.get('group_send_call', {}).get('p50_ms'), 19)} | {fmt(fan.get('p50_ms'), 16)} "
            f"{fmt(fan.get('p99_ms'), 6)} {fmt(fan.get('max_ms'), 6)} "
            f"{fmt(probe.get('spread_first_to_last', {}).get('p50_ms'), 10)} | "
            f"{fmt(probe.get('on_A', {}).get('p99_ms'), 8)} {fmt(probe.get('on_B', {}).get('p99_ms'), 8)} | "
            f"{commands}")
    return "\n".join(lines)


def environment(database_url: str) -> dict[str, Any]:
    import channels
    import channels_redis
    import daphne
    import django
    import psycopg
    import redis

    try:
        with psycopg.connect(database_url) as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.OperationalError:
        pg = "?"
    client = redis.Redis.from_url(REDIS_URL)
    redis_version = client.info("server")["redis_version"]
    client.close()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
    return {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "django": django.get_version(), "channels": channels.__version__,
            "channels_redis": getattr(channels_redis, "__version__", "?"), "daphne": daphne.__version__,
            "redis_py": redis.__version__, "redis_server": redis_version, "postgresql": pg, "git_head": head,
            "note": "working tree may differ from git_head"}


# --- main ------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,50,200", help="comma-separated board counts (default 1,50,200)")
    parser.add_argument("--posts", type=int, default=30, help="measured leads per board count (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured leads first, per board count (default 3)")
    parser.add_argument("--probes", type=int, default=30,
                        help="direct group_send probes per board count (default 30; 0: none)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for every card (default 10)")
    parser.add_argument("--debug", type=int, choices=(0, 1), default=0,
                        help="DEBUG for the two servers (default 0, as production runs; 1: the development set-up)")
    parser.add_argument("--what-if", default="",
                        help="comma-separated what-ifs the servers run patched (never how the desk runs): "
                             + "; ".join(f"{k}: {v}" for k, v in WHAT_IFS.items()))
    parser.add_argument("--nice", type=int, default=0,
                        help="niceness for this process and everything it starts (servers, boards); a negative "
                             "value (root only) lets the bench's own processes run ahead of other work on a shared "
                             "machine. PostgreSQL and Redis keep theirs. Default 0")
    parser.add_argument("--server", choices=("uvicorn", "daphne"), default="uvicorn",
                        help="the ASGI server of both workers: uvicorn (uvloop, httptools, websockets; what the "
                             "desk runs) or daphne (Twisted, autobahn)")
    parser.add_argument("--no-db-pool", dest="db_pool", action="store_false",
                        help="DATABASE_POOL=0 on the servers: a new connection per request instead of psycopg's pool "
                             "(the desk's default on PostgreSQL)")
    parser.add_argument("--keep", action="store_true", help="keep the database sdr_bench_board afterwards")
    args = parser.parse_args()
    args.what_if = [w for w in args.what_if.split(",") if w.strip()]
    if set(args.what_if) - set(WHAT_IFS):
        parser.error(f"--what-if takes {', '.join(WHAT_IFS)}")
    try:
        args.clients = [int(c) for c in args.clients.split(",") if c.strip()]
    except ValueError:
        parser.error("--clients takes numbers separated by commas")
    if not args.clients or min(args.clients) < 1 or args.posts < 1 or args.warmup < 0 or args.probes < 0:
        parser.error("--clients and --posts must be positive, --warmup and --probes 0 or more")

    if args.nice:
        os.nice(args.nice)  # inherited by the servers and the board clients started below
    stamp = datetime.now(UTC)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-board-"))
    servers: list[Server] = []
    database_url = database_create()
    redis_flush()
    env = bench_env(database_url)  # migrate and set up with DEBUG=1
    server_env = bench_env(database_url, debug=bool(args.debug), what_if=args.what_if, pool=args.db_pool)
    results: list[dict[str, Any]] = []
    try:
        migrate(env)
        django_setup(env)
        started = time.perf_counter()
        desk = desk_make(max(args.clients))
        print(f"setup: one claim-mode team with {max(args.clients)} SDRs and sessions in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        servers = [Server(server_env, log_dir, "A", args.server), Server(server_env, log_dir, "B", args.server)]
        for server in servers:
            server.wait_ready()
        print(f"2 {args.server} workers: A on {servers[0].port} (takes the POSTs), B on {servers[1].port}; channel layer "
              f"channels_redis on {REDIS_URL}; {os.cpu_count()} CPUs; DEBUG={args.debug}; "
              f"{'DATABASE_POOL=1' if args.db_pool else 'CONN_MAX_AGE=0'}; {args.posts} leads per N, "
              f"one at a time; load average {os.getloadavg()[0]:.1f}"
              f"{f'; niceness {os.getpriority(os.PRIO_PROCESS, 0)}' if args.nice else ''}", flush=True)
        if args.what_if:
            print("WHAT-IF, the servers run patched (not how the desk runs): "
                  + "; ".join(f"{w}: {WHAT_IFS[w]}" for w in args.what_if), flush=True)
        results = run_all(args, desk, servers)

        print("\nPOST /api/v1/leads/ -> card on every board (ms; push = card arrival - t0 before the POST; "
              "POST = response - t0, the baseline)")
        print(table(results))
        print("\nwhere the time goes (probe = channels_redis group_send of the same card from the bench, no HTTP)")
        print(profile_table(results))
        print("\nper lead, p50: POST response -> hand-on after the response (scoring, routing, render, group_send) "
              "and delivery to the first board -> fan-out to the last board")
        for r in results:
            print(f"  N={r['clients']:<4} POST {fmt(r['response']['p50_ms'], 6)} ms -> first board "
                  f"+{fmt(r['response_to_first_board']['p50_ms'], 6)} ms -> last board "
                  f"+{fmt(r['spread_first_to_last']['p50_ms'], 6)} ms (last board p50 {r['last_board']['p50_ms']} ms)")
        print("  p99 is over (board, lead) pairs: every lead adds N pairs, so with few leads it is the slowest lead's "
              "boards; --posts 100 or more steadies it")
        for r in results:
            notes = []
            if r["lost"]:
                notes.append(f"{r['lost']} pushes LOST")
            if r["failed_posts"]:
                notes.append(f"{r['failed_posts']} POSTs failed (not timed): {r['failed_post_samples'][:1]}")
            if r["duplicates"]:
                notes.append(f"{r['duplicates']} duplicate cards")
            if r["other_messages"]:
                notes.append(f"other messages {r['other_messages']}")
            if r["unexpected_closes"]:
                notes.append(f"boards closed: {r['unexpected_closes']}")
            notes.append(f"{r['cards_before_response']}/{r['delivered']} cards arrived before the POST's response")
            print(f"  N={r['clients']}: " + "; ".join(notes))

        target = next((r for r in results if r["clients"] == GOAL_CLIENTS), None)
        if target is None:
            print(f"\ngoal p99 < {GOAL_MS:g} ms at {GOAL_CLIENTS} boards: not measured (no N = {GOAL_CLIENTS})")
            goal = None
        else:
            goal = bool(target["push"]["p99_ms"] is not None and target["push"]["p99_ms"] < GOAL_MS
                        and target["lost"] == 0)
            print(f"\ngoal p99 < {GOAL_MS:g} ms at {GOAL_CLIENTS} boards: {'met' if goal else 'NOT met'} "
                  f"(p99 {target['push']['p99_ms']} ms, {target['lost']} lost)")

        warnings = {s.name: s.log_path.read_text(errors="replace").count("board push for lead") for s in servers}
        if any(warnings.values()):
            print(f"  failed board pushes in the server logs: {warnings}")
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        out = RESULTS_DIR / f"board-{stamp.strftime('%Y%m%dT%H%M%SZ')}.json"
        out.write_text(json.dumps({
            "bench": "board", "at": stamp.isoformat(), "args": {k: v for k, v in vars(args).items()},
            "environment": environment(database_url), "goal": {"p99_ms_below": GOAL_MS, "clients": GOAL_CLIENTS,
                                                                "met": goal},
            "failed_pushes_in_logs": warnings, "results": results,
        }, indent=2))
        print(f"\nresults: {out.relative_to(ROOT)}; server logs: {log_dir}")
        return 0 if goal is not False else 1
    finally:
        for server in servers:
            server.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up yet
            pass
        if not args.keep:
            database_drop()
        redis_flush()


if __name__ == "__main__":
    sys.exit(main())
