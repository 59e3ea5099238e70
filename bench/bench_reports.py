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
  client, in-process: server time without the network): once cold (every snapshot deleted first, so each
  figure is computed live), then ``--requests`` times after two warm-ups (slow figures kept as snapshots):
  p50 / p99 in ms, each as a ratio to the baseline's p50, the status and the number of queries; once
  stale (the facts' version moved: the snapshot served, a task queued); and ``EXPLAIN (ANALYZE, BUFFERS)``
  of the slowest query each page ran;
- ``snapshots_warm()`` after the facts moved: every snapshot the pages kept, computed again;
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

REPORT_URLS = ["/reports/", "/reports/funnel/", "/reports/handoff/", "/reports/coaching/", "/reports/leads/"]
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


SYNTHETIC_TEAMS = 4
SYNTHETIC_REPS = 40


def synthetic(facts: int) -> dict[str, Any]:
    """Facts alone, written straight into ``reports_leadfact`` (its lead foreign key dropped in this bench
    database only): the reports' own cost at ``facts`` leads, apart from how long ``seed_bulk`` takes to make
    the raw rows. One year of arrivals in insertion order (as a live desk writes them), every figure spread."""
    from django.core.management import call_command
    from django.db import connection

    from inbound.models import Source
    from sdr_desk.reports.models import LeadFact
    from sdr_desk.roles import Role
    from sdr_desk.routing.models import Rep, Team
    from tests.factories import UserFactory

    call_command("migrate", verbosity=0)
    manager = UserFactory(username=VIEWERS["manager"], first_name="Bench", roles=[Role.MANAGER])
    UserFactory(username=VIEWERS["marketing"], roles=[Role.MARKETING])
    for t in range(SYNTHETIC_TEAMS):
        team = Team.objects.create(name=f"Bench team {t}", time_zone="America/New_York",
                                   manager=manager if t < 2 else None)
        for r in range(SYNTHETIC_REPS // SYNTHETIC_TEAMS):
            Rep.objects.create(user=UserFactory(username=f"bench-rep-{t}-{r}", roles=[Role.SDR]), team=team)
    for i in range(10):
        Source.objects.create(name=f"Bench source {i}")
    table = LeadFact._meta.db_table
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT conname FROM pg_constraint WHERE conrelid = '{table}'::regclass AND contype = 'f' "
                       f"AND conname LIKE '%%lead_id%%'")
        for (name,) in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        cursor.execute(f"""
            INSERT INTO {table} (lead_id, arrived_at, arrival_hour, after_hours, team_id, rep_id, source_id, channel,
                campaign, utm_source, utm_medium, utm_campaign, tier, offered_at, first_touch_at, response_seconds,
                response_business_seconds, system_seconds, system_business_seconds, human_seconds,
                human_business_seconds, bucket, sla_seconds, sla_met, escalated, touches, connected,
                attempts_to_connect, enrolled, sequence_completed, disposition_code_id, outcome, disposition_reason,
                qualified, handed_off, ae_accepted, ae_rejected, rejection_reason, meeting_held, no_show, conversions,
                first_source_id, first_campaign, last_source_id, last_campaign, refreshed_at)
            SELECT g, now() - interval '365 days' + g * (interval '365 days' / %(n)s), (g %% 24)::int, g %% 5 = 0,
                t.first + g %% {SYNTHETIC_TEAMS}, r.first + g %% {SYNTHETIC_REPS}, s.first + g %% 10, 'web_form',
                'c' || (g %% 30), 'google', 'cpc', 'u' || (g %% 20),
                (ARRAY['hand_raiser', 'researcher', 'light', 'none'])[1 + g %% 4], now(),
                CASE WHEN g %% 10 = 0 THEN NULL ELSE now() END,
                CASE WHEN g %% 10 = 0 THEN NULL ELSE (g * 7919 %% 200000)::float8 END,
                CASE WHEN g %% 10 = 0 THEN NULL ELSE (g * 7919 %% 50000)::float8 END, (g %% 60)::float8,
                (g %% 60)::float8, CASE WHEN g %% 10 = 0 THEN NULL ELSE (g * 7919 %% 200000)::float8 END,
                CASE WHEN g %% 10 = 0 THEN NULL ELSE (g * 7919 %% 50000)::float8 END,
                (ARRAY['lt5m', '5-30m', '30-60m', '1-24h', 'gt24h', 'never'])[1 + g %% 6], 300, g %% 3 = 0,
                g %% 17 = 0, (g %% 6)::int, g %% 4 = 0, CASE WHEN g %% 4 = 0 THEN 2 END, g %% 3 = 0, g %% 9 = 0,
                d.first + g %% 7, (ARRAY['qualified', 'nurture', 'disqualified', 'closed'])[1 + g %% 4],
                CASE WHEN g %% 4 = 2 THEN 'Too small' ELSE '' END, g %% 4 = 0, g %% 4 = 0, g %% 8 = 0,
                g %% 8 = 4, CASE WHEN g %% 8 = 4 THEN 'Bad timing' ELSE '' END, g %% 16 = 0, g %% 32 = 1,
                (1 + g %% 3)::int, s.first + g %% 10, 'c' || (g %% 30), s.first + (g + 1) %% 10,
                'c' || ((g + 3) %% 30), now()
            FROM generate_series(1::bigint, %(n)s::bigint) g,
                (SELECT min(id) AS first FROM sdr_desk_team) t,
                (SELECT min(user_id) AS first FROM sdr_desk_rep) r,
                (SELECT min(id) AS first FROM inbound_source) s,
                (SELECT min(id) AS first FROM dispositions_dispositioncode) d
        """, {"n": facts})
    made = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"synthetic facts: {facts:,} rows in {made:.1f}s (then VACUUM ANALYZE)")
    return {"synthetic_facts": facts, "seconds": made}


