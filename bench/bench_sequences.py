"""Sequences benchmark: the due sweep over many active enrolments, against a plain set-based UPDATE.

    .venv/bin/python bench/bench_sequences.py [--enrolments 100000] [--manual 1000,10000]
                                               [--latency-steps 1000] [--keep]

Creates a throwaway PostgreSQL database (``sdr_bench_sequences_<pid>`` on 127.0.0.1:5432 unless
BENCH_ADMIN_DATABASE_URL names another server), migrates it in-process (``bench.settings``, DEBUG off),
and makes one team, one rep who owns every lead, and ``--enrolments`` active enrolments, each with one
pending step run that came due a second ago. Then, in the same run and on the same rows:

- **baseline**: ``UPDATE steprun SET status='due' WHERE status='pending' AND due_at <= now`` (one statement);
- **sweep, automatic email**: ``steps_due_sweep`` with every run an automatic email step (marked due in
  batches of 1,000 under ``FOR UPDATE SKIP LOCKED``; the sends queued, at most one batch per sweep);
- **sweep, manual steps**: for each of ``--manual`` (a comma list), that many of the runs made call steps
  (the rest stay email): each batch's due calls go on the owner's Due today through routing's
  ``leads_next_step_due`` (one locking read, one ``UPDATE``, one timeline ``INSERT``, the board's events
  numbered in one ``INSERT`` and every card rendered and pushed after commit, in this process).

Rows are reset to pending between rows. Goal (the issue): a sweep of 100,000 under 10 s.

Then **due to visible** through the real websocket (goal: p99 under 30 s): a uvicorn server
(``sdr_desk.asgi``, DEBUG off) on the same database and Redis, one rep's board connected to ``/ws/board/``
with a signed-in session (``bench/_ws_client.py``, as ``bench_board.py`` uses it), and ``--latency-steps``
call steps of that rep's leads that all come due at one instant T. The sweep runs as ``tasks.steps_due_watch``
runs it (every ``SWEEP_EVERY`` = 10 s), in two phases: the sweep right at T (the best case), and T just after
a sweep, so the next one comes 10 s later (the worst case). Latency per lead: the card's bytes reaching the
board's event loop (CLOCK_MONOTONIC) minus T. Baseline in the same run: one lead alone, swept at T.
Not in it: Django-Q's scheduler starts the minute's watch task up to ~30 s late (it looks at schedules
every 30 s), which can widen one gap between sweeps (see bench/README.md).

Prints the tables and "met / NOT met"; writes ``bench/results/sequences-<timestamp>.json``.
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


# --- due to visible on the board -----------------------------------------------------------------


def latency_desk(n: int) -> dict:
    """A rep of an owned-mode team (their board joins their own group only), signed in, with ``n`` leads
    each in a sequence whose open run is a call step, not yet due. Each round takes leads of its own: the
    board client counts a second card of a lead as a duplicate."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from inbound.models import Lead
    from sdr_desk.roles import Role
    from sdr_desk.routing.models import LeadAssignment, LeadState, Rep, Team, Visibility
    from sdr_desk.sequences.models import Enrollment, SequenceTemplate, Step, StepRun

    always = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    team = Team.objects.create(name="Latency", business_hours=always, visibility=Visibility.OWNED)
    user = get_user_model().objects.create_user("latency-rep", email="latency@bench.example", first_name="Lat")
    user.groups.add(Group.objects.get(name=Role.SDR))
    Rep.objects.create(user=user, team=team, working_hours=always, capacity=1_000_000)
    template = SequenceTemplate.objects.create(name="Latency")
    call = Step.objects.create(template=template, position=0, channel="call", delay_minutes=0, weekdays=list(range(7)))
    now, later = timezone.now(), timezone.now() + timedelta(days=30)
    leads = Lead.objects.bulk_create([Lead(email=f"latency{i}@late{i}.bench.example", first_name=f"Lat{i}",
                                           company=f"Late {i}") for i in range(n)])
    LeadAssignment.objects.bulk_create([LeadAssignment(lead=lead, team=team, owner=user, state=LeadState.WORKING,
                                                       owned_since=now) for lead in leads])
    enrollments = Enrollment.objects.bulk_create([Enrollment(lead=lead, template=template, started_at=now)
                                                  for lead in leads])
    runs = StepRun.objects.bulk_create([StepRun(enrollment=e, step=call, due_at=later) for e in enrollments])
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return {"session": store.session_key, "runs": [r.pk for r in runs], "leads": [lead.pk for lead in leads]}


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="sdr_desk.settings", SECURE_SSL_REDIRECT="0", LOG_LEVEL="WARNING")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return env


def arrivals_collect(boards, leads: list[int], timeout: float) -> dict[int, float]:
    """{lead: when its card reached the board}: with one board, the client reports each lead as it arrives."""
    from bench.bench_board import now as mono

    wanted, got = set(leads), {}
    deadline = mono() + timeout
    while len(got) < len(wanted) and mono() < deadline:
        event = boards.next_event(deadline - mono())
        if event is None:
            break
        if event.get("event") == "lead" and event["lead"] in wanted and event.get("arrivals"):
            got[event["lead"]] = min(at for _, at in event["arrivals"])
    return got


