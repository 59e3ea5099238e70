"""Where a lead's intake request spends its time, in one process, without HTTP in between.

    /work/venv/bin/python bench/profile_intake.py [--requests 300] [--desk] [--sql] [--top 25] [--keep]

Companion to ``bench_intake.py``: against a throwaway PostgreSQL database
(``sdr_bench_profile_<pid>``), drives the same requests through Django's test client
(the whole middleware stack, DRF, the after-commit receivers; one persistent
database connection, as a pool would give) and prints:

- milliseconds per request, serially, for the baseline, intake (new lead),
  intake with the after-commit receivers (scoring, routing) switched off, and
  a repeat submission; each as a ratio to the baseline;
- every statement of one request per row, with its time and the stage of the
  intake path that sent it;
- a cProfile of the intake requests summed into those stages, and the top
  functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_intake  # noqa: E402  (payloads and the database helpers)

bench_intake.BENCH_DB = f"sdr_bench_profile_{os.getpid()}"

# Stages of the intake path, innermost last: (label, file path ending, function name).
STAGES = [
    ("whole request, incl. work after the response", "django/test/client.py", "__call__"),
    ("request until the response (middleware, DRF)", "django/core/handlers/base.py", "get_response"),
    ("authentication", "inbound/api_auth.py", "authenticate"),
    ("payload validation", "inbound/payloads.py", "clean_lead_payload"),
    ("store + process (lead_submission_accept)", "inbound/services.py", "lead_submission_accept"),
    ("  lead upsert", "inbound/services.py", "lead_upsert"),
    ("    account (read, or insert on conflict do nothing)", "inbound/services.py", "_account_for"),
    ("    lead row upsert (insert on conflict do update)", "inbound/services.py", "_lead_row_upsert"),
    ("  conversion (activity, pending events, timeline)", "inbound/services.py", "conversion_record"),
    ("    pending events attach", "inbound/services.py", "_pending_attach"),
    ("    timeline insert", "inbound/timeline.py", "timeline_record_many"),
    ("after commit: hand-on receivers", "django/dispatch/dispatcher.py", "send_robust"),
    ("after the response: deferred hand-on", "sdr_desk/handon.py", "_run"),
    ("  scoring (lead_rescore)", "scoring/services.py", "lead_rescore"),
    ("  routing (lead_hand_on_route)", "sdr_desk/routing/engine.py", "lead_hand_on_route"),
    ("    round robin under the team's rep lock", "sdr_desk/routing/engine.py", "_round_robin_commit"),
    ("    board push after routing commits", "sdr_desk/board/live.py", "board_push"),
    ("response body (serializer .data)", "rest_framework/serializers.py", "data"),
    ("plain create (CreateAPIView.create)", "rest_framework/mixins.py", "create"),
]
SQL_STAGE_ORDER = [s[0] for s in STAGES]


def _stage_of_frame(frame: Any) -> str:
    """The innermost stage on the stack."""
    best, best_rank = "other", -1
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename.replace("\\", "/")
        for rank, (label, fragment, name) in enumerate(STAGES):
            if code.co_name == name and filename.endswith(fragment) and rank > best_rank:
                best, best_rank = label, rank
        frame = frame.f_back
    return best


@contextmanager
def sql_log(log: list[tuple[float, str, str]]):
    from django.db import connection

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            log.append((time.perf_counter() - started, _stage_of_frame(sys._getframe(1)), sql))

    with connection.execute_wrapper(wrapper):
        yield log


@contextmanager
def receivers_off():
    """Switch off what runs after intake commits (submission_processed), to price it."""
    from inbound.signals import submission_processed

    saved = list(submission_processed.receivers)
    submission_processed.receivers = []
    submission_processed.sender_receivers_cache.clear()
    try:
        yield
    finally:
        submission_processed.receivers = saved
        submission_processed.sender_receivers_cache.clear()


@contextmanager
def routing_off():
    """Keep scoring, skip routing (where the desk's receiver routes after scoring), to price routing alone."""
    try:
        from sdr_desk.routing import receivers
    except ImportError:
        yield False
        return
    saved = getattr(receivers, "lead_hand_on_route", None)
    if saved is None:
        yield False
        return
    receivers.lead_hand_on_route = lambda *args, **kwargs: None
    try:
        yield True
    finally:
        receivers.lead_hand_on_route = saved


def setup(desk: bool = False) -> str:
    database_url = bench_intake.database_create()
    env = bench_intake.bench_env(database_url, conn_max_age=600, pool=False)
    env["ALLOWED_HOSTS"] += ",testserver"  # the test client's host
    bench_intake.migrate(env)
    if desk:
        bench_intake.desk_seed(env)
    bench_intake.django_setup(env)
    return bench_intake.api_key_create()


def post_all(client: Any, path: str, bodies: list[bytes], headers: dict[str, str], expected: int) -> float:
    """Milliseconds per request."""
    started = time.perf_counter()
    for body in bodies:
        response = client.post(path, body, content_type="application/json", headers=headers)
        if response.status_code != expected:
            raise SystemExit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
    return (time.perf_counter() - started) / len(bodies) * 1000


def stage_times(stats: pstats.Stats, requests: int) -> list[tuple[str, float]]:
    """Cumulative time per stage; for a function that appears under several entries, the outermost."""
    rows = []
    for label, fragment, name in STAGES:
        total = 0.0
        for (filename, _, function), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
            if function == name and filename.replace("\\", "/").endswith(fragment):
                total = max(total, cumulative)
        rows.append((label, total / requests * 1000))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per row (default 300)")
    parser.add_argument("--sql", action="store_true", help="print statements whole, not cut at 110 characters")
    parser.add_argument("--top", type=int, default=25, help="functions to list by own time (default 25)")
    parser.add_argument("--desk", action="store_true", help="seed the demo desk's teams and reps first, as "
                                                             "bench_intake.py --desk does")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    raw = setup(desk=args.desk)
    try:
        from django.test import Client

        client = Client()
        headers = {"Authorization": f"Api-Key {raw}", "User-Agent": "sdr-desk-bench/1"}
        rng = random.Random(11)
        make, enc = bench_intake.payloads_make, bench_intake.encode
        base_url, intake_url = "/bench/plain-leads/", "/api/v1/leads/"

        # warm up: imports, the scoring rules, the key's last_used_at write
        warm = enc(make("wi", 30, rng))
        post_all(client, base_url, enc(make("wb", 30, rng)), headers, 201)
        post_all(client, intake_url, warm, headers, 201)
        post_all(client, intake_url, warm, headers, 200)

        n = args.requests
        bodies = {"bl": enc(make("bl", n, rng)), "in": enc(make("in", n, rng)), "nr": enc(make("nr", n, rng))}
        bodies["so"] = enc(make("so", n, rng))
        ms = dict.fromkeys(["baseline", "intake", "intake, routing off (scoring only)",
                            "intake, after-commit receivers off", "repeat"], 0.0)
        rounds = 4
        for r in range(rounds):  # interleaved, as in the HTTP bench
            part = slice(r * n // rounds, (r + 1) * n // rounds)
            w = (part.stop - part.start) / n
            ms["baseline"] += w * post_all(client, base_url, bodies["bl"][part], headers, 201)
            ms["intake"] += w * post_all(client, intake_url, bodies["in"][part], headers, 201)
            with receivers_off():
                ms["intake, after-commit receivers off"] += w * post_all(client, intake_url, bodies["nr"][part],
                                                                          headers, 201)
            with routing_off() as switched:
                if switched:
                    ms["intake, routing off (scoring only)"] += w * post_all(client, intake_url, bodies["so"][part],
                                                                             headers, 201)
            ms["repeat"] += w * post_all(client, intake_url, bodies["in"][part], headers, 200)

        print(f"serial, in-process (test client, no HTTP server), one kept connection, {n} requests per row:")
        for row, value in ms.items():
            if not value:
                continue
            print(f"  {row:<36} {value:7.2f} ms/request  {value / ms['baseline']:5.2f}x baseline")

        company = [p for p in make("q", 50, rng) if not p["email"].endswith(("gmail.com", "outlook.com", "yahoo.com"))]
        one = enc(company[:1])[0]
        samples: dict[str, list[tuple[float, str, str]]] = {}
        for row, url, body in (("baseline", base_url, enc(make("qb", 1, rng))[0]),
                               ("intake (new lead, company email)", intake_url, one),
                               ("repeat (same email again)", intake_url, one)):
            with sql_log([]) as log:
                client.post(url, body, content_type="application/json", headers=headers)
            samples[row] = log
        print("\nstatements per request (time measured around each execute, in the client process):")
        for row, log in samples.items():
            print(f"  {row:<34} {len(log):3d} statements, {sum(t for t, _, _ in log) * 1000:6.2f} ms")
        for row, log in samples.items():
            print(f"\n  {row}:")
            for seconds, stage, sql in log:
                sql = " ".join(sql.split())
                print(f"    {seconds * 1000:5.2f} ms  {stage.strip():<38} {sql if args.sql else sql[:110]}")

        for row, url, tag, expected in (("intake (new lead)", intake_url, "pr", 201),
                                        ("baseline", base_url, "pb", 201)):
            profile_bodies = enc(make(tag, n, rng))
            profiler = cProfile.Profile()
            profiler.enable()
            post_all(client, url, profile_bodies, headers, expected)
            profiler.disable()
            stats = pstats.Stats(profiler)
            print(f"\n{row} under cProfile, {n} requests; cumulative ms/request per stage "
                  f"(cProfile inflates Python time about 2-3x: read the shares):")
            whole = None
            for label, per in stage_times(stats, n):
                if per:
                    whole = whole or per
                    print(f"  {per:7.2f} ms  {per / whole * 100:5.1f} %  {label}")
            if row.startswith("intake"):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
                print(f"\n  top {args.top} functions by own time:")
                print("\n".join("  " + line for line in out.getvalue().splitlines()[6:] if line.strip()))
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            bench_intake.database_drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
