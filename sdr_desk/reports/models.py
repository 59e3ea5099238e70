"""The reports' own rollups: one fact row per lead, rebuilt from the raw rows; nothing else is written here.

A report over a million leads cannot join leads, assignments, touches, dispositions, handoffs and
conversions on every request and answer in half a second, so each lead's figures are kept as one row
(``LeadFact``), recomputed whenever the lead's timeline moves (every change of a lead lands there: the
change feed is the timeline's id) and in full each night. Percentiles are taken over these rows at read
time, so every figure is exact over the leads it covers, never an average of averages.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from inbound.models import Lead, Source
from scoring.models import Tier


class Bucket(models.TextChoices):
    """Wall-clock time from arrival to the first touch, in the seeds' buckets."""

    UNDER_5 = "lt5m", "Under 5 min"
    FROM_5_TO_30 = "5-30m", "5–30 min"
    FROM_30_TO_60 = "30-60m", "30–60 min"
    FROM_1_TO_24H = "1-24h", "1–24 h"
    OVER_24H = "gt24h", "Over 24 h"
    NEVER = "never", "Never touched"


# Upper bounds in seconds of each timed bucket (an answer at exactly 5:00 is in 5-30 min).
BUCKET_BOUNDS: tuple[tuple[str, float], ...] = (
    (Bucket.UNDER_5, 5 * 60), (Bucket.FROM_5_TO_30, 30 * 60), (Bucket.FROM_30_TO_60, 60 * 60),
    (Bucket.FROM_1_TO_24H, 24 * 3600),
)


def bucket_of(response_seconds: float | None) -> str:
    if response_seconds is None:
        return Bucket.NEVER
    for bucket, bound in BUCKET_BOUNDS:
        if response_seconds < bound:
            return bucket
    return Bucket.OVER_24H


class LeadFact(models.Model):
    """A lead's figures as the reports read them; written only by ``sdr_desk.reports.rollups``."""

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, primary_key=True, related_name="report_fact")
    # Arrival: the moment the lead's response clock started (it came in, or turned hot again).
    arrived_at = models.DateTimeField()
    arrival_hour = models.PositiveSmallIntegerField(help_text="hour of arrival in the team's zone (UTC without one)")
    after_hours = models.BooleanField(default=False, help_text="arrived while the team was closed")
    team = models.ForeignKey("routing.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Whose figure it is: the rep of the first touch, else the lead's owner.
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=20, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.NONE)

    # Speed to lead: wall clock and business seconds, whole and split at the offer.
    offered_at = models.DateTimeField(null=True, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    response_seconds = models.FloatField(null=True, blank=True)
    response_business_seconds = models.FloatField(null=True, blank=True)
    system_seconds = models.FloatField(null=True, blank=True, help_text="arrival to offer or assignment")
    system_business_seconds = models.FloatField(null=True, blank=True)
    human_seconds = models.FloatField(null=True, blank=True, help_text="offer to first touch")
    human_business_seconds = models.FloatField(null=True, blank=True)
    bucket = models.CharField(max_length=10, choices=Bucket.choices, default=Bucket.NEVER)
    sla_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="the tier's target, business seconds")
    sla_met = models.BooleanField(null=True, blank=True, help_text="touched within the target; empty: no target")
    escalated = models.BooleanField(default=False)

    # Working it.
    touches = models.PositiveIntegerField(default=0)
    connected = models.BooleanField(default=False)
    attempts_to_connect = models.PositiveIntegerField(null=True, blank=True,
                                                      help_text="touches up to and including the first connect")
    enrolled = models.BooleanField(default=False)
    sequence_completed = models.BooleanField(default=False)

    # How it ended (the current disposition) and what the AE made of it.
    disposition_code = models.ForeignKey("dispositions.DispositionCode", null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=15, blank=True)
    disposition_reason = models.CharField(max_length=200, blank=True)
    qualified = models.BooleanField(default=False)
    handed_off = models.BooleanField(default=False)
    ae_accepted = models.BooleanField(default=False)
    ae_rejected = models.BooleanField(default=False)
    rejection_reason = models.CharField(max_length=200, blank=True)
    meeting_held = models.BooleanField(default=False)
    no_show = models.BooleanField(default=False)

    # Attribution over the lead's conversions (form submits): the first and the last.
    conversions = models.PositiveIntegerField(default=0)
    first_source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    first_campaign = models.CharField(max_length=200, blank=True)
    last_source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_campaign = models.CharField(max_length=200, blank=True)

    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["arrived_at"], name="fact_arrived_idx"),
            models.Index(fields=["team", "arrived_at"], name="fact_team_arrived_idx"),
            models.Index(fields=["rep", "arrived_at"], name="fact_rep_arrived_idx"),
            models.Index(fields=["source", "arrived_at"], name="fact_source_arrived_idx"),
        ]

    def __str__(self) -> str:
        return f"facts of lead {self.lead_id}"


