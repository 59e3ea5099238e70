"""Scoring benchmark: one lead's rescore inside intake, and the nightly bulk rescoring.

    python bench/bench_scoring.py [--leads 100000] [--singles 500] [--keep]

Runs against a throwaway PostgreSQL database (``sdr_bench_scoring`` on
127.0.0.1:5432 unless BENCH_PG_URL says otherwise). Prints each figure beside
a baseline measured in the same run:

- single: ``lead_rescore`` (what intake runs after commit) against a plain
  read-and-update of the same lead row; goal: scoring adds under 5 ms.
- bulk: ``leads_rescore_bulk`` over every lead against just reading the same
  leads and activities in the same batches; goal: 100,000 leads in under 60 s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
DB = "sdr_bench_scoring"


def database_reset(keep: bool) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")


def django_setup() -> None:
    os.environ["DATABASE_URL"] = f"{PG}/{DB}"
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdr_desk.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def leads_make(count: int) -> None:
    """Bulk-insert leads with 1-6 activities each over the last 60 days (setup, not measured)."""
    from django.utils import timezone

    from inbound.models import Account, Activity, Lead, Source

    rng = random.Random(7)
    source = Source.objects.create(name="Bench")
    titles = ["VP Sales", "Head of RevOps", "Marketing Manager", "Student", "CEO", "Sales Ops Analyst", ""]
    industries = ["Software", "Fintech", "Retail", "Manufacturing", "Healthcare", ""]
    countries = ["US", "GB", "DE", "FR", "IN", "BR", ""]
    form_types = ["demo_request", "pricing", "trial_signup", "content_download", "webinar", "newsletter", "contact"]
    events = ["page_view", "pricing_page_view", "webinar_attended", "trial_milestone", "email_reply"]
    now = timezone.now()
    batch = 5000
    for start in range(0, count, batch):
        leads = [
            Lead(email=f"lead{i}@company{i % 20000}.example", job_title=rng.choice(titles),
                 industry=rng.choice(industries), country=rng.choice(countries),
                 employee_count=rng.choice([None, 5, 40, 120, 800, 5000]), source=source,
                 created_at=now - timedelta(days=rng.uniform(0, 60)))
            for i in range(start, min(start + batch, count))
        ]
        Lead.objects.bulk_create(leads)
        activities = []
        for lead in leads:
            for _ in range(rng.randint(1, 6)):
                if rng.random() < 0.5:
                    activities.append(Activity(lead=lead, type="form_submit", form_type=rng.choice(form_types),
                                               occurred_at=now - timedelta(days=rng.uniform(0, 60)), source=source))
                else:
                    activities.append(Activity(lead=lead, type=rng.choice(events), url="/pricing", name="m",
                                               occurred_at=now - timedelta(days=rng.uniform(0, 60))))
        Activity.objects.bulk_create(activities)
    del Account


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_single(samples: int) -> dict[str, float]:
    from django.db import transaction
    from django.utils import timezone

    from inbound.models import Lead
    from scoring.services import lead_rescore

    ids = list(Lead.objects.order_by("?").values_list("pk", flat=True)[:samples])
    for pk in ids[:20]:  # warm caches and the compiled rule set
        lead_rescore(pk)
    scoring, baseline = [], []
    for pk in ids:
        started = time.perf_counter()
        with transaction.atomic():
            lead = Lead.objects.select_for_update().get(pk=pk)
            Lead.objects.filter(pk=pk).update(updated_at=timezone.now())
        baseline.append(time.perf_counter() - started)
        started = time.perf_counter()
        lead_rescore(pk, trigger="bench")
        scoring.append(time.perf_counter() - started)
    del lead
    return {
        "scoring_p50_ms": statistics.median(scoring) * 1000,
        "scoring_p99_ms": percentile(scoring, 0.99) * 1000,
        "baseline_p50_ms": statistics.median(baseline) * 1000,
        "baseline_p99_ms": percentile(baseline, 0.99) * 1000,
    }


def bench_bulk() -> dict[str, float]:
    from collections import defaultdict

    from inbound.models import Activity, Lead
    from scoring.services import ACTIVITY_FIELDS, FACT_FIELDS, leads_rescore_bulk

    started = time.perf_counter()
    last, rows_read = 0, 0
    while True:
        rows = list(Lead.objects.order_by("pk").filter(pk__gt=last).values(*FACT_FIELDS)[:2000])
        if not rows:
            break
        last = rows[-1]["id"]
        grouped: dict[int, list] = defaultdict(list)
        for a in Activity.objects.filter(lead_id__in=[r["id"] for r in rows]).values(*ACTIVITY_FIELDS):
            grouped[a["lead_id"]].append(a)
        rows_read += len(rows)
    read_only = time.perf_counter() - started

    started = time.perf_counter()
    first = leads_rescore_bulk(open_only=False, trigger="bench")
    first_run = time.perf_counter() - started
    started = time.perf_counter()
    second = leads_rescore_bulk(open_only=False, trigger="decay", now=None)
    second_run = time.perf_counter() - started
    return {"leads": first["scored"], "read_only_s": read_only, "first_run_s": first_run,
            "rescore_s": second_run, "rows_read": rows_read, "changed_second": second["changed"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--singles", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    database_reset(args.keep)
    django_setup()
    started = time.perf_counter()
    leads_make(args.leads)
    print(f"setup: {args.leads:,} leads with activities in {time.perf_counter() - started:.1f} s")

    single = bench_single(args.singles)
    added = single["scoring_p50_ms"]
    print("\nsingle lead (what intake runs after commit), n =", args.singles)
    print(f"  lead_rescore        p50 {single['scoring_p50_ms']:6.2f} ms   p99 {single['scoring_p99_ms']:6.2f} ms")
    print(f"  baseline row update p50 {single['baseline_p50_ms']:6.2f} ms   p99 {single['baseline_p99_ms']:6.2f} ms")
    print(f"  ratio p50 {single['scoring_p50_ms'] / single['baseline_p50_ms']:.1f}x; "
          f"scoring adds {added:.2f} ms (goal < 5 ms: {'met' if added < 5 else 'NOT met'})")

    bulk = bench_bulk()
    print(f"\nbulk rescoring of {bulk['leads']:,} leads")
    print(f"  read leads + activities only  {bulk['read_only_s']:6.1f} s (baseline)")
    print(f"  first scoring (inserts)       {bulk['first_run_s']:6.1f} s  ({bulk['first_run_s'] / bulk['read_only_s']:.1f}x)")
    print(f"  rescoring (updates)           {bulk['rescore_s']:6.1f} s  ({bulk['rescore_s'] / bulk['read_only_s']:.1f}x)"
          f"  {bulk['leads'] / bulk['rescore_s']:,.0f} leads/s")
    worst = max(bulk["first_run_s"], bulk["rescore_s"])
    print(f"  goal: 100,000 in < 60 s: {'met' if worst * 100_000 / bulk['leads'] < 60 else 'NOT met'}")

    if not args.keep:
        from django.db import connections

        connections.close_all()
        import psycopg

        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
