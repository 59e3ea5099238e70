"""The percentiles' query forms (arrays per group, FILTER per part, days hashed) against the plainest query:
``percentile_cont`` per group, one fraction at a time, over facts with ties, NULLs, an empty group and several
groups; and the embedded SQLite default's Python path against both."""

from __future__ import annotations

import random
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count

from sdr_desk.reports import selectors as s
from sdr_desk.reports.models import LeadFact
from tests.factories import LeadFactory, SourceFactory, UserFactory
from tests.reports.fixtures import ET, MON_10

pytestmark = pytest.mark.django_db

FRACTIONS = list(s.FRACTIONS.items())


@pytest.fixture
def facts():
    """90 facts over four days, three reps and no rep: few distinct values (ties), a fifth of them NULL, the
    reps' human times NULL for cat (a group with no value), one lead of no rep with a fractional time."""
    pick = random.Random(7)
    source = SourceFactory(name="Website")
    ann, bob, cat = (UserFactory(username=name) for name in ("ann", "bob", "cat"))
    reps = [ann, bob, cat, None]
    for n in range(90):
        rep = reps[n % 3] if n else None  # lead 0 alone has no rep
        arrived = MON_10 + timedelta(hours=pick.choice([0, 1, 9, 20, 30, 50, 75]))

        def seconds(nulls: float = 0.2):
            return None if pick.random() < nulls else float(pick.choice([60, 60, 180, 180, 180, 600, 3600, 86400]))

        LeadFact.objects.create(
            lead=LeadFactory(source=source), arrived_at=arrived, arrival_hour=arrived.hour,
            after_hours=pick.random() < 0.4, rep=rep, source=source,
            response_seconds=seconds() if n else 42.25, response_business_seconds=seconds(),
            system_seconds=seconds(0), human_seconds=None if rep is cat else seconds())
    return LeadFact.objects.all()


def plain(sql: str, params: list | None = None) -> dict:
    """{group: {figure: value}} from ``SELECT <group>, percentile_cont(f) WITHIN GROUP (ORDER BY field)...``."""
    figures = [f"{field}_{name}" for field in s.SPEED_FIELDS for name, _ in FRACTIONS]
    percentiles = ", ".join(f"percentile_cont({fraction}) WITHIN GROUP (ORDER BY {field})"
                            for field in s.SPEED_FIELDS for _, fraction in FRACTIONS)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(percentiles=percentiles, table=LeadFact._meta.db_table), params or [])
        return {row[0]: dict(zip(figures, row[1:], strict=True)) for row in cursor.fetchall()}


def figures_of(row: dict) -> dict:
    return {f"{field}_{name}": row[f"{field}_{name}"] for field in s.SPEED_FIELDS for name, _ in FRACTIONS}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="percentile_cont is PostgreSQL's")
class TestAgainstPlainPercentileCont:
    def test_grouped_by_rep(self, facts):
        expected = plain("SELECT rep_id, {percentiles} FROM {table} GROUP BY rep_id")
        rows = s.grouped(facts, ["rep_id"], {"leads": Count("lead")}, s.SPEED_FIELDS)
        assert [row["rep_id"] for row in rows] == sorted(expected, key=lambda k: (k is None, k))
        assert {row["rep_id"]: figures_of(row) for row in rows} == expected
        cat_row = next(row for row in rows if row["rep_id"] == get_user_model().objects.get(username="cat").pk)
        assert cat_row["human_seconds_p50"] is None  # a group with no value: no percentile

    def test_grouped_by_two_keys(self, facts):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT rep_id, after_hours, percentile_cont(0.9) WITHIN GROUP (ORDER BY response_seconds)"
                           f" FROM {LeadFact._meta.db_table} GROUP BY rep_id, after_hours")
            expected = {(rep, after): p90 for rep, after, p90 in cursor.fetchall()}
        rows = s.grouped(facts, ["rep_id", "after_hours"], {}, ["response_seconds"])
        assert {(row["rep_id"], row["after_hours"]): row["response_seconds_p90"] for row in rows} == expected

    def test_the_summarys_parts(self, facts):
        expected = plain("SELECT 'all', {percentiles} FROM {table} UNION ALL "
                         "SELECT after_hours::text, {percentiles} FROM {table} GROUP BY after_hours")
        everything, in_hours, after = s.speed_summary(facts)
        assert figures_of(everything) == expected["all"]
        assert figures_of(in_hours) == expected["false"]
        assert figures_of(after) == expected["true"]
        assert (everything["leads"], in_hours["leads"] + after["leads"]) == (90, 90)

    def test_a_part_with_no_lead(self, facts):
        facts.update(after_hours=False)
        after = s.speed_summary(facts)[2]
        assert (after["leads"], after["touched"], after["response_mean"], after["response_seconds_p50"]) == (
            0, 0, None, None)

    def test_the_series(self, facts):
        with connection.cursor() as cursor:
            cursor.execute(f"""
                SELECT (arrived_at AT TIME ZONE %s)::date, count(*),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds),
                       percentile_cont(0.9) WITHIN GROUP (ORDER BY response_seconds)
                FROM {LeadFact._meta.db_table} GROUP BY 1 ORDER BY 1""", [ET])
            expected = [{"day": day, "leads": leads, "p50": p50, "p90": p90} for day, leads, p50, p90 in cursor]
        assert len(expected) > 2
        assert s.response_series(facts, ZoneInfo(ET)) == expected
        assert s.response_series(facts.none(), ZoneInfo(ET)) == []


class TestThePythonPath:
    """The embedded SQLite default: the same rows, its percentiles computed by ``percentile_of``."""

    @pytest.mark.parametrize("read", [
        lambda facts: s.speed_summary(facts),
        lambda facts: s.speed_by(facts, "rep"),
        lambda facts: s.grouped(facts, ["after_hours"], {"leads": Count("lead")}, s.SPEED_FIELDS),
        lambda facts: s.response_series(facts, ZoneInfo(ET)),
    ], ids=["summary", "by-rep", "grouped", "series"])
    def test_same_rows(self, facts, monkeypatch, read):
        on_postgres = read(facts)
        monkeypatch.setattr(s.connection, "vendor", "sqlite")
        in_python = read(facts)
        assert len(on_postgres) == len(in_python)
        for pg, py in zip(on_postgres, in_python, strict=True):
            assert pg.keys() == py.keys()
            for key, value in pg.items():
                assert py[key] == (pytest.approx(value) if isinstance(value, float) else value), key