def latency_round(boards, latency: dict, leads: list[int], runs: list[int], *, wait: float,
                  timeout: float) -> dict:
    """The runs come due at T; a sweep ``wait`` seconds after T (0: at T) puts them on the board."""
    from django.utils import timezone

    from bench.bench_board import dist
    from bench.bench_board import now as mono
    from sdr_desk.routing.models import LeadAssignment
    from sdr_desk.sequences.models import StepRun
    from sdr_desk.sequences.services import steps_due_sweep

    boards.leads.clear()
    LeadAssignment.objects.filter(lead_id__in=latency["leads"]).update(next_step_at=None, next_step="")
    StepRun.objects.filter(pk__in=latency["runs"]).update(status="pending", due_at=timezone.now() + timedelta(days=30))
    due_wall = timezone.now() + timedelta(seconds=1)
    due_mono = mono() + 1.0
    StepRun.objects.filter(pk__in=runs).update(due_at=due_wall)
    if wait:
        steps_due_sweep(now=timezone.now())  # the sweep just before T: nothing yet
    time.sleep(max(0.0, due_mono + wait - mono()))
    swept_at = mono()
    seconds, totals = timed(lambda: steps_due_sweep(now=timezone.now()))
    got = arrivals_collect(boards, leads, timeout)
    latencies = [got[lead] - due_mono for lead in leads if lead in got]
    return {"steps": len(leads), "due": totals["due"], "delivered": len(got), "sweep_seconds": seconds,
            "sweep_after_due_s": swept_at - due_mono, **dist(latencies)}


def latency_run(n: int, *, timeout: float) -> list[dict]:
    import tempfile

    from django.db import connections

    from bench.bench_board import BoardsProcess, Server
    from sdr_desk.sequences.tasks import SWEEP_EVERY

    latency = latency_desk(2 * n + 1)
    connections.close_all()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-sequences-"))
    server = Server(server_env(), log_dir, "A", kind="uvicorn")
    rows = []
    try:
        server.wait_ready()
        boards = BoardsProcess([(server.port, latency["session"])], timeout=30)
        try:
            leads, runs = latency["leads"], latency["runs"]
            one = latency_round(boards, latency, leads[:1], runs[:1], wait=0, timeout=timeout)
            rows.append({"row": "baseline: one step, swept at its due time", **one})
            best = latency_round(boards, latency, leads[1:n + 1], runs[1:n + 1], wait=0, timeout=timeout)
            rows.append({"row": f"{n:,} steps at once, swept at the due time", **best})
            worst = latency_round(boards, latency, leads[n + 1:], runs[n + 1:], wait=SWEEP_EVERY, timeout=timeout)
            rows.append({"row": f"{n:,} steps, due just after a sweep", **worst})
        finally:
            boards.close()
    finally:
        server.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--enrolments", type=int, default=100_000)
    parser.add_argument("--manual", default="1000,10000", help="how many of the due runs are call steps (a list)")
    parser.add_argument("--latency-steps", type=int, default=1000, help="call steps coming due at once (0: skip)")
    parser.add_argument("--latency-timeout", type=float, default=120.0)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    manuals = [int(m) for m in args.manual.split(",") if m.strip() and int(m)]
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
        for manual in manuals:
            reset(desk, manual=manual)
            seconds, totals = timed(lambda: steps_due_sweep(now=timezone.now()))
            rows.append({"row": f"sweep: {manual:,} of them call steps", "due": totals["due"], "manual": manual,
                         "sends_queued": totals["sends"], "seconds": seconds})
        base = rows[0]["seconds"]
        print(f"\n{'row':<34} {'due':>9} {'seconds':>9} {'x baseline':>11} {'runs/s':>10}")
        for row in rows:
            row["ratio"] = row["seconds"] / base
            row["per_second"] = row["due"] / row["seconds"] if row["seconds"] else None
            print(f"{row['row']:<34} {row['due']:>9,} {row['seconds']:>9.2f} {row['ratio']:>11.1f} "
                  f"{row['per_second']:>10,.0f}")
        for row in rows[2:]:
            row["per_manual_ms"] = (row["seconds"] - rows[1]["seconds"]) / row["manual"] * 1000
            print(f"each call step handed to the owner's board ({row['manual']:,}): "
                  f"~{row['per_manual_ms']:.2f} ms more")
        sweep = rows[1]["seconds"] * 100_000 / max(args.enrolments, 1)
        met = sweep < GOAL_SECONDS
        print(f"goal: a sweep of 100,000 under {GOAL_SECONDS:.0f} s (automatic emails, scaled: {sweep:.1f} s): "
              f"{'met' if met else 'NOT met'}")
        latency_rows = []
        if args.latency_steps:
            StepRun.objects.update(status="done")  # the big rows out of the way: only the latency rep's runs
            latency_rows = latency_run(args.latency_steps, timeout=args.latency_timeout)
            print(f"\n{'due to visible on the board':<44} {'steps':>6} {'shown':>6} {'sweep s':>8} "
                  f"{'p50 s':>7} {'p99 s':>7} {'max s':>7}")
            for row in latency_rows:
                print(f"{row['row']:<44} {row['steps']:>6,} {row['delivered']:>6,} {row['sweep_seconds']:>8.2f} "
                      f"{(row['p50_ms'] or 0) / 1000:>7.2f} {(row['p99_ms'] or 0) / 1000:>7.2f} "
                      f"{(row['max_ms'] or 0) / 1000:>7.2f}")
            base_p99 = latency_rows[0]["p99_ms"] or float("nan")
            for row in latency_rows:
                row["p99_x_baseline"] = (row["p99_ms"] or float("nan")) / base_p99
            worst = latency_rows[-1]
            ok = worst["delivered"] == worst["steps"] and (worst["p99_ms"] or 1e12) < 30_000
            print(f"goal: due to visible p99 under 30 s ({worst['row']}): {'met' if ok else 'NOT met'}")
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        (RESULTS_DIR / f"sequences-{stamp}.json").write_text(json.dumps(
            {"enrolments": args.enrolments, "manual": manuals, "rows": rows, "latency": latency_rows,
             "load": os.getloadavg(), "cpus": os.cpu_count()}, indent=2))
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            database_drop()


if __name__ == "__main__":
    sys.exit(main())
