"""Sequences benchmark: the due sweep over many active enrolments, against a plain set-based UPDATE.

    .venv/bin/python bench/bench_sequences.py [--enrolments 100000] [--manual 10000] [--keep]

Creates a throwaway PostgreSQL database (``sdr_bench_sequences_<pid>`` on 127.0.0.1:5432 unless
BENCH_ADMIN_DATABASE_URL names another server), migrates it in-process (``bench.settings``, DEBUG off),
and makes one team, one rep who owns every lead, and ``--enrolments`` active enrolments, each with one
pending step run that came due a second ago. Then, in the same run and on the same rows:

- **baseline**: ``UPDATE steprun SET status='due' WHERE status='pending' AND due_at <= now`` (one statement);
- **sweep, automatic email**: ``steps_due_sweep`` with every run an automatic email step (marked due in
  batches of 1,000 under ``FOR UPDATE SKIP LOCKED``; the sends queued, at most one batch per sweep);
- **sweep, manual steps**: ``--manual`` of the runs made call steps (the rest stay email): each due call
  goes on the owner's Due today through routing's ``lead_next_step_due`` (a locked row, a timeline entry,
  a board event after commit) -- the per-lead part of the sweep.

Rows are reset to pending between rows. Goal (the issue): a sweep of 100,000 under 10 s. Prints the
table and "met / NOT met"; writes ``bench/results/sequences-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS_DIR = ROOT / "bench" / "results"
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_DB = f"sdr_bench_sequences_{os.getpid()}"
GOAL_SECONDS = 10.0


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


def django_setup(url: str) -> None:
    os.environ.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "bench.settings", "DEBUG": "0",
                       "SECRET_KEY": "bench-" + "x" * 50, "ALLOWED_HOSTS": "127.0.0.1,localhost",
                       "DATABASE_POOL": "0", "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")})
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def desk_make(n: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from inbound.models import Lead
    from sdr_desk.routing.models import LeadAssignment, LeadState, Rep, Team
    from sdr_desk.sequences.models import Enrollment, SequenceTemplate, Step, StepRun

    always = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    team = Team.objects.create(name="Bench", business_hours=always)
    rep = get_user_model().objects.create_user("rep", email="rep@bench.example", first_name="Rep")
    Rep.objects.create(user=rep, team=team, working_hours=always)
    template = SequenceTemplate.objects.create(name="Bench")
    email = Step.objects.create(template=template, position=0, channel="email", mode="automatic", subject="Hi",
                                body="Hello {first_name}", delay_minutes=0, weekdays=list(range(7)))
    call = Step.objects.create(template=template, position=1, channel="call", delay_business_days=1,
                               weekdays=list(range(7)))
    now = timezone.now()
    chunk = 10_000
    for start in range(0, n, chunk):
        leads = Lead.objects.bulk_create([Lead(email=f"lead{i}@co{i % 7919}.bench.example", first_name=f"L{i}")
                                          for i in range(start, min(n, start + chunk))])
        LeadAssignment.objects.bulk_create([LeadAssignment(lead=lead, team=team, owner=rep, state=LeadState.WORKING,
                                                           owned_since=now) for lead in leads])
        enrollments = Enrollment.objects.bulk_create([Enrollment(lead=lead, template=template, started_at=now)
                                                      for lead in leads])
        StepRun.objects.bulk_create([StepRun(enrollment=e, step=email, due_at=now) for e in enrollments])
    return {"email": email, "call": call, "rep": rep}


def reset(desk: dict, *, manual: int) -> None:
    from django.db import connection
    from django.utils import timezone
    from django_q.models import OrmQ

    from sdr_desk.routing.models import LeadAssignment
    from sdr_desk.sequences.models import StepRun

    due = timezone.now() - timedelta(seconds=1)
    StepRun.objects.update(status="pending", step=desk["email"], due_at=due, note="")
    if manual:
        ids = list(StepRun.objects.order_by("id").values_list("id", flat=True)[:manual])
        StepRun.objects.filter(id__in=ids).update(step=desk["call"])
    LeadAssignment.objects.update(next_step_at=None, next_step="")
    OrmQ.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sequences_steprun")


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--enrolments", type=int, default=100_000)
    parser.add_argument("--manual", type=int, default=10_000, help="how many of the due runs are call steps")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    url = database_create()
    try:
        django_setup(url)
        from django.utils import timezone

        from sdr_desk.sequences.models import StepRun
        from sdr_desk.sequences.services import steps_due_sweep

        made, desk = timed(lambda: desk_make(args.enrolments))
        print(f"made {args.enrolments:,} active enrolments in {made:.1f} s")
        rows = []
        reset(desk, manual=0)
        seconds, count = timed(lambda: StepRun.objects.filter(status="pending", due_at__lte=timezone.now())
                               .update(status="due"))
        rows.append({"row": "baseline: one UPDATE", "due": count, "seconds": seconds})
        reset(desk, manual=0)
        seconds, totals = timed(lambda: steps_due_sweep(now=timezone.now()))
        rows.append({"row": "sweep: automatic emails", "due": totals["due"], "sends_queued": totals["sends"],
                     "seconds": seconds})
        if args.manual:
            reset(desk, manual=args.manual)
            seconds, totals = timed(lambda: steps_due_sweep(now=timezone.now()))
            rows.append({"row": f"sweep: {args.manual:,} of them call steps", "due": totals["due"],
                         "sends_queued": totals["sends"], "seconds": seconds,
                         "per_manual_ms": None})
        base = rows[0]["seconds"]
        print(f"\n{'row':<34} {'due':>9} {'seconds':>9} {'x baseline':>11} {'runs/s':>10}")
        for row in rows:
            row["ratio"] = row["seconds"] / base
            row["per_second"] = row["due"] / row["seconds"] if row["seconds"] else None
            print(f"{row['row']:<34} {row['due']:>9,} {row['seconds']:>9.2f} {row['ratio']:>11.1f} "
                  f"{row['per_second']:>10,.0f}")
        if args.manual and len(rows) == 3:
            extra = rows[2]["seconds"] - rows[1]["seconds"]
            rows[2]["per_manual_ms"] = extra / args.manual * 1000
            print(f"\neach call step handed to the owner's board costs ~{rows[2]['per_manual_ms']:.2f} ms more "
                  f"(at 100,000: ~{rows[2]['per_manual_ms'] * 100:.0f} s)")
        sweep = rows[1]["seconds"] * 100_000 / max(args.enrolments, 1)
        met = sweep < GOAL_SECONDS
        print(f"goal: a sweep of 100,000 under {GOAL_SECONDS:.0f} s (automatic emails, scaled: {sweep:.1f} s): "
              f"{'met' if met else 'NOT met'}")
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        (RESULTS_DIR / f"sequences-{stamp}.json").write_text(json.dumps(
            {"enrolments": args.enrolments, "manual": args.manual, "rows": rows, "load": os.getloadavg()}, indent=2))
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_drop()


if __name__ == "__main__":
    sys.exit(main())
