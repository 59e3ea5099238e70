"""Keep ``LeadFact`` in step with the raw rows: the one writer of the reports' rollups.

Every change of a lead lands in its timeline (DESIGN's invariant), so the timeline's ids are the change
feed: ``facts_refresh()`` recomputes the facts of the leads whose timeline moved since the last run, in
batches, each batch a fixed number of queries (one per kind of raw row) and one upsert. Recomputing is
idempotent, so a run that overlaps another, or reads an entry twice, changes nothing.

A transaction that took a timeline id before the last run and committed after it would be missed by a
plain ``id > last`` read, so each run reads back ``FEED_OVERLAP`` ids behind its mark; the nightly full
rebuild catches anything older.

``facts_rebuild()`` recomputes every lead (nightly, and after a bulk load), in batches of leads by id from a
cursor kept on the state row, each batch committed with its cursor: a run stops at its time budget (the
nightly task's, well inside Django-Q's timeout) and the next goes on from the cursor, so a rebuild of any size
finishes, and a run that dies loses one batch at most. ``full_at`` moves once, when a rebuild reaches the end.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from inbound.models import Activity, ActivityType, Lead, TimelineEntry
from sdr_desk.dispositions.models import Disposition, Outcome
from sdr_desk.handoff.models import Handoff, HandoffStatus, MeetingStatus
from sdr_desk.reports.models import LeadFact, RollupState, bucket_of
from sdr_desk.routing.business_hours import Calendar, business_seconds_between, is_open, zone_or_utc
from sdr_desk.routing.clock import team_calendar
from sdr_desk.routing.models import CallOutcome, Team, Touch
from sdr_desk.sequences.models import Enrollment, EnrollmentStatus

logger = logging.getLogger(__name__)

FACTS = "facts"
# The rebuild in progress has its own state row, so that its batches and the minute's refresh lock different rows:
# a refresh skips while another refresh holds "facts", but waits (under a second) for a batch writing.
REBUILD = "facts-rebuild"
BATCH = 5000
FEED_OVERLAP = 1000
# A request refreshes the facts itself when this few timeline entries are waiting (the schedule does the rest).
READ_REFRESH_LIMIT = 20000

# A nightly rebuild's run stops after this long, well inside Django-Q's timeout (300 s), and goes on in the next.
REBUILD_BUDGET_SECONDS = 200
# A rebuild's claim not renewed (each batch renews it) for this long is a dead run's: the next run takes it over.
REBUILD_LEASE = timedelta(minutes=2)

UPDATE_FIELDS = [field.name for field in LeadFact._meta.concrete_fields if field.name != "lead"]
COLUMNS = [field.attname for field in LeadFact._meta.concrete_fields]  # lead_id first
Fact = dict[str, Any]  # a LeadFact's values by column


@dataclass
class Refreshed:
    leads: int
    last_entry_id: int


class _Calendars:
    """Each team's calendar and zone, read once per run."""

    def __init__(self) -> None:
        self.teams = {team.pk: team for team in Team.objects.all()}
        self._calendars: dict[int, Calendar] = {}

    def calendar(self, team_id: int | None) -> Calendar | None:
        if team_id is None or team_id not in self.teams:
            return None
        if team_id not in self._calendars:
            self._calendars[team_id] = team_calendar(self.teams[team_id])
        return self._calendars[team_id]

    def zone(self, team_id: int | None) -> ZoneInfo:
        team = self.teams.get(team_id) if team_id is not None else None
        return zone_or_utc(team.time_zone if team else "UTC")

    def sla_seconds(self, team_id: int | None, tier: str) -> int | None:
        team = self.teams.get(team_id) if team_id is not None else None
        return team.sla_seconds(tier) if team else None


def _campaign(attribution: dict[str, Any] | None) -> str:
    attribution = attribution or {}
    return str(attribution.get("utm_campaign") or attribution.get("campaign") or "")[:200]


def _business(calendar: Calendar | None, start: datetime, end: datetime) -> float:
    if end <= start:
        return 0.0
    if calendar is None:
        return (end - start).total_seconds()
    return business_seconds_between(calendar, start, end)


