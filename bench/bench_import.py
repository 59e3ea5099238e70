"""Benchmark the CSV import: a Salesforce-style export of N rows through ``import_leads``.

    python bench/bench_import.py [--rows 100000]

Uses the database in DATABASE_URL; without one it creates (and afterwards
drops) a throwaway PostgreSQL database ``sdr_bench_import`` on
127.0.0.1:5432 and migrates it. Prints rows per second, total seconds and
peak RSS (which stays flat as the file grows: the file is streamed, never
held in memory), and, as a yardstick measured in the same run on the same
database, a plain loop of ``Lead.objects.create`` and a ``bulk_create`` of
as many rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "sdr_bench_import"
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")

HEADER = ["Lead ID", "First Name", "Last Name", "Title", "Company", "Email", "Phone", "Lead Source", "Lead Status",
          "Industry", "Number of Employees", "Country", "State/Province", "City", "Website", "Created Date"]
FIRST = ["Ada", "Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances"]
LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen"]
TITLES = ["CTO", "VP Engineering", "Head of RevOps", "Marketing Manager", "Founder", "Data Engineer", ""]
INDUSTRIES = ["Software", "Fintech", "Healthcare", "Retail", "Manufacturing", "Education"]
PLACES = [("United States", "CA", "San Francisco"), ("Germany", "", "Berlin"), ("UK", "", "London"),
          ("France", "", "Paris"), ("Canada", "ON", "Toronto"), ("US", "NY", "New York")]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def rows_generate(count: int, seed: int = 7) -> Iterator[list[str]]:
    """Realistic mess: 2 % repeat an earlier email (merged), 1 % are bad (rejected), 0.5 % are blank."""
    rng = random.Random(seed)
    domains = max(1, count // 5)  # five people per company on average, so accounts are shared
    for n in range(count):
        roll = rng.random()
        if roll < 0.005:
            yield [""] * len(HEADER)
            continue
        person = rng.randrange(n) if roll < 0.025 and n else n  # a repeat of someone earlier in the file
        domain = f"company{person % domains}.example"
        email = f"person{person}@{domain}"
        country, state, city = PLACES[person % len(PLACES)]
        if 0.025 <= roll < 0.03:
            email = f"person{person} at {domain}"
        elif 0.03 <= roll < 0.035:
            country = "Atlantis"
        yield [
            f"00Q{n:012d}", FIRST[person % 10], LAST[(person // 10) % 10], TITLES[person % len(TITLES)],
            f"Company {person % domains}", email, f"+1 415 555 {person % 10000:04d}", "Web", "Open - Not Contacted",
            INDUSTRIES[person % len(INDUSTRIES)], str(10 + person % 5000), country, state, city,
            f"www.{domain}", "2026-01-15",
        ]


def csv_write(path: Path, count: int) -> int:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in rows_generate(count):
            writer.writerow(row)
    return path.stat().st_size


def database_create() -> str:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def database_drop() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')


def django_setup(database_url: str, media_root: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = database_url
    os.environ["MEDIA_ROOT"] = str(media_root)
    os.environ.setdefault("DEBUG", "0")  # DEBUG keeps every query in memory: not what production does
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "sdr_desk.settings"
    import django

    django.setup()


def baseline_create(count: int) -> float:
    from inbound.models import Lead

    started = time.perf_counter()
    for n in range(count):
        Lead.objects.create(email=f"base{n}@baseline{n % 1000}.example", first_name="Base", last_name="Line",
                            company=f"Baseline {n % 1000}", job_title="CTO", country="US")
    return time.perf_counter() - started


def baseline_bulk(count: int) -> float:
    from inbound.models import Lead

    started = time.perf_counter()
    batch: list[Lead] = []
    for n in range(count):
        batch.append(Lead(email=f"bulk{n}@baseline{n % 1000}.example", first_name="Bulk", last_name="Line",
                          company=f"Baseline {n % 1000}", job_title="CTO", country="US"))
        if len(batch) == 1000:
            Lead.objects.bulk_create(batch)
            batch = []
    Lead.objects.bulk_create(batch)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep-db", action="store_true", help="keep the throwaway database afterwards")
    args = parser.parse_args()

    throwaway = "DATABASE_URL" not in os.environ
    database_url = database_create() if throwaway else os.environ["DATABASE_URL"]
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        django_setup(database_url, Path(tmp) / "media")
        from django.core.management import call_command

        from inbound.models import ImportJob

        try:
            call_command("migrate", verbosity=0)
            path = Path(tmp) / "salesforce_leads.csv"
            started = time.perf_counter()
            size = csv_write(path, args.rows)
            print(f"generated {args.rows:,} rows, {size / 1e6:.1f} MB, in {time.perf_counter() - started:.1f} s")
            rss_before = peak_rss_mb()

            started = time.perf_counter()
            call_command("import_leads", str(path), "--source", "Bench import", stdout=io.StringIO(),
                         stderr=io.StringIO())
            seconds = time.perf_counter() - started
            rss_after = peak_rss_mb()
            job = ImportJob.objects.latest("pk")
            outcomes = job.created_count + job.merged_count + job.rejected_count + job.failed_count
            print(f"import: {seconds:.1f} s, {args.rows / seconds:,.0f} rows/s "
                  f"(created {job.created_count:,}, merged {job.merged_count:,}, rejected {job.rejected_count:,}, "
                  f"failed {job.failed_count:,}, blank {job.next_row - outcomes:,})")
            print(f"peak RSS: {rss_before:.0f} MB before the import, {rss_after:.0f} MB after "
                  f"(file {size / 1e6:.1f} MB)")

            create_seconds = baseline_create(args.rows)
            print(f"baseline Lead.objects.create loop: {create_seconds:.1f} s, {args.rows / create_seconds:,.0f} rows/s"
                  f" -> import takes {seconds / create_seconds:.1f}x")
            bulk_seconds = baseline_bulk(args.rows)
            print(f"baseline bulk_create (1000 a batch): {bulk_seconds:.1f} s, {args.rows / bulk_seconds:,.0f} rows/s"
                  f" -> import takes {seconds / bulk_seconds:.1f}x")
        finally:
            if throwaway and not args.keep_db:
                database_drop()


if __name__ == "__main__":
    main()