def baseline(requests: int, table: str = "inbound_lead") -> dict[str, float]:
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for _ in range(requests + 2):
            began = time.perf_counter()
            cursor.execute(f"SELECT count(*) FROM {table}")
            cursor.fetchone()
            times.append(time.perf_counter() - began)
    return summary(times[2:])


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def page(client: Any, url: str, requests: int) -> dict[str, Any]:
    """Cold (no snapshot of any figure: computed live), then ``requests`` timed warm requests (figures kept
    as snapshots, if computing them was slow) after two warm-ups, then one stale request (the facts moved:
    the snapshot is served and a task is queued to compute it again)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    snapshots = _snapshots()
    cold_ms = None
    if snapshots is not None:
        snapshots.objects.all().delete()
        began = time.perf_counter()
        client.get(url)
        cold_ms = (time.perf_counter() - began) * 1000
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
    stale_ms = None
    if snapshots is not None:
        facts_move()
        began = time.perf_counter()
        client.get(url)
        stale_ms = (time.perf_counter() - began) * 1000
    return {"status": status, "queries": queries, **summary(times), "cold_ms": cold_ms, "stale_ms": stale_ms,
            "slowest_query": slowest["sql"] if slowest else None,
            "slowest_query_ms": float(slowest["time"]) * 1000 if slowest else None}


def _snapshots() -> Any:
    try:
        from sdr_desk.reports.models import ReportSnapshot
    except ImportError:
        return None
    return ReportSnapshot


def facts_move() -> None:
    """Bench only: move the facts' version as a refresh that found a changed lead would (the figures stay the
    same; what is timed is serving a stale snapshot and queueing its task)."""
    from sdr_desk.reports.models import RollupState

    state, _ = RollupState.objects.get_or_create(name="facts")
    RollupState.objects.filter(pk=state.pk).update(last_entry_id=state.last_entry_id + 1)


VISITED: list[tuple[Any, str]] = []  # (client, url) of every page timed, for the schedule's run


def snapshots_warm() -> dict[str, Any]:
    """The schedule's run after the facts moved: every snapshot the pages keep, computed again."""
    snapshots = _snapshots()
    if snapshots is None:
        return {"skipped": "no snapshots"}
    from django.db import connection

    from sdr_desk.reports.snapshots import snapshots_warm as warm

    for client, url in VISITED:  # each page timed deleted the one before's: keep them all again
        client.get(url)
    facts_move()
    snapshots.objects.update(refreshing_since=None)
    kept = snapshots.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_q_ormq")  # the stale requests' queued tasks: no cluster runs here
    began = time.perf_counter()
    warmed = warm(budget_seconds=3600)
    seconds = time.perf_counter() - began
    print(f"\nsnapshots_warm after the facts moved: {warmed.refreshed} of {kept} snapshots computed again "
          f"in {seconds:.1f}s")
    return {"snapshots": kept, "refreshed": warmed.refreshed, "seconds": seconds}