def _facts_for(lead_ids: list[int], calendars: _Calendars, now: datetime, *,
               every_lead: bool = False) -> tuple[list[Fact], list[int]]:
    """The facts of ``lead_ids`` from their raw rows (by column, ``COLUMNS``); and the ids that have none (merged
    away, gone).

    ``every_lead``: ``lead_ids`` are every lead id from the first to the last (a rebuild's batch), so the raw rows
    are read by that range: 5,000 ids quoted into each of six queries cost more than the queries.
    """
    leads_in: dict[str, Any] = ({"pk__gte": lead_ids[0], "pk__lte": lead_ids[-1]} if every_lead
                                else {"pk__in": lead_ids})
    leads = list(Lead.objects.filter(**leads_in, merged_into__isnull=True).values(
        "id", "created_at", "source_id", "source__channel", "campaign", "utm_source", "utm_medium", "utm_campaign",
        "assignment__team_id", "assignment__owner_id", "assignment__tier", "assignment__sla_started_at",
        "assignment__routed_at", "assignment__first_touch_at", "assignment__response_seconds",
        "assignment__response_business_seconds", "assignment__escalation_level"))
    found = [row["id"] for row in leads]
    of_leads: dict[str, Any] = ({"lead_id__gte": lead_ids[0], "lead_id__lte": lead_ids[-1]} if every_lead
                                else {"lead_id__in": found})

    touches: dict[int, list[tuple[datetime, int, str, str, bool]]] = defaultdict(list)
    for lead_id, at, rep_id, channel, outcome, is_first in Touch.objects.filter(**of_leads).order_by(
            "lead_id", "occurred_at", "id").values_list("lead_id", "occurred_at", "rep_id", "channel", "outcome",
                                                        "is_first"):
        touches[lead_id].append((at, rep_id, channel, outcome, is_first))
    dispositions = {row["lead_id"]: row for row in Disposition.objects.filter(
        **of_leads, is_current=True).values("lead_id", "code_id", "code__outcome", "reason")}
    handoffs: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in Handoff.objects.filter(**of_leads).order_by("lead_id", "handed_at", "id").values(
            "lead_id", "status", "verdict_reason", "meeting_status"):
        handoffs[row["lead_id"]].append(row)
    enrolments: dict[int, set[str]] = defaultdict(set)
    for lead_id, status in Enrollment.objects.filter(**of_leads).values_list("lead_id", "status"):
        enrolments[lead_id].add(status)
    conversions: dict[int, list[tuple[int | None, str]]] = defaultdict(list)
    for lead_id, source_id, attribution in Activity.objects.filter(
            **of_leads, type=ActivityType.FORM_SUBMIT).order_by("lead_id", "occurred_at", "id").values_list(
            "lead_id", "source_id", "attribution"):
        conversions[lead_id].append((source_id, _campaign(attribution)))

    facts = []
    for row in leads:
        lead_id = row["id"]
        team_id = row["assignment__team_id"]
        calendar = calendars.calendar(team_id)
        arrived = row["assignment__sla_started_at"] or row["created_at"]
        routed = row["assignment__routed_at"]
        offered = max(routed, arrived) if routed else None
        lead_touches = touches.get(lead_id, [])
        # The desk's clock also stops on a disposition with no touch (spam closed unseen): that is no answer
        # to the lead, so the speed figures count only leads somebody touched.
        touched = bool(lead_touches) and row["assignment__first_touch_at"] is not None
        first_touch = row["assignment__first_touch_at"] if touched else None
        response = row["assignment__response_seconds"] if touched else None
        response_business = row["assignment__response_business_seconds"] if touched else None
        system = system_business = human = human_business = None
        if offered is not None:
            system = (offered - arrived).total_seconds()
            system_business = _business(calendar, arrived, offered) if system else 0.0
        if first_touch is not None and offered is not None:
            human = max((first_touch - offered).total_seconds(), 0.0)
            if not system and response_business is not None:
                human_business = response_business  # offered on arrival: the whole answer is the rep's
            else:
                human_business = _business(calendar, offered, first_touch) if first_touch > offered else 0.0
        tier = row["assignment__tier"] or "none"
        sla = calendars.sla_seconds(team_id, tier)
        sla_met = None
        if sla is not None:
            sla_met = response_business is not None and response_business <= sla

        first_rep = next((rep for _, rep, _, _, is_first in lead_touches if is_first), None)
        connect_at = next((i for i, (_, _, channel, outcome, _) in enumerate(lead_touches)
                           if outcome == CallOutcome.CONNECTED), None)
        disposition = dispositions.get(lead_id)
        lead_handoffs = handoffs.get(lead_id, [])
        last_rejected = next((h for h in reversed(lead_handoffs) if h["status"] == HandoffStatus.REJECTED), None)
        statuses = enrolments.get(lead_id, set())
        lead_conversions = conversions.get(lead_id, [])
        outcome = disposition["code__outcome"] if disposition else ""
        facts.append(dict(
            lead_id=lead_id, arrived_at=arrived, arrival_hour=arrived.astimezone(calendars.zone(team_id)).hour,
            after_hours=calendar is not None and not is_open(calendar, arrived),
            team_id=team_id, rep_id=first_rep or row["assignment__owner_id"],
            source_id=row["source_id"], channel=row["source__channel"] or "", campaign=row["campaign"],
            utm_source=row["utm_source"], utm_medium=row["utm_medium"], utm_campaign=row["utm_campaign"],
            tier=tier, offered_at=offered, first_touch_at=first_touch, response_seconds=response,
            response_business_seconds=response_business, system_seconds=system,
            system_business_seconds=system_business, human_seconds=human, human_business_seconds=human_business,
            bucket=bucket_of(response if first_touch is not None else None), sla_seconds=sla, sla_met=sla_met,
            escalated=(row["assignment__escalation_level"] or 0) > 0,
            touches=len(lead_touches), connected=connect_at is not None,
            attempts_to_connect=connect_at + 1 if connect_at is not None else None,
            enrolled=bool(statuses), sequence_completed=EnrollmentStatus.COMPLETED in statuses,
            disposition_code_id=disposition["code_id"] if disposition else None, outcome=outcome,
            disposition_reason=disposition["reason"] if disposition else "",
            qualified=outcome == Outcome.QUALIFIED or bool(lead_handoffs),
            handed_off=bool(lead_handoffs),
            ae_accepted=any(h["status"] == HandoffStatus.ACCEPTED for h in lead_handoffs),
            ae_rejected=last_rejected is not None,
            rejection_reason=last_rejected["verdict_reason"] if last_rejected else "",
            meeting_held=any(h["meeting_status"] == MeetingStatus.HELD for h in lead_handoffs),
            no_show=any(h["meeting_status"] == MeetingStatus.NO_SHOW for h in lead_handoffs),
            conversions=len(lead_conversions),
            first_source_id=lead_conversions[0][0] if lead_conversions else None,
            first_campaign=lead_conversions[0][1] if lead_conversions else "",
            last_source_id=lead_conversions[-1][0] if lead_conversions else None,
            last_campaign=lead_conversions[-1][1] if lead_conversions else "",
            refreshed_at=now,
        ))
    return facts, sorted(set(lead_ids) - set(found))


