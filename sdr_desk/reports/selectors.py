"""Every figure of the reports, read from the facts (``LeadFact``) through one scope and one filter.

Counts and means are plain grouped aggregates; percentiles are PostgreSQL's ``percentile_cont`` (the
continuous percentile, interpolated like a spreadsheet's PERCENTILE.INC), computed in Python the same way
on the embedded SQLite default so the demo shows the same figures without a server.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.db import connection
from django.db.models import Aggregate, Avg, BooleanField, Count, ExpressionWrapper, FloatField, Func, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from sdr_desk.homes import desk_roles
from sdr_desk.reports.models import Bucket, LeadFact
from sdr_desk.roles import Role
from sdr_desk.routing.models import RepRole, Team

FRACTIONS = {"p50": 0.5, "p90": 0.9, "p95": 0.95}


class Percentiles(Aggregate):
    """``percentile_cont(ARRAY[0.5, 0.9, 0.95]) WITHIN GROUP (ORDER BY expression)``: the three from one sort."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(ARRAY[0.5, 0.9, 0.95]::float8[]) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, **extra: Any) -> None:
        from django.contrib.postgres.fields import ArrayField

        super().__init__(expression, output_field=ArrayField(FloatField()), **extra)


class PercentilesOf(Func):
    """The same three percentiles of an array gathered per group (``ArrayAgg``), sorted in a subquery of their
    own. A grouped query whose aggregates are all plain (counts, means, arrays) hashes its groups: the rows are
    read once and never sorted by the key, where ``Percentiles`` in a GROUP BY makes PostgreSQL sort (or walk an
    index in key order over) every wide row first. The array's aggregate belongs to the outer query (its
    arguments are the outer query's columns), so each group's values are sorted once, alone, as narrow floats."""

    template = ("(SELECT PERCENTILE_CONT(ARRAY[0.5, 0.9, 0.95]::float8[]) WITHIN GROUP (ORDER BY value) "
                "FROM (SELECT unnest(%(expressions)s) AS value) AS group_values)")

    def __init__(self, field: str) -> None:
        from django.contrib.postgres.aggregates import ArrayAgg
        from django.contrib.postgres.fields import ArrayField

        # percentile_cont skips NULLs: leave them out of the arrays.
        values = ArrayAgg(field, filter=Q(**{f"{field}__isnull": False}))
        super().__init__(values, output_field=ArrayField(FloatField()))


