"""The reports on a big data set: seed_bulk's own time, each report's server time and queries, the rollup refresh.

    .venv/bin/python bench/bench_reports.py [--leads 100000] [--reuse] [--keep] [--requests 20] [--seed 1]

Runs against its own PostgreSQL database, ``sdr_bench_reports_<leads>`` on 127.0.0.1:5432 unless
BENCH_PG_URL names another server. Without ``--reuse`` the database is made afresh, migrated and seeded
with ``seed_bulk`` (timed: that is the figure for bench/README.md); with ``--reuse`` an existing one with
at least ``--leads`` leads is kept and not seeded again (a 1 M seed takes minutes). ``--keep`` keeps the
database afterwards (``--reuse`` implies it). Django runs in this process with DEBUG off.

Measured, in this order:

- baseline: ``SELECT count(*) FROM inbound_lead``, the least a report over the leads costs;
- each URL of ``REPORT_URLS`` and its ``?format=csv``, as a manager and as marketing (Django's test
  client, in-process: server time without the network), ``--requests`` times after two warm-ups:
  p50 / p99 in ms, each as a ratio to the baseline's p50, the status and the number of queries; and
  ``EXPLAIN (ANALYZE, BUFFERS)`` of the slowest query each page ran;
- ``call_command("reports_refresh", full=True)`` and an incremental ``reports_refresh``.

A URL that does not resolve, or a command that does not exist, is skipped with a line saying so: the
reports app may not be merged yet. Results also go to ``bench/results/reports-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
RESULTS_DIR = ROOT / "bench" / "results"

REPORT_URLS = ["/reports/", "/reports/funnel/", "/reports/handoff/", "/reports/coaching/"]
# Each page over the default range (the last 30 days) and over a year (seed_bulk spreads leads over 365 days).
RANGES = {"30 d": "", "365 d": "year"}
# Who looks at them: usernames seed_bulk makes (sdr_desk/bulk_setup.py).
VIEWERS = {"manager": "bulk-manager-americas", "marketing": "bulk-marketing"}
REFRESH_COMMAND = "reports_refresh"


def database_name(leads: int) -> str:
    return f"sdr_bench_reports_{leads}"


def database(name: str, action: str) -> bool:
    """``exists``: whether it is there; ``reset``: drop and create; ``drop``: drop."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if action == "exists":
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if action == "reset":
            conn.execute(f"CREATE DATABASE {name}")
    return True


def django_setup(name: str) -> None:
    os.environ["DATABASE_URL"] = f"{PG}/{name}"
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {"n": len(seconds), "p50_ms": statistics.median(seconds) * 1000,
            "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
            "mean_ms": statistics.fmean(seconds) * 1000}


def seed(leads: int, seed_value: int) -> dict[str, Any]:
    from django.core.management import call_command

    from sdr_desk.bulk import bulk_seed

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    result = bulk_seed(leads=leads, seed=seed_value, log=print)
    seconds = time.perf_counter() - began
    with_analyze = time.perf_counter()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what a database that lived would have: statistics, a visibility map
    analyze = time.perf_counter() - with_analyze
    print(f"seed_bulk --leads {leads}: {seconds:.1f}s (then VACUUM ANALYZE {analyze:.1f}s); {result.counts}")
    return {"seconds": seconds, "vacuum_analyze_seconds": analyze, "counts": result.counts,
            "stages": [(label, round(took, 2)) for label, took in result.stages]}


def baseline(requests: int) -> dict[str, float]:
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for _ in range(requests + 2):
            began = time.perf_counter()
            cursor.execute("SELECT count(*) FROM inbound_lead")
            cursor.fetchone()
            times.append(time.perf_counter() - began)
    return summary(times[2:])


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def page(client: Any, url: str, requests: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        client.get(url)
    times, status, slowest = [], None, None
    queries = 0
    for n in range(requests):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - began)
        status = response.status_code
        if n == 0:
            queries = len(captured)
            timed = [q for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(("SELECT", "WITH"))]
            if timed:
                slowest = max(timed, key=lambda q: float(q["time"]))
    return {"status": status, "queries": queries, **summary(times),
            "slowest_query": slowest["sql"] if slowest else None,
            "slowest_query_ms": float(slowest["time"]) * 1000 if slowest else None}