def _chunks(ids: Iterable[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for lead_id in ids:
        chunk.append(lead_id)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _upsert_copied(facts: list[Fact]) -> None:
    """PostgreSQL: the facts COPYed into a staging table, then one ``INSERT ... SELECT ... ON CONFLICT``.

    The portable upsert (``bulk_create``) spent about 0.15 ms a lead (a third of a rebuild at 100,000 leads)
    making model instances and quoting 46 values a row into the statement; COPY sends them as they are.
    """
    table, stage = connection.ops.quote_name(LeadFact._meta.db_table), "reports_leadfact_stage"
    names = ", ".join(connection.ops.quote_name(column) for column in COLUMNS)
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in
                        (connection.ops.quote_name(column) for column in COLUMNS if column != "lead_id"))
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} (LIKE {table}) ON COMMIT DROP")
        with cursor.cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for fact in facts:
                copy.write_row([fact[column] for column in COLUMNS])
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} "
                       f"ON CONFLICT (lead_id) DO UPDATE SET {updates}")
        cursor.execute(f"DROP TABLE {stage}")  # now, not at commit: a test's one transaction writes many batches


def _upsert_portable(facts: list[Fact]) -> None:
    LeadFact.objects.bulk_create([LeadFact(**fact) for fact in facts], update_conflicts=True,
                                 unique_fields=["lead"], update_fields=UPDATE_FIELDS, batch_size=1000)