def percentile_of(values: list[float], fraction: float) -> float | None:
    """The continuous percentile of ``values`` (sorted or not), as ``percentile_cont`` computes it."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- who sees what -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    facts: QuerySet[LeadFact]
    label: str
    everyone: bool  # marketing, admins: all teams
    teams: tuple[int, ...] = ()  # the teams a manager manages
    rep_id: int | None = None  # an SDR's own leads

    @property
    def descriptor(self) -> dict[str, Any]:
        """The scope resolved to data: what a snapshot of a figure is keyed by and computed again from."""
        return {"everyone": self.everyone, "teams": list(self.teams), "rep": self.rep_id}


def scoped_facts(*, everyone: bool, teams: Iterable[int] = (), rep: int | None = None) -> QuerySet[LeadFact]:
    """The facts of all teams, or of ``teams`` and the leads of ``rep``."""
    facts = LeadFact.objects.all()
    if everyone:
        return facts
    condition = Q(pk__in=[])
    if teams:
        condition |= Q(team_id__in=sorted(teams))
    if rep is not None:
        condition |= Q(rep_id=rep)
    return facts.filter(condition)


def facts_scope(user: AbstractBaseUser) -> Scope:
    """The facts ``user`` may read: all for marketing and admins, their teams' for a manager, their own for an
    SDR (a manager who is also a rep sees both). Anyone else (AEs, no role): PermissionDenied.

    The teams are resolved to their ids here, so a manager who loses a team loses its figures at once, snapshots
    included (they are keyed by the resolved scope)."""
    roles = desk_roles(user)
    if roles & {Role.MARKETING, Role.ADMIN}:
        return Scope(facts=scoped_facts(everyone=True), label="All teams", everyone=True)
    teams: tuple[int, ...] = ()
    rep_id = None
    labels = []
    if Role.MANAGER in roles:
        teams = tuple(Team.objects.filter(manager=user).order_by("pk").values_list("pk", flat=True))
        labels.append("your teams")
    if Role.SDR in roles:
        rep_id = user.pk
        labels.append("your own leads")
    if not labels:
        raise PermissionDenied("Reports are for SDRs, managers and marketing.")
    return Scope(facts=scoped_facts(everyone=False, teams=teams, rep=rep_id),
                 label=" and ".join(labels).capitalize(), everyone=False, teams=teams, rep_id=rep_id)


def scope_teams(user: AbstractBaseUser, scope: Scope) -> QuerySet[Team]:
    """The teams the team filter offers: every team, or those the user manages and the one they work in."""
    teams = Team.objects.order_by("name")
    if scope.everyone:
        return teams
    return teams.filter(Q(manager=user) | Q(reps__user=user, reps__role=RepRole.SDR)).distinct()


# --- the filters every report takes (kept in the URL) ---------------------------------------------------

@dataclass(frozen=True)
class Window:
    since: date
    until: date
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.until + timedelta(days=1), time(), tzinfo=self.zone)


def facts_filter(facts: QuerySet[LeadFact], *, window: Window, team_id: int | None = None,
                 source_id: int | None = None) -> QuerySet[LeadFact]:
    facts = facts.filter(arrived_at__gte=window.start, arrived_at__lt=window.end)
    if team_id:
        facts = facts.filter(team_id=team_id)
    if source_id:
        facts = facts.filter(source_id=source_id)
    return facts


# Drill-down: the URL parameters that narrow the facts to the leads behind one figure.
DRILL_VALUES: dict[str, tuple[str, type]] = {
    "rep": ("rep_id", int), "team": ("team_id", int), "source": ("source_id", int), "campaign": ("campaign", str),
    "channel": ("channel", str), "tier": ("tier", str), "hour": ("arrival_hour", int), "bucket": ("bucket", str),
    "utm_source": ("utm_source", str), "utm_medium": ("utm_medium", str), "utm_campaign": ("utm_campaign", str),
    "code": ("disposition_code_id", int), "outcome": ("outcome", str), "reason": ("disposition_reason", str),
    "rejection_reason": ("rejection_reason", str), "first_source": ("first_source_id", int),
    "last_source": ("last_source_id", int), "first_campaign": ("first_campaign", str),
    "last_campaign": ("last_campaign", str),
}
DRILL_FLAGS: dict[str, Q] = {
    "touched": Q(first_touch_at__isnull=False), "never": Q(first_touch_at__isnull=True),
    "contacted": Q(touches__gt=0), "connected": Q(connected=True), "qualified": Q(qualified=True),
    "handed_off": Q(handed_off=True), "accepted": Q(ae_accepted=True), "rejected": Q(ae_rejected=True),
    "held": Q(meeting_held=True), "no_show": Q(no_show=True), "escalated": Q(escalated=True),
    "after_hours": Q(after_hours=True), "in_hours": Q(after_hours=False), "sla_met": Q(sla_met=True),
    "sla_missed": Q(sla_met=False), "enrolled": Q(enrolled=True), "completed": Q(sequence_completed=True),
    "disqualified": Q(outcome="disqualified"),
}
NONE = "-"  # a drill value meaning "no rep", "no source"...


class DrillInvalid(ValueError):
    pass


def facts_drill(facts: QuerySet[LeadFact], params: dict[str, str]) -> QuerySet[LeadFact]:
    """Narrow to the leads behind a figure; an unknown flag or a value of the wrong type is an error."""
    for name, raw in params.items():
        if name in DRILL_VALUES:
            field, kind = DRILL_VALUES[name]
            if raw == NONE:
                facts = facts.filter(**{f"{field}__isnull": True}) if kind is int else facts.filter(**{field: ""})
                continue
            try:
                value = kind(raw)
            except ValueError as error:
                raise DrillInvalid(f"{name}: not a valid value") from error
            facts = facts.filter(**{field: value})
        elif name == "flag":
            for flag in raw.split(","):
                if flag not in DRILL_FLAGS:
                    raise DrillInvalid(f"flag: unknown figure {flag!r}")
                facts = facts.filter(DRILL_FLAGS[flag])
    return facts


# --- aggregates -----------------------------------------------------------------------------------------

def _key(row: dict[str, Any], keys: list[str]) -> tuple[Any, ...]:
    return tuple(row[k] for k in keys)


def grouped(facts: QuerySet[LeadFact], keys: list[str], metrics: dict[str, Aggregate],
            percentiles: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One row per group of ``keys`` (none: one row) with ``metrics`` and, for each field in ``percentiles``,
    ``<field>_p50/_p90/_p95``; ordered by the keys."""
    facts = facts.order_by()
    percentiles = list(percentiles)
    on_postgres = connection.vendor == "postgresql"
    extra: dict[str, Aggregate | Func] = {}
    if on_postgres:
        # Grouped: arrays per group, hashed (see PercentilesOf); all the facts: one plain aggregate, no sort but
        # the percentile's own.
        extra = {f"{field}_pcts": PercentilesOf(field) if keys else Percentiles(field) for field in percentiles}
    if keys:
        rows = list(facts.values(*keys).annotate(**metrics, **extra).order_by(*keys))
    else:
        rows = [facts.aggregate(**metrics, **extra)]
    if on_postgres:
        for row in rows:
            for field in percentiles:
                found = row.pop(f"{field}_pcts") or [None] * len(FRACTIONS)
                row.update({f"{field}_{name}": value for name, value in zip(FRACTIONS, found, strict=True)})
    if percentiles and not on_postgres:
        values: dict[tuple[Any, ...], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for row in facts.values(*keys, *percentiles):
            for field in percentiles:
                if row[field] is not None:
                    values[_key(row, keys)][field].append(row[field])
        for row in rows:
            found = values.get(_key(row, keys), {})
            for field in percentiles:
                for name, fraction in FRACTIONS.items():
                    row[f"{field}_{name}"] = percentile_of(found.get(field, []), fraction)
    return rows


def grouped_apart(facts: QuerySet[LeadFact], parts: dict[str, Q | None], metrics: dict[str, Aggregate],
                  percentiles: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """``grouped(facts, [], metrics, percentiles)[0]`` for each part of the facts (a condition; None: all of
    them), in one read: every aggregate narrowed to its part (``FILTER (WHERE ...)``). The parts may overlap
    (all the leads, and those after hours): no sort of the rows by a key, no second scan for the whole."""
    facts = facts.order_by()
    percentiles = list(percentiles)
    on_postgres = connection.vendor == "postgresql"
    aggregates: dict[str, Aggregate] = {}
    for part, condition in parts.items():
        aggregates.update({f"{part}_{name}": _narrowed(metric, condition) for name, metric in metrics.items()})
        if on_postgres:
            aggregates.update({f"{part}_{field}_pcts": _narrowed(Percentiles(field), condition)
                               for field in percentiles})
    found = facts.aggregate(**aggregates)
    rows = {part: {name: found[f"{part}_{name}"] for name in metrics} for part in parts}
    if on_postgres:
        for part, row in rows.items():
            for field in percentiles:
                pcts = found[f"{part}_{field}_pcts"] or [None] * len(FRACTIONS)
                row.update({f"{field}_{name}": value for name, value in zip(FRACTIONS, pcts, strict=True)})
    elif percentiles:
        flags = {f"in_{part}": ExpressionWrapper(condition, output_field=BooleanField())
                 for part, condition in parts.items() if condition is not None}
        values: dict[str, dict[str, list[float]]] = {part: defaultdict(list) for part in parts}
        for fact in facts.annotate(**flags).values(*percentiles, *flags):
            for part, condition in parts.items():
                if condition is None or fact[f"in_{part}"]:
                    for field in percentiles:
                        if fact[field] is not None:
                            values[part][field].append(fact[field])
        for part, row in rows.items():
            for field in percentiles:
                for name, fraction in FRACTIONS.items():
                    row[f"{field}_{name}"] = percentile_of(values[part][field], fraction)
    return rows


def _narrowed(aggregate: Aggregate, condition: Q | None) -> Aggregate:
    """``aggregate`` over the rows that also meet ``condition``."""
    if condition is None:
        return aggregate
    narrowed = aggregate.copy()
    narrowed.filter = condition & aggregate.filter if aggregate.filter is not None else condition
    return narrowed


SPEED_FIELDS = ["response_seconds", "response_business_seconds", "system_seconds", "human_seconds"]


def speed_metrics() -> dict[str, Aggregate]:
    return {
        "leads": Count("lead"), "touched": Count("lead", filter=Q(first_touch_at__isnull=False)),
        "response_mean": Avg("response_seconds"), "business_mean": Avg("response_business_seconds"),
        "system_mean": Avg("system_seconds"), "human_mean": Avg("human_seconds"),
        "with_sla": Count("lead", filter=Q(sla_met__isnull=False)), "sla_met": Count("lead", filter=Q(sla_met=True)),
        "escalated": Count("lead", filter=Q(escalated=True)),
        "arrived_after_hours": Count("lead", filter=Q(after_hours=True)),
    }


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    row["never"] = row["leads"] - row["touched"]
    row["sla_rate"] = row["sla_met"] / row["with_sla"] if row["with_sla"] else None
    return row


SUMMARY_PARTS: dict[str, tuple[str, Q | None, dict[str, str]]] = {
    # part: (label, condition, drill)
    "all": ("All leads", None, {}),
    "in_hours": ("Arrived in hours", DRILL_FLAGS["in_hours"], {"flag": "in_hours"}),
    "after_hours": ("Arrived after hours", DRILL_FLAGS["after_hours"], {"flag": "after_hours"}),
}


def speed_summary(facts: QuerySet[LeadFact]) -> list[dict[str, Any]]:
    """All leads, then those that arrived in the team's hours and those after hours, apart (one read)."""
    found = grouped_apart(facts, {part: condition for part, (_, condition, _) in SUMMARY_PARTS.items()},
                          speed_metrics(), SPEED_FIELDS)
    rows = []
    for part, (label, _, drill) in SUMMARY_PARTS.items():
        row = _rates(found[part])
        row.update(label=label, drill=drill)
        if part != "all":
            row["after_hours"] = part == "after_hours"  # the key the rows were grouped on
        rows.append(row)
    return rows


SPEED_DIMENSIONS: dict[str, tuple[str, str, list[str]]] = {
    # name: (label, drill parameter, the fact fields grouped on: the first is the drill value)
    # Grouped on ids alone (a narrower sort than with the names joined); the names are read once after.
    "rep": ("Rep", "rep", ["rep_id"]),
    "team": ("Team", "team", ["team_id"]),
    "source": ("Source", "source", ["source_id"]),
    "campaign": ("Campaign", "campaign", ["campaign"]),
    "tier": ("Tier", "tier", ["tier"]),
    "hour": ("Hour of arrival", "hour", ["arrival_hour"]),
}


NAMED = {"rep", "team", "source"}


def names_of(dimension: str, ids: Iterable[Any]) -> dict[int, str]:
    """The names of the reps, teams or sources ``ids``, in one query."""
    from django.contrib.auth import get_user_model

    from inbound.models import Source

    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    if dimension == "rep":
        return {pk: " ".join(p for p in (first, last) if p) or username for pk, first, last, username in
                get_user_model().objects.filter(pk__in=wanted).values_list("pk", "first_name", "last_name",
                                                                           "username")}
    model = Team if dimension == "team" else Source
    return dict(model.objects.filter(pk__in=wanted).values_list("pk", "name"))


def dimension_label(dimension: str, row: dict[str, Any], names: dict[int, str] | None = None) -> str:
    fields = SPEED_DIMENSIONS[dimension][2] if dimension in SPEED_DIMENSIONS else FUNNEL_DIMENSIONS[dimension][2]
    value = row[fields[0]]
    if dimension in NAMED:
        return (names or {}).get(value) or f"No {dimension}"
    if dimension == "hour":
        return f"{value:02d}:00"
    if dimension == "tier":
        from scoring.models import Tier

        return dict(Tier.choices).get(value, value)
    return value or f"No {dimension}"


def _drill_value(value: Any) -> str:
    return NONE if value in (None, "") else str(value)


def speed_by(facts: QuerySet[LeadFact], dimension: str) -> list[dict[str, Any]]:
    _, param, fields = SPEED_DIMENSIONS[dimension]
    rows = [_rates(row) for row in grouped(facts, fields, speed_metrics(), SPEED_FIELDS)]
    names = names_of(dimension, (row[fields[0]] for row in rows)) if dimension in NAMED else None
    for row in rows:
        row["label"] = dimension_label(dimension, row, names)
        row["drill"] = {param: _drill_value(row[fields[0]])}
    if dimension in ("rep", "team", "source"):  # by name, the leads of no one last
        rows.sort(key=lambda r: (r[fields[0]] is None, str(r["label"])))
    return rows


def bucket_outcomes(facts: QuerySet[LeadFact]) -> list[dict[str, Any]]:
    """Each response bucket (every one, empty ones too): leads, connect, qualification and AE acceptance."""
    metrics = {"leads": Count("lead"), "connected": Count("lead", filter=Q(connected=True)),
               "qualified": Count("lead", filter=Q(qualified=True)),
               "handed_off": Count("lead", filter=Q(handed_off=True)),
               "accepted": Count("lead", filter=Q(ae_accepted=True))}
    found = {row["bucket"]: row for row in grouped(facts, ["bucket"], metrics)}
    total = sum(row["leads"] for row in found.values())
    rows = []
    for bucket, label in Bucket.choices:
        row = found.get(bucket) or {"bucket": bucket, **dict.fromkeys(metrics, 0)}
        row.update(label=label, drill={"bucket": bucket}, share=row["leads"] / total if total else None,
                   connect_rate=_rate(row["connected"], row["leads"]),
                   qualified_rate=_rate(row["qualified"], row["leads"]),
                   accept_rate=_rate(row["accepted"], row["handed_off"]))
        rows.append(row)
    return rows


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def speed_claim(buckets: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The seeds' claim on the team's own leads: qualification of leads touched within 5 minutes against
    those touched after 30 (None until both have leads)."""
    fast = [row for row in buckets if row["bucket"] == Bucket.UNDER_5]
    slow = [row for row in buckets if row["bucket"] in (Bucket.FROM_30_TO_60, Bucket.FROM_1_TO_24H, Bucket.OVER_24H)]
    fast_leads, slow_leads = sum(r["leads"] for r in fast), sum(r["leads"] for r in slow)
    if not fast_leads or not slow_leads:
        return None
    fast_rate = sum(r["qualified"] for r in fast) / fast_leads
    slow_rate = sum(r["qualified"] for r in slow) / slow_leads
    total = sum(r["leads"] for r in buckets)
    return {"fast_leads": fast_leads, "slow_leads": slow_leads, "fast_rate": fast_rate, "slow_rate": slow_rate,
            "ratio": fast_rate / slow_rate if slow_rate else None, "fast_share": fast_leads / total}


def response_series(facts: QuerySet[LeadFact], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Per day of arrival (in the viewer's zone): leads, median and p90 response in minutes."""
    day = TruncDate("arrived_at", tzinfo=zone)
    if connection.vendor == "postgresql":
        # Each day's response times gathered in an array and sorted alone, the days hashed: grouped on the day
        # directly, PostgreSQL guesses a group per distinct arrived_at (a million), so it sorts every row by
        # the day first. Read from a subquery it cannot flatten (OFFSET 0), the day is a column of unknown
        # spread and the groups are hashed. (p50 and p90 were already one sort: PostgreSQL shares it.)
        try:
            sql, params = facts.order_by().annotate(day=day).values("day", "response_seconds").query.sql_with_params()
        except EmptyResultSet:  # facts.none()
            return []
        with connection.cursor() as cursor:
            cursor.execute(f"""
                SELECT day, count(*),
                       (SELECT percentile_cont(ARRAY[0.5, 0.9]::float8[]) WITHIN GROUP (ORDER BY value)
                        FROM (SELECT unnest(array_agg(response_seconds) FILTER (WHERE response_seconds IS NOT NULL))
                              AS value) AS day_values)
                FROM ({sql} OFFSET 0) AS facts GROUP BY day ORDER BY day""", params)
            found = cursor.fetchall()
        rows = []
        for the_day, leads, pcts in found:
            p50, p90 = pcts or (None, None)
            rows.append({"day": the_day, "leads": leads, "p50": p50, "p90": p90})
    else:
        values: dict[date, list[float]] = defaultdict(list)
        counts: dict[date, int] = defaultdict(int)
        for the_day, seconds in facts.order_by().annotate(day=day).values_list("day", "response_seconds"):
            counts[the_day] += 1
            if seconds is not None:
                values[the_day].append(seconds)
        rows = [{"day": d, "leads": counts[d], "p50": percentile_of(values[d], 0.5),
                 "p90": percentile_of(values[d], 0.9)} for d in sorted(counts)]
    return rows


FUNNEL_DIMENSIONS: dict[str, tuple[str, str, list[str]]] = {
    "source": ("Source", "source", ["source_id"]),
    "channel": ("Channel", "channel", ["channel"]),
    "campaign": ("Campaign", "campaign", ["campaign"]),
    "utm_source": ("UTM source", "utm_source", ["utm_source"]),
    "utm_medium": ("UTM medium", "utm_medium", ["utm_medium"]),
    "utm_campaign": ("UTM campaign", "utm_campaign", ["utm_campaign"]),
}

FUNNEL_STAGES: list[tuple[str, str, str]] = [
    # (metric, label, drill flag)
    ("leads", "Leads", ""), ("contacted", "Contacted", "contacted"), ("qualified", "Qualified", "qualified"),
    ("handed_off", "Handed off", "handed_off"), ("accepted", "AE-accepted", "accepted"),
    ("held", "Meeting held", "held"),
]


def funnel_metrics() -> dict[str, Aggregate]:
    return {"leads": Count("lead"), "contacted": Count("lead", filter=Q(touches__gt=0)),
            "qualified": Count("lead", filter=Q(qualified=True)),
            "handed_off": Count("lead", filter=Q(handed_off=True)),
            "accepted": Count("lead", filter=Q(ae_accepted=True)),
            "rejected": Count("lead", filter=Q(ae_rejected=True)),
            "held": Count("lead", filter=Q(meeting_held=True)),
            "no_show": Count("lead", filter=Q(no_show=True)),
            "disqualified": Count("lead", filter=Q(outcome="disqualified"))}


def funnel_total(facts: QuerySet[LeadFact]) -> dict[str, Any]:
    return grouped(facts, [], funnel_metrics())[0]


def funnel_by(facts: QuerySet[LeadFact], dimension: str, *, prefix: str = "") -> list[dict[str, Any]]:
    """The funnel per value of ``dimension``; ``prefix`` "first_"/"last_" groups on the first or the last
    conversion's source or campaign instead of the lead's (attribution)."""
    label, param, fields = FUNNEL_DIMENSIONS[dimension]
    if prefix:
        fields = [f"{prefix}{fields[0]}"]
        param = f"{prefix}{param}"
    rows = list(grouped(facts, fields, funnel_metrics()))
    names = names_of("source", (row[fields[0]] for row in rows)) if dimension == "source" else {}
    for row in rows:
        value = row[fields[0]]
        if dimension == "source":
            row["label"] = names.get(value) or "No source"
        else:
            row["label"] = value or f"No {label.lower()}"
        row["drill"] = {param: _drill_value(value)}
        row["qualified_rate"] = _rate(row["qualified"], row["leads"])
        row["accept_rate"] = _rate(row["accepted"], row["handed_off"])
    return sorted(rows, key=lambda r: (-r["leads"], str(r["label"])))


def reasons(facts: QuerySet[LeadFact]) -> list[dict[str, Any]]:
    """Dispositions by code and reason, most first."""
    rows = list(facts.exclude(disposition_code__isnull=True).order_by().values(
        "disposition_code_id", "disposition_code__name", "outcome", "disposition_reason").annotate(
        leads=Count("lead")).order_by("-leads", "disposition_code__name", "disposition_reason"))
    for row in rows:
        row["label"] = row["disposition_code__name"]
        row["drill"] = {"code": str(row["disposition_code_id"]), "reason": _drill_value(row["disposition_reason"])}
    return rows


def _reasons_by(facts: QuerySet[LeadFact], *, flag: str, reason_field: str, by_source: bool) -> list[dict[str, Any]]:
    """The leads with ``flag`` counted by their ``reason_field`` (and source), most first, each linked."""
    keys = (["source_id", "source__name"] if by_source else []) + [reason_field]
    rows = list(facts.filter(DRILL_FLAGS[flag]).order_by().values(*keys).annotate(leads=Count("lead"))
                .order_by("-leads", *keys))
    param = "rejection_reason" if reason_field == "rejection_reason" else "reason"
    for row in rows:
        row["label"] = row[reason_field] or "No reason"
        row["drill"] = {param: _drill_value(row[reason_field]), "flag": flag}
        if by_source:
            row["source_label"] = row["source__name"] or "No source"
            row["drill"]["source"] = _drill_value(row["source_id"])
    return rows


def rejection_reasons(facts: QuerySet[LeadFact], *, by_source: bool = False) -> list[dict[str, Any]]:
    """AE rejections by the last rejection's reason (and source)."""
    return _reasons_by(facts, flag="rejected", reason_field="rejection_reason", by_source=by_source)


def bad_fit_reasons(facts: QuerySet[LeadFact]) -> list[dict[str, Any]]:
    """Disqualified leads by source and reason: what marketing should stop buying."""
    return _reasons_by(facts, flag="disqualified", reason_field="disposition_reason", by_source=True)


def coaching(facts: QuerySet[LeadFact]) -> list[dict[str, Any]]:
    """Per rep: touches per lead, attempts before the first connect, sequences completed, no-shows."""
    fields = SPEED_DIMENSIONS["rep"][2]
    metrics = {"leads": Count("lead"), "contacted": Count("lead", filter=Q(touches__gt=0)),
               "touch_total": Sum("touches"), "connected": Count("lead", filter=Q(connected=True)),
               "attempts_mean": Avg("attempts_to_connect"),
               "enrolled": Count("lead", filter=Q(enrolled=True)),
               "completed": Count("lead", filter=Q(sequence_completed=True)),
               "handed_off": Count("lead", filter=Q(handed_off=True)),
               "held": Count("lead", filter=Q(meeting_held=True)), "no_show": Count("lead", filter=Q(no_show=True)),
               "escalated": Count("lead", filter=Q(escalated=True))}
    rows = list(grouped(facts, fields, metrics))
    names = names_of("rep", (row["rep_id"] for row in rows))
    for row in rows:
        row["label"] = dimension_label("rep", row, names)
        row["drill"] = {"rep": _drill_value(row["rep_id"])}
        row["touches_per_lead"] = (row["touch_total"] or 0) / row["contacted"] if row["contacted"] else None
        row["connect_rate"] = _rate(row["connected"], row["contacted"])
        row["completion_rate"] = _rate(row["completed"], row["enrolled"])
        row["no_show_rate"] = _rate(row["no_show"], row["held"] + row["no_show"])
    return sorted(rows, key=lambda r: (r["rep_id"] is None, str(r["label"])))