def reports(requests: int, base: dict[str, float]) -> list[dict[str, Any]]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import Resolver404, resolve

    rows = []
    users = {role: get_user_model().objects.filter(username=name).first() for role, name in VIEWERS.items()}
    print(f"\n{'report':<60}{'as':<11}{'status':>7}{'queries':>8}{'p50 ms':>9}{'p99 ms':>9}{'x base':>8}")
    for path in REPORT_URLS:
        try:
            resolve(path)
        except Resolver404:
            print(f"{path:<60}skipped: the URL does not resolve (the reports app is not merged yet)")
            rows.append({"url": path, "skipped": "no such URL"})
            continue
        from datetime import timedelta

        from django.utils import timezone

        today = timezone.localdate()
        year = f"since={today - timedelta(days=364)}&until={today}"
        queries = [RANGES_QUERY.get(r, year) for r in RANGES.values()]
        for url in [f"{path}?{q}" if q else path for q in queries] + [
                f"{path}?{q}&format=csv" if q else f"{path}?format=csv" for q in queries]:
            for role, user in users.items():
                if user is None:
                    print(f"{url:<60}{role:<11}skipped: no user {VIEWERS[role]} (seed with seed_bulk)")
                    continue
                client = Client()
                client.force_login(user)
                result = page(client, url, requests)
                ratio = result["p50_ms"] / base["p50_ms"]
                print(f"{url:<60}{role:<11}{result['status']:>7}{result['queries']:>8}{result['p50_ms']:9.1f}"
                      f"{result['p99_ms']:9.1f}{ratio:8.1f}")
                if result["slowest_query"]:
                    result["explain"] = explain(result["slowest_query"])
                rows.append({"url": url, "as": role, **result, "x_baseline_p50": ratio})
    for row in rows:
        if row.get("explain"):
            print(f"\n--- {row['url']} as {row['as']}: slowest query, {row['slowest_query_ms']:.1f} ms ---")
            print(row["slowest_query"][:2000])
            print(row["explain"])
    return rows


RANGES_QUERY = {"": ""}


def refresh() -> dict[str, Any]:
    from django.core.management import call_command, get_commands

    if REFRESH_COMMAND not in get_commands():
        print(f"\n{REFRESH_COMMAND}: skipped: no such command (the reports app is not merged yet)")
        return {"skipped": "no such command"}
    began = time.perf_counter()
    call_command(REFRESH_COMMAND, full=True)
    full = time.perf_counter() - began
    began = time.perf_counter()
    call_command(REFRESH_COMMAND)
    incremental = time.perf_counter() - began
    print(f"\n{REFRESH_COMMAND} full: {full:.2f}s; incremental: {incremental:.2f}s")
    return {"full_seconds": full, "incremental_seconds": incremental}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per URL and viewer")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="use the bench database if seeded already")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    name = database_name(args.leads)
    reused = args.reuse and database(name, "exists")
    if not reused:
        database(name, "reset")
    django_setup(name)
    results: dict[str, Any] = {"leads": args.leads, "database": name, "when": datetime.now(UTC).isoformat()}
    try:
        from inbound.models import Lead

        if reused:
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            have = Lead.objects.count()
            if have < args.leads:
                raise SystemExit(f"{name} has {have:,} leads, fewer than --leads {args.leads:,}: run without --reuse")
            print(f"reusing {name}: {have:,} leads (seed_bulk not run, not timed)")
            results["seed"] = {"reused": True, "leads": have}
        else:
            results["seed"] = seed(args.leads, args.seed)
        base = baseline(args.requests)
        print(f"\nbaseline SELECT count(*) FROM inbound_lead: p50 {base['p50_ms']:.1f} ms, p99 {base['p99_ms']:.1f} ms")
        results["baseline"] = base
        # The facts first (the pages read them), then the pages over them.
        results["refresh"] = refresh()
        results["reports"] = reports(args.requests, base)
        results["load_average"] = os.getloadavg()
    finally:
        from django.db import connections

        connections.close_all()
        if not (args.keep or args.reuse):
            database(name, "drop")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"reports-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