def facts_store(facts: list[Fact], gone: Iterable[int], *, copy: bool | None = None) -> None:
    """Write computed facts and delete the facts of leads that have none; in the caller's transaction.

    ``copy``: the PostgreSQL fast path (the default there), else the portable upsert (SQLite, and the tests
    that compare the two).
    """
    gone = list(gone)
    if gone:
        LeadFact.objects.filter(lead_id__in=gone).delete()
    if not facts:
        return
    if copy is None:
        copy = connection.vendor == "postgresql"
    (_upsert_copied if copy else _upsert_portable)(facts)


def facts_write(lead_ids: Iterable[int], *, now: datetime | None = None, calendars: _Calendars | None = None) -> int:
    """Recompute and store the facts of ``lead_ids`` (any number, in batches); returns how many were written."""
    now = now or timezone.now()
    calendars = calendars or _Calendars()
    written = 0
    for chunk in _chunks(lead_ids, BATCH):
        facts, gone = _facts_for(chunk, calendars, now)
        with transaction.atomic():
            facts_store(facts, gone)
        written += len(facts)
    return written


def facts_refresh(*, full: bool = False, now: datetime | None = None) -> Refreshed:
    """Bring the facts up to the timeline's newest entry: the changed leads; or, with ``full``, every lead.

    The changed leads run one at a time (the state row is locked, a second caller returns at once with nothing
    done). ``full`` runs a whole rebuild to its end, however long (the command line; the nightly task runs it
    in budgeted steps, ``facts_rebuild``); nothing, if another run is at it.
    """
    now = now or timezone.now()
    if full:
        done = facts_rebuild(now=now, budget_seconds=None)
        last = RollupState.objects.values_list("last_entry_id", flat=True).get(pk=FACTS)
        return Refreshed(leads=done.leads, last_entry_id=last)
    with transaction.atomic():
        state, _ = RollupState.objects.get_or_create(name=FACTS)
        locked = RollupState.objects.select_for_update(skip_locked=True).filter(pk=FACTS).first()
        if locked is None:
            return Refreshed(leads=0, last_entry_id=state.last_entry_id)
        _rebuild_locked()  # no rebuild batch writes while this run reads and writes
        newest = TimelineEntry.objects.aggregate(n=Max("id"))["n"] or 0
        since = max(locked.last_entry_id - FEED_OVERLAP, 0)
        ids = sorted(set(TimelineEntry.objects.filter(id__gt=since, id__lte=newest)
                         .values_list("lead_id", flat=True).distinct()))
        written = facts_write(ids, now=now)
        locked.last_entry_id = newest
        locked.refreshed_at = now
        locked.save(update_fields=["last_entry_id", "refreshed_at"])
    logger.info("report facts refreshed: %s leads up to timeline entry %s", written, newest)
    return Refreshed(leads=written, last_entry_id=newest)


# --- the full rebuild, in committed batches -------------------------------------------------------------

@dataclass
class Rebuilt:
    leads: int  # written by this run
    cursor: int | None  # the last lead id the rebuild in progress wrote; None: none in progress (done, or none)
    done: bool = False  # this run reached the last lead: full_at moved
    busy: bool = False  # another run is at the rebuild (or none was in progress to go on with): nothing done


def _rebuild_locked() -> RollupState:
    """The rebuild's state row, locked until the end of the caller's transaction (waits for a refresh's run or
    a batch's write)."""
    RollupState.objects.get_or_create(name=REBUILD)
    return RollupState.objects.select_for_update().get(pk=REBUILD)