class RollupState(models.Model):
    """How far the change feed (the timeline's ids) has been read into the facts; one row per rollup ("facts").

    And, on a row of its own ("facts-rebuild"), how far the full rebuild in progress has come: it runs in
    batches of leads by id, each committed with its cursor, over as many runs as it takes (a run stops at its
    time budget, well inside the task timeout), claimed by one run at a time (``rebuild_claim``, renewed with
    each batch: a claim not renewed for ``REBUILD_LEASE`` is a dead run's, and the next run takes it over).
    """

    name = models.CharField(max_length=50, primary_key=True)
    last_entry_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    full_at = models.DateTimeField(null=True, blank=True, help_text="the last full rebuild (when it reached the end)")
    rebuild_cursor = models.BigIntegerField(
        null=True, blank=True, help_text="a full rebuild in progress: the last lead id it wrote; empty: none")
    rebuild_entry_id = models.BigIntegerField(
        default=0, help_text="the timeline's newest entry when the rebuild in progress began")
    rebuild_started_at = models.DateTimeField(null=True, blank=True)
    rebuild_claim = models.CharField(max_length=32, blank=True, help_text="the run at the rebuild now")
    rebuild_heartbeat = models.DateTimeField(null=True, blank=True, help_text="its last batch")

    def __str__(self) -> str:
        return f"{self.name} at timeline entry {self.last_entry_id}"


class RowsEncoder(json.JSONEncoder):
    """A figure's rows as JSON, its dates and times tagged so they come back as what they were."""

    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            return {"$datetime": o.isoformat()}
        if isinstance(o, date):
            return {"$date": o.isoformat()}
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


def _revive(value: dict[str, Any]) -> Any:
    if len(value) == 1:
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
    return value


class RowsDecoder(json.JSONDecoder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("object_hook", _revive)
        super().__init__(*args, **kwargs)


def rows_dump(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, cls=RowsEncoder, separators=(",", ":"))


def rows_load(text: str) -> list[dict[str, Any]]:
    return json.loads(text, cls=RowsDecoder)


class ReportSnapshot(models.Model):
    """One figure of a report (a table's rows, a chart's series) as computed over the facts at one version.

    Exact percentiles over a year of a million leads sort every value in range: seconds, not the half second a
    page may take. A figure whose live computation was slow is kept here, keyed by everything it depends on
    (the figure, the viewer's resolved scope, the days, the zone, the filters), and served while the facts have
    not moved (the same figures a live query gives) or, for at most ``REPORT_SNAPSHOT_MAX_AGE_SECONDS``,
    while a task brings it up to the facts' new version; older than that, the page computes it live again.
    Written only by ``sdr_desk.reports.snapshots``.
    """

    key = models.CharField(max_length=64, primary_key=True, help_text="sha256 of the figure and its inputs")
    figure = models.CharField(max_length=50)
    kwargs = models.JSONField(default=dict, blank=True)
    inputs = models.JSONField(help_text="scope, days, zone, team and source: enough to compute it again")
    rows = models.TextField(help_text="the rows as JSON (RowsEncoder): text, so each row's keys keep their order")
    version = models.CharField(max_length=80, help_text="the facts' version the rows were computed at")
    as_of = models.DateTimeField(null=True, blank=True, help_text="when the facts they were computed on were made")
    made_at = models.DateTimeField(default=timezone.now)
    seconds = models.FloatField(help_text="how long computing it took")
    relative = models.BooleanField(default=False, help_text="its days ended on the day it was viewed: it rolls")
    viewed_at = models.DateTimeField(default=timezone.now)
    refreshing_since = models.DateTimeField(null=True, blank=True, help_text="a task is computing it again")

    class Meta:
        indexes = [models.Index(fields=["viewed_at"], name="snapshot_viewed_idx")]

    def __str__(self) -> str:
        return f"{self.figure} at facts {self.version}"
