"""Recording a disposition, beside a plain locked row update of the same table in the same run.

    .venv/bin/python bench/bench_dispositions.py [--leads 1000]

Runs against a throwaway PostgreSQL database (``sdr_bench_dispositions`` on
127.0.0.1:5432 unless BENCH_PG_URL names another server), created, migrated and
dropped by this script. Django runs in this process with DEBUG off.

Setup (not measured): one claim-mode team with one rep, ``--leads`` leads each
owned by the rep and already touched (state "working"), made in bulk.

Measured, alternating call by call so load on the machine hits both alike:

- ``lead_disposition`` (the service: lock the assignment, check the code and
  reason, close through ``lead_owner_change``, write the disposition, the
  lead's status and two timeline entries, number the board change);
- ``POST /api/v1/leads/<id>/disposition/`` through Django's test client (the
  whole middleware stack, session sign-in, DRF validation, the same service);
- baseline: in a transaction, ``SELECT ... FOR UPDATE`` the assignment and
  ``UPDATE`` its state (what closing a lead costs at the least).

Prints each as p50 / p99 / mean in ms and as a ratio to the baseline, and the
statements per service call. Results also go to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
DB = "sdr_bench_dispositions"
RESULTS_DIR = ROOT / "bench" / "results"
ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def database(action: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        if action == "reset":
            conn.execute(f"CREATE DATABASE {DB}")


def django_setup() -> None:
    os.environ["DATABASE_URL"] = f"{PG}/{DB}"
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "x" * 40)
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def desk_make(n: int) -> tuple[Any, list[int]]:
    from django.contrib.auth.models import User
    from django.utils import timezone

    from inbound.models import Lead
    from sdr_desk.routing.models import LeadAssignment, LeadState, Rep, Team

    team = Team.objects.create(name="Bench", visibility="claim", is_default=True, business_hours=ALWAYS)
    rep = User.objects.create_user("bench-rep", password="pw")
    Rep.objects.create(user=rep, team=team, working_hours=ALWAYS)
    now = timezone.now()
    leads = Lead.objects.bulk_create([Lead(email=f"buyer{i}@bench{i % 50}.example", first_name=f"B{i}")
                                      for i in range(2 * n)])
    LeadAssignment.objects.bulk_create([
        LeadAssignment(lead=lead, team=team, owner=rep, state=LeadState.WORKING, owned_since=now,
                       sla_started_at=now, first_touch_at=now, response_seconds=1.0)
        for lead in leads])
    # The qualified code requires the checklist: every lead has its required answers, as a qualifying rep's would.
    from sdr_desk.qualification.models import Answer, ChecklistItem

    required = list(ChecklistItem.objects.filter(team=team, required=True))
    Answer.objects.bulk_create([Answer(lead=lead, item=item, text="answered on the call", answered_by=rep)
                                for lead in leads for item in required])
    return rep, [lead.pk for lead in leads]


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {"n": len(seconds), "p50_ms": statistics.median(seconds) * 1000,
            "p99_ms": ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
            "mean_ms": statistics.fmean(seconds) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1000, help="service calls (as many HTTP calls and baselines)")
    parser.add_argument("--review", type=int, default=100_000, help="dispositions behind the review page (0: skip)")
    args = parser.parse_args()
    database("reset")
    django_setup()
    try:
        if args.leads:
            run(args.leads)
        if args.review:
            review(args.review)
    finally:
        from django.db import connections

        connections.close_all()
        database("drop")


def run(n: int) -> None:
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from sdr_desk.dispositions.services import lead_disposition
    from sdr_desk.routing.models import LeadAssignment

    rep, ids = desk_make(n)
    client = Client()
    client.force_login(rep)
    codes = [("bad-fit", "Too small"), ("no-response", ""), ("qualified-meeting-set", "")]

    def baseline(pk: int) -> None:
        with transaction.atomic():
            LeadAssignment.objects.select_for_update().only("pk").get(pk=pk)
            LeadAssignment.objects.filter(pk=pk).update(state="closed")

    service, http, base = [], [], []
    for i in range(n):
        code, reason = codes[i % len(codes)]
        started = time.perf_counter()
        lead_disposition(ids[2 * i], user=rep, code=code, reason=reason)
        service.append(time.perf_counter() - started)

        started = time.perf_counter()
        baseline(ids[2 * i])
        base.append(time.perf_counter() - started)

        started = time.perf_counter()
        response = client.post(f"/api/v1/leads/{ids[2 * i + 1]}/disposition/", {"code": code, "reason": reason},
                               content_type="application/json")
        http.append(time.perf_counter() - started)
        assert response.status_code == 201, response.content

    LeadAssignment.objects.filter(pk=ids[0]).update(state="working")
    from sdr_desk.dispositions.models import Disposition

    Disposition.objects.filter(lead_id=ids[0]).update(is_current=False)
    with CaptureQueriesContext(connection) as queries:
        lead_disposition(ids[0], user=rep, code="duplicate")

    results = {"service": summary(service), "http": summary(http), "baseline": summary(base),
               "statements_per_service_call": len(queries), "when": datetime.now(UTC).isoformat(),
               "load_average": os.getloadavg()}
    b = results["baseline"]
    print(f"{n} of each, alternating; load average {results['load_average'][0]:.1f}")
    print(f"{'':<34}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'x p50':>8}{'x mean':>8}")
    for name, label in (("baseline", "baseline: lock + update a row"), ("service", "lead_disposition"),
                        ("http", "POST .../disposition/ (in-process)")):
        r = results[name]
        print(f"{label:<34}{r['p50_ms']:9.2f}{r['p99_ms']:9.2f}{r['mean_ms']:9.2f}"
              f"{r['p50_ms'] / b['p50_ms']:8.1f}{r['mean_ms'] / b['mean_ms']:8.1f}")
    print(f"statements per lead_disposition: {len(queries)}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"dispositions-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"results: {out.relative_to(ROOT)}")


def review(n: int, *, rounds: int = 100) -> None:
    """The manager's review page over ``n`` dispositions of their team, beside a plain 50-row read."""
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from inbound.models import Lead
    from sdr_desk.dispositions.models import Disposition, DispositionCode
    from sdr_desk.routing.models import Rep, Team

    started = time.perf_counter()
    boss = User.objects.create_user("bench-boss", password="pw")
    boss.groups.add(Group.objects.get(name="Manager"))
    team = Team.objects.create(name="Reviewed", visibility="owned", business_hours=ALWAYS, manager=boss)
    reps = [User.objects.create_user(f"bench-sdr{i}", password="pw") for i in range(10)]
    Rep.objects.bulk_create([Rep(user=rep, team=team, working_hours=ALWAYS) for rep in reps])
    codes = list(DispositionCode.objects.all())
    now = timezone.now()
    batch = 10_000
    for start in range(0, n, batch):
        leads = Lead.objects.bulk_create([Lead(email=f"r{i}@review{i % 500}.example") for i in range(start, min(n, start + batch))])
        Disposition.objects.bulk_create([
            Disposition(lead=lead, code=codes[i % len(codes)], reason="", rep=reps[i % 10], team=team,
                        recorded_by=reps[i % 10], recorded_at=now - timedelta(minutes=i))
            for i, lead in enumerate(leads, start=start)])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum leaves a settled table in (its visibility map too)
    setup_s = time.perf_counter() - started

    client = Client()
    client.force_login(boss)
    client.get("/dispositions/")  # warm: templates, permissions
    page, plain = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        response = client.get("/dispositions/")
        page.append(time.perf_counter() - t)
        assert response.status_code == 200
        t = time.perf_counter()
        list(Disposition.objects.filter(team__manager=boss).order_by("-recorded_at", "-id")[:50])
        plain.append(time.perf_counter() - t)
    # The change-or-reopen forms of a row, asked for on demand (the htmx fragment).
    first = Disposition.objects.filter(team=team).order_by("-recorded_at", "-id").values_list("pk", flat=True)[0]
    actions = []
    for _ in range(rounds):
        t = time.perf_counter()
        response = client.get(f"/dispositions/{first}/actions/", headers={"HX-Request": "true"})
        actions.append(time.perf_counter() - t)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get("/dispositions/?current=on")
    p, b, a = summary(page), summary(plain), summary(actions)
    print(f"\nreview page over {n:,} dispositions (setup {setup_s:.0f} s), {rounds} requests, "
          f"load average {os.getloadavg()[0]:.1f}:")
    print(f"  GET /dispositions/   p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms "
          f"({p['p50_ms'] / b['p50_ms']:.1f}x the baseline's p50, p99 {p['p99_ms'] / b['p99_ms']:.1f}x its p99)")
    print(f"  baseline 50-row read p50 {b['p50_ms']:.1f} ms, p99 {b['p99_ms']:.1f} ms; {len(queries)} queries per page")
    print(f"  GET a row's change-or-reopen fragment: p50 {a['p50_ms']:.1f} ms, p99 {a['p99_ms']:.1f} ms "
          f"({a['p50_ms'] / b['p50_ms']:.1f}x)")
    for q in queries:
        if "dispositions_disposition" in q["sql"]:
            print(f"    {float(q['time']) * 1000:7.1f} ms  {q['sql'][:110]}")


if __name__ == "__main__":
    main()