def _rebuild_claim(*, start: bool) -> tuple[str, int] | None:
    """Claim the rebuild for this run: its token and cursor; None if a live run has it, or (without ``start``)
    there is none in progress."""
    now = timezone.now()
    with transaction.atomic():
        state = _rebuild_locked()
        if state.rebuild_claim and state.rebuild_heartbeat and state.rebuild_heartbeat > now - REBUILD_LEASE:
            return None
        if state.rebuild_cursor is None:
            if not start:
                return None
            state.rebuild_cursor = 0
            state.rebuild_entry_id = TimelineEntry.objects.aggregate(n=Max("id"))["n"] or 0
            state.rebuild_started_at = now
        state.rebuild_claim = uuid.uuid4().hex
        state.rebuild_heartbeat = now
        state.save(update_fields=["rebuild_cursor", "rebuild_entry_id", "rebuild_started_at", "rebuild_claim",
                                  "rebuild_heartbeat"])
        return state.rebuild_claim, state.rebuild_cursor


def _rebuild_release(claim: str) -> None:
    with transaction.atomic():
        RollupState.objects.filter(pk=REBUILD, rebuild_claim=claim).update(rebuild_claim="")


def _feed() -> tuple[int, datetime | None] | None:
    """Where the minute's refresh has come to: it changes with each of its runs."""
    return RollupState.objects.filter(pk=FACTS).values_list("last_entry_id", "refreshed_at").first()


def _rebuild_batch(claim: str, cursor: int, size: int, calendars: _Calendars, now: datetime) -> tuple[int, int] | None:
    """Recompute the ``size`` leads after ``cursor`` and move the cursor past them, all in one transaction;
    returns (the new cursor, facts written), None if the claim was lost (the run must stop), or (cursor, 0)
    when no lead is left.

    The raw rows are read without the rebuild row's lock, so the minute's incremental refresh is not held up;
    the facts are then written under it. If an incremental run wrote in between, it may have written a lead
    that moved after this batch read it: a fresher fact than this batch's. So then the leads that moved since
    (a timeline entry after the newest one before the read, less the feed's overlap) are left to the feed,
    which recomputes them anyway. Else any such lead is written, and the next incremental run writes it again.
    """
    lead_ids = list(Lead.objects.filter(pk__gt=cursor).order_by("pk").values_list("pk", flat=True)[:size])
    if not lead_ids:
        return cursor, 0
    feed = _feed()
    before = TimelineEntry.objects.aggregate(n=Max("id"))["n"] or 0
    facts, gone = _facts_for(lead_ids, calendars, now, every_lead=True)
    with transaction.atomic():
        state = _rebuild_locked()
        if state.rebuild_claim != claim:
            return None
        if _feed() != feed:
            moved = set(TimelineEntry.objects.filter(id__gt=before - FEED_OVERLAP, lead_id__in=lead_ids)
                        .values_list("lead_id", flat=True))
            facts = [fact for fact in facts if fact["lead_id"] not in moved]
            gone = [lead_id for lead_id in gone if lead_id not in moved]
        facts_store(facts, gone)
        state.rebuild_cursor = lead_ids[-1]
        state.rebuild_heartbeat = timezone.now()
        state.save(update_fields=["rebuild_cursor", "rebuild_heartbeat"])
    return lead_ids[-1], len(facts)


def _rebuild_finish(claim: str, now: datetime | None) -> bool:
    """The last batch is in: the facts are as of the rebuild's start, so the feed's mark may move there."""
    with transaction.atomic():
        RollupState.objects.get_or_create(name=FACTS)
        facts = RollupState.objects.select_for_update().get(pk=FACTS)  # first, as a refresh takes them
        state = _rebuild_locked()
        if state.rebuild_claim != claim:
            return False
        facts.last_entry_id = max(facts.last_entry_id, state.rebuild_entry_id)
        facts.full_at = facts.refreshed_at = now or timezone.now()
        facts.save(update_fields=["last_entry_id", "full_at", "refreshed_at"])
        state.rebuild_cursor = state.rebuild_started_at = state.rebuild_heartbeat = None
        state.rebuild_entry_id = 0
        state.rebuild_claim = ""
        state.save()
    if connection.vendor == "postgresql":
        # Fresh statistics for the planner: a rebuilt table's old ones guess a few thousand rows for a million.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {LeadFact._meta.db_table}")
    return True


