"""Benchmark lead intake over HTTP: ``POST /api/v1/leads/`` against a plain DRF create of the same model.

    .venv/bin/python bench/bench_intake.py [--requests 2000] [--concurrency 8] [--workers 2]
                                           [--server uvicorn|daphne] [--rounds 4] [--warmup 40] [--desk] [--keep]
                                                [--without-hand-on] [--conn-max-age 0] [--db-pool]

Creates a throwaway PostgreSQL database (``sdr_bench_intake_<pid>`` on
127.0.0.1:5432 unless BENCH_ADMIN_DATABASE_URL names another server), migrates
it, creates a source and an API key, and starts ``--workers`` server processes
(``--server``: uvicorn, as the desk runs, by default; or daphne)
(``sdr_desk.asgi:application`` with ``DJANGO_SETTINGS_MODULE=bench.settings``,
DEBUG off), each on its own port; the client threads are spread over them
round robin, one keep-alive connection per thread and server.

Three rows, measured in interleaved rounds so that machine noise hits all alike:

- baseline: ``POST /bench/plain-leads/``, a plain DRF ``CreateAPIView`` over
  ``Lead`` (same key authentication, parser and renderer; ``bench/urls.py``);
- intake: ``POST /api/v1/leads/`` with new emails (201: submission stored,
  lead, account, activity and timeline written in one transaction; then the
  desk's hand-on - scoring, routing, the board push - in the same process,
  right after the response is delivered);
- repeat: the intake emails posted again (200: a second conversion).

Every request body is the same shape (email, names, company, title, phone,
country). Prints requests/s, p50 and p99 per row and the ratios against the
baseline; the goal is the intake path within 2x of the plain create.

Latency is what the client sees. Throughput counts until the servers are idle
again: the desk runs scoring, routing and the board push after the response
is delivered, so each phase waits for the servers to settle and bills that
"drain" time to the row that caused it (also shown on its own). Then checks
the database holds exactly what was sent, and writes everything to
``bench/results/intake-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# One database per run: two people running the bench at once on one server must not drop each other's.
BENCH_DB = f"sdr_bench_intake_{os.getpid()}"
SETTINGS = "bench.settings"
GOAL = 2.0  # the intake path within 2x of the plain create

# (row, path, expected status)
ROWS = {
    "baseline": ("/bench/plain-leads/", 201),
    "intake": ("/api/v1/leads/", 201),
    "repeat": ("/api/v1/leads/", 200),
}

FIRST = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances",
         "Hedy", "Edsger", "Radia", "Donald", "Sophie", "Tim", "Annie", "John", "Lynn", "Guido"]
LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
        "Allen", "Lamarr", "Dijkstra", "Perlman", "Knuth", "Wilson", "Berners-Lee", "Easley", "Backus", "Conway",
        "van Rossum"]
TITLES = ["VP Sales", "Head of RevOps", "Marketing Manager", "CTO", "Founder", "Sales Ops Analyst",
          "Director of Demand Generation", "Data Engineer", "Chief Revenue Officer", "Account Executive"]
COMPANIES = ["Northwind", "Contoso", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne",
             "Acme", "Tyrell", "Cyberdyne", "Soylent", "Wonka", "Gringotts", "Monarch"]
# (country, phone pattern): all possible numbers, none longer than the model's 20 characters.
PLACES = [("US", "+1 415 555 {:04d}"), ("US", "+1 212 555 {:04d}"), ("GB", "+44 20 7946 {:04d}"),
          ("DE", "+49 30 9018{:04d}"), ("FR", "+33 1 42 68 {:02d} {:02d}"), ("CA", "+1 416 555 {:04d}"),
          ("NL", "+31 20 794 {:04d}"), ("IN", "+91 22 6140 {:04d}")]
FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com"]


# --- set-up -----------------------------------------------------------------------------


def database_create() -> str:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def database_drop() -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def bench_env(database_url: str, conn_max_age: int, pool: bool, hand_on: bool = True) -> dict[str, str]:
    """What the servers, the migration and this process run with: production-like, DEBUG off."""
    env = dict(os.environ)
    env.update(
        CONN_MAX_AGE=str(conn_max_age),
        DATABASE_POOL="1" if pool else "0",
        BENCH_HAND_ON="1" if hand_on else "0",
        DJANGO_SETTINGS_MODULE=SETTINGS,
        DATABASE_URL=database_url,
        DEBUG="0",  # DEBUG keeps every query in memory: not what production does
        SECRET_KEY=os.environ.get("SECRET_KEY") or "bench-only-not-secret-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"),
    )
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return env


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"migrate failed:\n{done.stdout}\n{done.stderr}")


def desk_seed(env: dict[str, str]) -> None:
    """Teams and reps as ``seed_demo`` makes them (open around the clock), and no leads: routing then
    round-robins over real reps instead of finding an empty desk. The demo users need DEBUG for that one command."""
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "seed_demo", "--leads", "0"],
                          cwd=ROOT, env={**env, "DEBUG": "1"}, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"seed_demo failed:\n{done.stdout}\n{done.stderr}")


def django_setup(env: dict[str, str]) -> None:
    """This process uses the ORM only to create the key and to check the database afterwards."""
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS",
                 "SECURE_SSL_REDIRECT", "LOG_LEVEL", "CONN_MAX_AGE", "DATABASE_POOL"):
        os.environ[name] = env[name]
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def api_key_create() -> str:
    from django.db import connections

    from inbound.models import ApiKey, Source

    _, raw = ApiKey.generate(source=Source.objects.get_or_create(name="Bench")[0])
    connections.close_all()  # hold no connection while the servers run
    return raw


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, env: dict[str, str], log_dir: Path, index: int, kind: str = "daphne") -> None:
        self.port = free_port()
        self.log_path = log_dir / f"{kind}-{index}.log"
        if kind == "uvicorn":
            # No access log (a load balancer keeps that); keep-alive longer than the bench's pauses
            # between rows, so a client thread's connection is never closed under it.
            command = [sys.executable, "-m", "uvicorn", "sdr_desk.asgi:application", "--host", "127.0.0.1",
                       "--port", str(self.port), "--log-level", "warning", "--no-access-log", "--lifespan", "off",
                       "--timeout-keep-alive", "600"]
        else:
            daphne = Path(sys.executable).with_name("daphne")
            command = [str(daphne)] if daphne.exists() else [sys.executable, "-m", "daphne"]
            # -v 0: no access log (a load balancer keeps that); errors still reach the log file.
            command += ["-b", "127.0.0.1", "-p", str(self.port), "-v", "0", "sdr_desk.asgi:application"]
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne on port {self.port} exited:\n{self.log_tail()}")
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
        raise RuntimeError(f"daphne on port {self.port} did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def cpu_ticks(self) -> int:
        """User + system CPU of the server process (all its threads), in clock ticks."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            return 0

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.closed:
            self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.log.closed:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def servers_settle(servers: list[Server], *, window: float = 0.2, timeout: float = 300.0) -> float:
    """Wait until the servers are idle; return when their last busy moment was (perf_counter).

    The desk may run work after the response is delivered (scoring, routing,
    the board push): the client has its answer but the server is still busy.
    A phase's throughput counts until that work is done, so what one row
    leaves behind is neither free nor billed to the next row. Idle: under 10 %
    of a CPU over all servers for two windows in a row.
    """
    ticks_per_window = os.sysconf("SC_CLK_TCK") * window
    last_busy = time.perf_counter()
    before = sum(s.cpu_ticks() for s in servers)
    idle_windows = 0
    deadline = last_busy + timeout
    while idle_windows < 2 and time.perf_counter() < deadline:
        time.sleep(window)
        now_ticks = sum(s.cpu_ticks() for s in servers)
        if now_ticks - before > 0.1 * ticks_per_window:
            idle_windows = 0
            last_busy = time.perf_counter()
        else:
            idle_windows += 1
        before = now_ticks
    return last_busy