def reports(requests: int, base: dict[str, float]) -> list[dict[str, Any]]:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import Resolver404, resolve

    rows = []
    users = {role: get_user_model().objects.filter(username=name).first() for role, name in VIEWERS.items()}
    print(f"\n{'report':<66}{'as':<11}{'status':>7}{'queries':>8}{'cold ms':>9}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'x base':>8}{'stale ms':>9}")
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
        exports = [] if path == "/reports/leads/" else [  # the leads page has no export
            f"{path}?{q}&format=csv" if q else f"{path}?format=csv" for q in queries]
        for url in [f"{path}?{q}" if q else path for q in queries] + exports:
            for role, user in users.items():
                if user is None:
                    print(f"{url:<60}{role:<11}skipped: no user {VIEWERS[role]} (seed with seed_bulk)")
                    continue
                client = Client()
                client.force_login(user)
                result = page(client, url, requests)
                VISITED.append((client, url))
                ratio = result["p50_ms"] / base["p50_ms"]
                print(f"{url:<66}{role:<11}{result['status']:>7}{result['queries']:>8}{_ms(result['cold_ms'])}"
                      f"{result['p50_ms']:9.1f}{result['p99_ms']:9.1f}{ratio:8.1f}{_ms(result['stale_ms'])}")
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


def _ms(value: float | None) -> str:
    return f"{value:9.1f}" if value is not None else f"{'-':>9}"


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
    parser.add_argument("--synthetic-facts", type=int, default=0, metavar="N",
                        help="skip seed_bulk: write N facts straight into the reports' table and time the pages")
    args = parser.parse_args()
    name = database_name(args.leads) if not args.synthetic_facts else f"sdr_bench_reports_facts_{args.synthetic_facts}"
    reused = args.reuse and database(name, "exists")
    if not reused:
        database(name, "reset")
    django_setup(name)
    results: dict[str, Any] = {"leads": args.leads, "database": name, "when": datetime.now(UTC).isoformat()}
    try:
        from inbound.models import Lead

        if args.synthetic_facts:
            if reused:
                from django.core.management import call_command

                call_command("migrate", verbosity=0)
            results["seed"] = {"reused": True} if reused else synthetic(args.synthetic_facts)
            base = baseline(args.requests, table="reports_leadfact")
            print(f"\nbaseline SELECT count(*) FROM reports_leadfact: p50 {base['p50_ms']:.1f} ms")
            results["baseline"] = base
            results["reports"] = reports(args.requests, base)
            results["snapshots_warm"] = snapshots_warm()
            results["load_average"] = os.getloadavg()
        elif reused:
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            have = Lead.objects.count()
            if have < args.leads:
                raise SystemExit(f"{name} has {have:,} leads, fewer than --leads {args.leads:,}: run without --reuse")
            print(f"reusing {name}: {have:,} leads (seed_bulk not run, not timed)")
            results["seed"] = {"reused": True, "leads": have}
        else:
            results["seed"] = seed(args.leads, args.seed)
        if not args.synthetic_facts:
            base = baseline(args.requests)
            print(f"\nbaseline SELECT count(*) FROM inbound_lead: p50 {base['p50_ms']:.1f} ms, "
                  f"p99 {base['p99_ms']:.1f} ms")
            results["baseline"] = base
            # The facts first (the pages read them), then the pages over them.
            results["refresh"] = refresh()
            results["reports"] = reports(args.requests, base)
            results["snapshots_warm"] = snapshots_warm()
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