def facts_rebuild(*, start: bool = True, budget_seconds: float | None = REBUILD_BUDGET_SECONDS,
                  batch: int | None = None, now: datetime | None = None,
                  progress: Callable[[Rebuilt], None] | None = None) -> Rebuilt:
    """Recompute every lead's facts, in batches by lead id from the rebuild's cursor, each committed on its own.

    Starts a rebuild when none is in progress (with ``start``; without, only goes on with one); stops after the
    batch that passes ``budget_seconds`` (None: runs to the end), leaving the cursor for the next run. One run
    at a time: a second returns at once with ``busy``. ``full_at`` moves once, when a rebuild reaches its end.
    A run that dies mid-batch loses that batch only: the next one goes on from the last committed cursor.
    """
    started = time.monotonic()
    size = batch or BATCH
    claimed = _rebuild_claim(start=start)
    if claimed is None:
        return Rebuilt(leads=0, cursor=None, busy=True)
    claim, cursor = claimed
    calendars = _Calendars()
    written = 0
    try:
        while True:
            moved = _rebuild_batch(claim, cursor, size, calendars, now or timezone.now())
            if moved is None:
                return Rebuilt(leads=written, cursor=cursor, busy=True)  # a dead run's claim, taken over
            if moved[0] == cursor:
                done = _rebuild_finish(claim, now)
                logger.info("report facts rebuilt: %s leads in this run, up to lead %s", written, cursor)
                return Rebuilt(leads=written, cursor=None if done else cursor, done=done, busy=not done)
            cursor, written = moved[0], written + moved[1]
            if progress:
                progress(Rebuilt(leads=written, cursor=cursor))
            if budget_seconds is not None and time.monotonic() - started >= budget_seconds:
                _rebuild_release(claim)
                logger.info("report facts rebuild paused at lead %s: %s leads in this run", cursor, written)
                return Rebuilt(leads=written, cursor=cursor)
    except BaseException:
        _rebuild_release(claim)  # a crash that reaches here: the next run need not wait for the lease
        raise


def facts_rebuild_stalled() -> bool:
    """A rebuild is in progress but no run has been at it for ``REBUILD_LEASE`` (its task lost or killed)."""
    row = RollupState.objects.filter(pk=REBUILD, rebuild_cursor__isnull=False).values_list("rebuild_heartbeat").first()
    return row is not None and (row[0] is None or row[0] <= timezone.now() - REBUILD_LEASE)


def facts_waiting(*, at_most: int | None = None) -> int:
    """Timeline entries not yet read into the facts, counted up to ``at_most`` (an index range scan)."""
    mark = RollupState.objects.filter(pk=FACTS).values_list("last_entry_id", flat=True).first() or 0
    entries = TimelineEntry.objects.filter(id__gt=mark).order_by()
    if at_most is not None:
        return entries[:at_most + 1].count()
    return entries.count()


@dataclass(frozen=True)
class FactsVersion:
    """How far the facts have been made: they change only when this does (report snapshots are keyed by it)."""

    last_entry_id: int
    full_at: datetime | None
    refreshed_at: datetime | None

    @property
    def tag(self) -> str:
        return f"{self.last_entry_id}:{self.full_at.timestamp() if self.full_at else 0:.6f}"


def facts_version() -> FactsVersion:
    row = RollupState.objects.filter(pk=FACTS).values_list("last_entry_id", "full_at", "refreshed_at").first()
    return FactsVersion(*row) if row else FactsVersion(0, None, None)


def facts_fresh_enough() -> FactsVersion:
    """Before a report reads: catch the facts up if only a little is waiting; return how far they are made."""
    if 0 < facts_waiting(at_most=READ_REFRESH_LIMIT) <= READ_REFRESH_LIMIT:
        facts_refresh()
    return facts_version()