class ConnectionWatch(threading.Thread):
    """Samples the bench database's server connections: how many, how many wait for a lock, how many sit
    idle inside a transaction. Shows a pile-up of connections and lock convoys."""

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.samples: list[tuple[int, int, int]] = []
        self.error = ""
        self.stopping = threading.Event()

    def run(self) -> None:
        import psycopg

        try:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                while not self.stopping.is_set():
                    row = conn.execute(
                        "SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock'), "
                        "count(*) FILTER (WHERE state = 'idle in transaction') "
                        "FROM pg_stat_activity WHERE datname = %s", [BENCH_DB]).fetchone()
                    self.samples.append(tuple(row))
                    self.stopping.wait(self.interval)
        except psycopg.Error as error:  # e.g. the server is out of connections: say so, do not die
            self.error = str(error).strip().splitlines()[0]

    def stop(self) -> dict[str, Any]:
        self.stopping.set()
        self.join(timeout=5)
        counts = sorted(s[0] for s in self.samples) or [0]
        return {"peak": counts[-1], "median": counts[len(counts) // 2],
                "peak_waiting_for_lock": max((s[1] for s in self.samples), default=0),
                "peak_idle_in_transaction": max((s[2] for s in self.samples), default=0),
                "samples": len(self.samples), "error": self.error}


# --- payloads ----------------------------------------------------------------------------


def payloads_make(tag: str, count: int, rng: random.Random) -> list[dict[str, str]]:
    """Unique emails (tag + number); about five people per company (count // 5 companies); one in ten free mail."""
    leads = []
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company_no = rng.randrange(max(1, count // 5))
        company = f"{COMPANIES[company_no % len(COMPANIES)]} {company_no}"
        if rng.random() < 0.1:
            domain = rng.choice(FREE_MAIL)
        else:
            domain = f"{COMPANIES[company_no % len(COMPANIES)].lower()}{company_no}.example"
        local = f"{first}.{last}".lower().replace(" ", "").replace("-", "")
        country, pattern = rng.choice(PLACES)
        digits = rng.randrange(10000)
        phone = pattern.format(digits // 100, digits % 100) if pattern.count("{") == 2 else pattern.format(digits)
        leads.append({
            "email": f"{local}+{tag}{n}@{domain}",
            "first_name": first,
            "last_name": last,
            "company": company,
            "job_title": rng.choice(TITLES),
            "phone": phone,
            "country": country,
        })
    return leads


def encode(payloads: list[dict[str, str]]) -> list[bytes]:
    return [json.dumps(p).encode() for p in payloads]


# --- the client ----------------------------------------------------------------------------


class Phase:
    """One endpoint, one batch of bodies, C threads; latencies in seconds."""

    def __init__(self, row: str, bodies: list[bytes]) -> None:
        self.row = row
        self.path, self.expected = ROWS[row]
        self.bodies = bodies
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self.samples: list[str] = []  # a few unexpected answers, for the report
        self.seconds = 0.0  # from the first request to the last response
        self.drain_seconds = 0.0  # from the last response until the servers were idle again


class Client:
    def __init__(self, ports: list[int], concurrency: int, raw_key: str) -> None:
        self.ports = ports
        self.concurrency = concurrency
        self.headers = {"Content-Type": "application/json", "Authorization": f"Api-Key {raw_key}",
                        "User-Agent": "sdr-desk-bench/1"}
        # Thread i always talks to server i % W over its own keep-alive connection.
        self.connections = [self._connect(i) for i in range(concurrency)]
        self.lock = threading.Lock()

    def _connect(self, i: int) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.ports[i % len(self.ports)], timeout=60)

    def close(self) -> None:
        for conn in self.connections:
            conn.close()

    def run(self, phase: Phase, servers: list[Server] | None = None) -> Phase:
        chunks = [phase.bodies[i::self.concurrency] for i in range(self.concurrency)]
        barrier = threading.Barrier(self.concurrency + 1)
        threads = [threading.Thread(target=self._work, args=(i, chunks[i], phase, barrier), daemon=True)
                   for i in range(self.concurrency)]
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        answered = time.perf_counter()
        phase.seconds += answered - started
        if servers:
            phase.drain_seconds += max(0.0, servers_settle(servers) - answered)
        return phase

    def _work(self, i: int, bodies: list[bytes], phase: Phase, barrier: threading.Barrier) -> None:
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        errors: Counter[str] = Counter()
        samples: list[str] = []
        conn = self.connections[i]
        barrier.wait()
        clock = time.perf_counter
        for body in bodies:
            started = clock()
            try:
                conn.request("POST", phase.path, body, self.headers)
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as error:
                # No retry: a retried POST could store a lead twice and spoil the check below.
                errors[type(error).__name__] += 1
                conn.close()
                conn = self.connections[i] = self._connect(i)
                continue
            latencies.append(clock() - started)
            statuses[response.status] += 1
            if response.status != phase.expected and len(samples) < 3:
                samples.append(f"{response.status}: {answer[:300].decode(errors='replace')}")
        with self.lock:
            phase.latencies += latencies
            phase.statuses.update(statuses)
            phase.errors.update(errors)
            phase.samples += samples[: max(0, 5 - len(phase.samples))]


# --- figures ---------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q % of the values at or below it."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def summary(phases: list[Phase]) -> dict[str, Any]:
    latencies = sorted(x for p in phases for x in p.latencies)
    seconds = sum(p.seconds for p in phases)
    drain = sum(p.drain_seconds for p in phases)
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    for p in phases:
        statuses.update(p.statuses)
        errors.update(p.errors)
    sent = sum(len(p.bodies) for p in phases)
    return {
        "requests": sent,
        "seconds": round(seconds + drain, 3),
        "requests_per_second": round(sent / (seconds + drain), 1) if seconds + drain else 0.0,
        "answered_seconds": round(seconds, 3),
        "drain_seconds": round(drain, 3),
        "responses_per_second": round(sent / seconds, 1) if seconds else 0.0,
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p90_ms": round(percentile(latencies, 90) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "max_ms": round(latencies[-1] * 1000, 2) if latencies else None,
        "mean_ms": round(sum(latencies) / len(latencies) * 1000, 2) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": dict(errors),
        "rounds_requests_per_second": [round(len(p.bodies) / (p.seconds + p.drain_seconds), 1) if p.seconds else 0.0
                                       for p in phases],
        "unexpected_samples": [s for p in phases for s in p.samples][:5],
    }


def ratios(row: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    slower = baseline["requests_per_second"] / row["requests_per_second"] if row["requests_per_second"] else None
    out = {
        "throughput": round(row["requests_per_second"] / baseline["requests_per_second"], 3),
        "throughput_slowdown": round(slower, 3) if slower else None,
        "p50": round(row["p50_ms"] / baseline["p50_ms"], 3),
        "p99": round(row["p99_ms"] / baseline["p99_ms"], 3),
    }
    out["within_goal"] = {
        "throughput": bool(slower and slower <= GOAL),
        "p50": out["p50"] <= GOAL,
        "p99": out["p99"] <= GOAL,
    }
    out["goal_met"] = all(out["within_goal"].values())
    return out


# --- after the run -------------------------------------------------------------------------------


def database_check(sent: dict[str, int], *, scored: bool) -> dict[str, Any]:
    """What the database holds against what was answered; every figure must match."""
    from django.db import connections
    from django.db.models import Count, Q

    from inbound.models import Activity, ActivityType, Lead, Submission, SubmissionStatus

    leads = Lead.objects.aggregate(
        baseline=Count("pk", filter=Q(email__contains="+bl")),
        intake=Count("pk", filter=Q(email__contains="+in")),
        warmup_baseline=Count("pk", filter=Q(email__contains="+wb")),
        warmup_intake=Count("pk", filter=Q(email__contains="+wi")),
        intake_converted_twice=Count("pk", filter=Q(email__contains="+in", conversion_count=2)),
    )
    submissions = Submission.objects.aggregate(
        total=Count("pk"), processed=Count("pk", filter=Q(status=SubmissionStatus.PROCESSED)),
        created_lead=Count("pk", filter=Q(created_lead=True)),
    )
    activities = Activity.objects.filter(type=ActivityType.FORM_SUBMIT).count()
    checks = {
        "baseline leads": (leads["baseline"], sent["baseline"]),
        "intake leads": (leads["intake"], sent["intake"]),
        "warm-up leads (baseline)": (leads["warmup_baseline"], sent["warmup_baseline"]),
        "warm-up leads (intake)": (leads["warmup_intake"], sent["warmup_intake"]),
        "intake leads converted twice": (leads["intake_converted_twice"], sent["repeat"]),
        "submissions": (submissions["total"], sent["intake"] + sent["repeat"] + sent["warmup_intake"]
                        + sent["warmup_repeat"]),
        "submissions processed": (submissions["processed"], submissions["total"]),
        "submissions that created a lead": (submissions["created_lead"], sent["intake"] + sent["warmup_intake"]),
        "form-submit activities": (activities, submissions["total"]),
    }
    extra: dict[str, Any] = {}
    try:  # what the desk does after intake commits, if it is installed
        from scoring.models import LeadScore

        extra["intake leads scored"] = LeadScore.objects.filter(lead__email__contains="+in").count()
        checks["intake leads scored"] = (extra["intake leads scored"], sent["intake"] if scored else 0)
    except ImportError:
        pass
    try:  # where routing put the intake leads, if the desk routes
        from sdr_desk.routing.models import LeadAssignment

        extra["intake leads by desk state"] = dict(
            LeadAssignment.objects.filter(lead__email__contains="+in").values_list("state")
            .annotate(n=Count("pk")).order_by("state"))
    except (ImportError, Exception):  # noqa: BLE001 - informational only; the desk's models may be mid-change
        pass
    connections.close_all()
    return {
        "info": extra,
        "checks": {name: {"found": found, "expected": expected, "ok": found == expected}
                   for name, (found, expected) in checks.items()},
        "ok": all(found == expected for found, expected in checks.values()),
    }


def environment(database_url: str) -> dict[str, Any]:
    import django
    import psycopg

    with psycopg.connect(database_url) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        head = ""
    return {"cpus": os.cpu_count(), "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "machine": platform.machine(), "python": platform.python_version(),
            "django": django.get_version(), "postgresql": pg, "git_head": head,
            "note": "working tree may differ from git_head"}


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'endpoint':<34} {'requests':>8} {'req/s':>8} {'drain s':>8} {'p50 ms':>8} {'p90 ms':>8} "
             f"{'p99 ms':>8} {'max ms':>8}  statuses"]
    for row, figures in results.items():
        path, expected = ROWS[row]
        label = f"{row} ({path}, {expected})"
        statuses = " ".join(f"{k}x{v}" for k, v in figures["statuses"].items())
        if figures["errors"]:
            statuses += " errors: " + " ".join(f"{k}x{v}" for k, v in figures["errors"].items())
        lines.append(f"{label:<34} {figures['requests']:>8} {figures['requests_per_second']:>8.1f} "
                     f"{figures['drain_seconds']:>8.2f} {figures['p50_ms']:>8.2f} {figures['p90_ms']:>8.2f} {figures['p99_ms']:>8.2f} "
                     f"{figures['max_ms']:>8.2f}  {statuses}")
    return "\n".join(lines)


# --- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="POSTs per row (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="server processes (default: one per CPU)")
    parser.add_argument("--server", choices=("uvicorn", "daphne"), default="uvicorn",
                        help="the ASGI server: uvicorn (what the desk runs) or daphne")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per row (default 4)")
    parser.add_argument("--warmup", type=int, default=40, help="warm-up POSTs per row and server (default 40)")
    parser.add_argument("--conn-max-age", type=int, default=0,
                        help="CONN_MAX_AGE for the servers (default 0, the project's default: under ASGI every "
                             "request runs in a new thread, so a kept connection is never reused; see README)")
    parser.add_argument("--db-pool", action="store_true",
                        help="DATABASE_POOL=1: psycopg's connection pool (needs psycopg_pool, psycopg[pool])")
    parser.add_argument("--desk", action="store_true",
                        help="seed the demo desk's teams and reps first (manage.py seed_demo --leads 0), so that "
                             "routing assigns leads to reps; without it routing finds no team and queues them")
    parser.add_argument("--without-hand-on", action="store_true",
                        help="what-if: switch off the after-commit receivers (scoring, routing) in the servers, "
                             "to price intake's own work; not how the desk runs")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (its name is printed)")
    args = parser.parse_args()
    if min(args.requests, args.concurrency, args.workers, args.rounds) < 1 or args.requests < args.rounds:
        parser.error("--requests, --concurrency, --workers and --rounds must be positive, requests >= rounds")

    rng = random.Random(args.seed)
    stamp = datetime.now(UTC)
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    servers: list[Server] = []
    client: Client | None = None
    watch: ConnectionWatch | None = None
    log_dir = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    database_url = database_create()
    env = bench_env(database_url, args.conn_max_age, args.db_pool, hand_on=not args.without_hand_on)
    ok = False
    try:
        migrate(env)
        if args.desk:
            desk_seed(env)
        django_setup(env)
        raw_key = api_key_create()
        servers = [Server(env, log_dir, i, args.server) for i in range(args.workers)]
        for server in servers:
            server.wait_ready()
        client = Client([s.port for s in servers], args.concurrency, raw_key)
        print(f"{args.workers} {args.server} worker(s) on ports {', '.join(str(s.port) for s in servers)}; "
              f"{args.concurrency} client threads; {args.requests} POSTs per row in {args.rounds} interleaved rounds; "
              f"{os.cpu_count()} CPUs (load average {load_at_start[0]:.1f} before); database connections: "
              f"{'pool' if args.db_pool else f'CONN_MAX_AGE={args.conn_max_age}'}"
              f"{'; demo desk seeded' if args.desk else ''}"
              f"{'; WHAT-IF: after-commit scoring and routing switched off' if args.without_hand_on else ''}",
              flush=True)

        # Warm-up: every server imports, connects and compiles the scoring rules before anything is timed.
        warm = args.warmup * args.workers
        warm_intake = encode(payloads_make("wi", warm, rng))
        for phase in (Phase("baseline", encode(payloads_make("wb", warm, rng))), Phase("intake", warm_intake),
                      Phase("repeat", warm_intake)):
            client.run(phase, servers)
            bad = {k: v for k, v in phase.statuses.items() if k != phase.expected}
            if bad or phase.errors:
                raise RuntimeError(f"warm-up of {phase.row} answered {dict(phase.statuses)} {dict(phase.errors)}: "
                                   f"{phase.samples}\n{servers[0].log_tail()}")

        baseline_bodies = encode(payloads_make("bl", args.requests, rng))
        intake_payloads = payloads_make("in", args.requests, rng)
        intake_bodies = encode(intake_payloads)
        phases: dict[str, list[Phase]] = {row: [] for row in ROWS}
        watch = ConnectionWatch()
        watch.start()
        for r in range(args.rounds):
            part = slice(r * args.requests // args.rounds, (r + 1) * args.requests // args.rounds)
            order = ["baseline", "intake"] if r % 2 == 0 else ["intake", "baseline"]
            repeat = intake_bodies[part]
            repeat = rng.sample(repeat, len(repeat))  # the same emails again, in another order
            for row in [*order, "repeat"]:
                bodies = {"baseline": baseline_bodies[part], "intake": intake_bodies[part], "repeat": repeat}[row]
                phase = client.run(Phase(row, bodies), servers)
                phases[row].append(phase)
                print(f"  round {r + 1}/{args.rounds} {row:<8} {len(bodies) / (phase.seconds + phase.drain_seconds):8.1f}"
                      f" req/s ({len(bodies) / phase.seconds:.1f} answered/s, then {phase.drain_seconds:.2f} s "
                      f"until the servers were idle)", flush=True)
        client.close()
        connections_seen = watch.stop()

        results = {row: summary(ps) for row, ps in phases.items()}
        base = results["baseline"]
        compared = {row: ratios(results[row], base) for row in ("intake", "repeat")}
        server_errors = sum(v for figures in results.values() for k, v in figures["statuses"].items()
                            if k.startswith("5"))
        unexpected = {row: {k: v for k, v in figures["statuses"].items() if int(k) != ROWS[row][1]}
                      for row, figures in results.items()}
        transport_errors = sum(sum(f["errors"].values()) for f in results.values())

        print()
        print(table(results))
        print("req/s counts until the servers were idle again (work after the response included); drain s: "
              "how long after the last response that took. Latency: as the client saw it.")
        print()
        for row, ratio in compared.items():
            verdict = "MET" if ratio["goal_met"] else "NOT MET"
            print(f"{row} / baseline: throughput {ratio['throughput']:.2f}x "
                  f"({ratio['throughput_slowdown']:.2f}x slower), p50 {ratio['p50']:.2f}x, p99 {ratio['p99']:.2f}x"
                  f"  -> goal (within {GOAL:g}x on all three): {verdict}")

        sent = {row: results[row]["statuses"].get(str(ROWS[row][1]), 0) for row in ROWS}
        sent.update(warmup_baseline=warm, warmup_intake=warm, warmup_repeat=warm)
        died = [s for s in servers if s.process.poll() is not None]
        for server in servers:  # the servers are idle; stopping them frees their connections for the check
            server.stop()
        killed = sum(s.log_path.read_text(errors="replace").count("took too long to shut down") for s in servers)
        check = database_check(sent, scored=not args.without_hand_on)
        print()
        for name, item in check["checks"].items():
            mark = "ok " if item["ok"] else "BAD"
            print(f"  [{mark}] {name}: {item['found']} (expected {item['expected']})")
        for name, value in check["info"].items():
            if not name.startswith("intake leads scored"):
                print(f"  [info] {name}: {value}")
        print(f"  [{'ok ' if not server_errors else 'BAD'}] 5xx responses: {server_errors}")
        print(f"  [{'ok ' if not transport_errors else 'BAD'}] connection errors: {transport_errors}")
        print(f"  [info] PostgreSQL connections to {BENCH_DB} during the run: peak {connections_seen['peak']}, "
              f"median {connections_seen['median']}; waiting for a lock: peak "
              f"{connections_seen['peak_waiting_for_lock']}; idle in transaction: peak "
              f"{connections_seen['peak_idle_in_transaction']}"
              + (f"; sampling stopped: {connections_seen['error']}" if connections_seen["error"] else ""))
        for row, bad in unexpected.items():
            if bad:
                print(f"  [BAD] {row}: unexpected statuses {bad}: {results[row]['unexpected_samples']}")
        print(f"  [{'ok ' if not killed else 'BAD'}] requests daphne cancelled because their work ran on more than "
              f"10 s after the response (\"took too long to shut down\"): {killed}")
        ok = (check["ok"] and not server_errors and not transport_errors and not any(unexpected.values())
              and not died and not killed)
        for server in died:
            print(f"  [BAD] daphne on port {server.port} died:\n{server.log_tail()}")

        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        out = RESULTS_DIR / f"intake-{stamp.strftime('%Y%m%dT%H%M%SZ')}.json"
        out.write_text(json.dumps({
            "bench": "intake",
            "at": stamp.isoformat(timespec="seconds"),
            "config": {"requests": args.requests, "concurrency": args.concurrency, "workers": args.workers,
                       "rounds": args.rounds, "warmup_per_server": args.warmup, "seed": args.seed,
                       "server": args.server, "settings": SETTINGS, "debug": False,
                       "conn_max_age": args.conn_max_age, "db_pool": args.db_pool, "desk": args.desk,
                       "hand_on": not args.without_hand_on},
            "environment": {**environment(database_url), "load_average_at_start": load_at_start},
            "results": results,
            "ratios_against_baseline": compared,
            "goal": f"intake within {GOAL:g}x of the plain create (throughput, p50, p99)",
            "database_connections": connections_seen,
            "verification": {**check, "server_errors": server_errors, "connection_errors": transport_errors,
                             "cancelled_by_daphne": killed, "servers_died": len(died),
                             "unexpected_statuses": unexpected, "ok": ok},
        }, indent=2) + "\n")
        print(f"\nresults: {out.relative_to(ROOT)}; verification {'passed' if ok else 'FAILED'}")
    finally:
        if watch is not None and watch.is_alive():
            watch.stop()
        if client is not None:
            client.close()
        for server in servers:
            server.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up yet
            pass
        if not ok:
            print(f"server logs kept in {log_dir}", file=sys.stderr)
        else:
            shutil.rmtree(log_dir, ignore_errors=True)
        if args.keep:
            print(f"kept database {BENCH_DB}: {database_url}")
        else:
            database_drop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
