"""The sequence services: the only writers of enrolments and step runs.

* ``enrollment_start``: a lead joins a template (by hand, or on assignment by tier);
* ``run_complete``: the owner did the current step (their touch on its channel);
* ``enrollment_stop``: a disposition, an unsubscribe... ends it;
* ``steps_due_sweep`` (Django-Q, every minute): marks due step runs set-based, puts manual steps on the
  owner's Due today, hands automatic emails to ``sending.step_send``, pauses the enrolments of reps away
  and resumes them on return with their dates shifted.

Only one step run of an enrolment is open at a time: the next is scheduled when the current one ends,
counted from then, so a late call does not crowd the steps after it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from inbound.models import Lead, LeadStatus
from inbound.timeline import timeline_entry, timeline_record, timeline_record_many
from sdr_desk.routing.business_hours import next_opening
from sdr_desk.routing.models import LeadAssignment, LeadState, RepStatus, Team
from sdr_desk.routing.ownership import FieldsInvalid, NotAllowed, assignment_locked
from sdr_desk.routing.touches import NextStepDue, leads_next_step_due
from sdr_desk.sequences.models import (
    ONGOING,
    SIGNATURE_MAX_CHARS,
    SIGNATURE_MAX_LINES,
    Enrollment,
    EnrollmentStatus,
    Outbox,
    RepSignature,
    SequenceTemplate,
    Step,
    StepChannel,
    StepRun,
    StepRunStatus,
    StepVariant,
    Unsubscribe,
)
from sdr_desk.sequences.scheduling import StepUnschedulable, lead_send_zone, step_due_at, window_calendar

SEQUENCE_KIND = "sequence"
ACTOR = "sequence"
REP_AWAY = "rep_away"
# An automatic email that came due long before the sweep saw it (the cluster was down) is not sent late in a
# burst: it waits for the rep, as a manual step.
STALE_NOTE = "Came due while the desk was down: not sent automatically; review and send it by hand"
# Which touch does which step: a call logged as a voicemail does the voicemail step too.
TOUCH_DOES = {StepChannel.CALL: {"call"}, StepChannel.VOICEMAIL: {"call"}, StepChannel.EMAIL: {"email"},
              StepChannel.SMS: {"sms"}, StepChannel.LINKEDIN: {"linkedin"}}


class SequenceInvalid(FieldsInvalid):
    pass


def _lead_team(lead_id: int) -> Team | None:
    assignment = LeadAssignment.objects.filter(lead_id=lead_id).select_related("team").first()
    return assignment.team if assignment else None


def run_due_at(step: Step, lead: Lead, team: Team | None, *, start: datetime) -> datetime:
    return step_due_at(step, start=start, zone=lead_send_zone(lead, team), country=lead.country, team=team)


def variant_pick(step: Step) -> StepVariant | None:
    """The step's variant used least so far (ties: the one made first); None when it has no variants.

    The step's row is locked first, so two enrolments at once count each other's runs: the spread stays even
    (10 leads over 2 variants are 5 and 5) however many workers enrol at the same moment.
    """
    if not StepVariant.objects.filter(step=step).exists():
        return None
    Step.objects.select_for_update().filter(pk=step.pk).values_list("pk", flat=True).get()
    return (StepVariant.objects.filter(step=step).annotate(used=Count("runs")).order_by("used", "created_at", "id")
            .first())


def _schedule(enrollment: Enrollment, step: Step, lead: Lead, team: Team | None, *, start: datetime) -> StepRun:
    due_at = run_due_at(step, lead, team, start=start)
    return StepRun.objects.create(enrollment=enrollment, step=step, due_at=due_at, variant=variant_pick(step))


def _start_errors(lead: Lead, assignment: LeadAssignment, template: SequenceTemplate) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not template.is_active:
        errors["template"] = [f"The sequence {template.name!r} is not active."]
    elif not template.steps.exists():
        errors["template"] = [f"The sequence {template.name!r} has no steps."]
    if lead.status in (LeadStatus.DISQUALIFIED, LeadStatus.CLOSED) or assignment.state == LeadState.CLOSED:
        errors["lead"] = [f"This lead is {'disqualified' if lead.status == LeadStatus.DISQUALIFIED else 'closed'}: "
                          "it cannot join a sequence."]
    elif Unsubscribe.objects.filter(email__iexact=lead.email).exists():
        errors["lead"] = ["This lead unsubscribed from sequence email."]
    else:
        ongoing = Enrollment.objects.filter(lead=lead, status__in=ONGOING).select_related("template").first()
        if ongoing is not None:
            errors["lead"] = [f"This lead is in the sequence {ongoing.template.name!r} already."]
    return errors


@transaction.atomic
def enrollment_start(lead_id: int, template: SequenceTemplate, *, by: AbstractBaseUser | None,
                     now: datetime | None = None) -> Enrollment:
    """Enrol the lead (``by`` a rep or manager; None: the desk, on assignment) and schedule the first step."""
    now = now or timezone.now()
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is None:
        raise NotAllowed("No such lead.")
    assignment = assignment_locked(lead_id)  # enrolments of one lead queue up behind this lock
    if by is not None and by.pk not in (assignment.owner_id, getattr(assignment.team, "manager_id", None)):
        raise NotAllowed("Only the lead's owner or their manager enrols it in a sequence.")
    errors = _start_errors(lead, assignment, template)
    if errors:
        raise SequenceInvalid(errors)
    first = template.steps.order_by("position").first()
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(lead=lead, template=template, enrolled_by=by, started_at=now)
            run = _schedule(enrollment, first, lead, assignment.team, start=now)
    except IntegrityError:
        raise SequenceInvalid({"lead": ["This lead is in a sequence already."]}) from None
    except StepUnschedulable as error:
        raise SequenceInvalid({"template": [str(error)]}) from None
    how = "by hand" if by else f"on assignment ({template.get_tier_display() or 'any tier'})"
    timeline_record(lead=Lead(pk=lead_id), kind=SEQUENCE_KIND, actor=by, actor_label="" if by else ACTOR,
                    occurred_at=now, summary=f"Enrolled in the sequence {template.name} {how}; "
                                             f"first step: {first.get_channel_display()}",
                    data={"enrollment": enrollment.pk, "template": template.pk, "change": "started",
                          "next_due": run.due_at.isoformat()})
    return enrollment


def auto_template(team_id: int | None, tier: str) -> SequenceTemplate | None:
    """The team's sequence for the tier, enrolled on assignment (the team's own before any team's)."""
    if not tier:
        return None
    return (SequenceTemplate.objects.filter(Q(team_id=team_id) | Q(team__isnull=True), tier=tier, auto_enroll=True,
                                            is_active=True).order_by("team_id", "id").first())  # NULLs last


def _advance(run: StepRun, *, now: datetime) -> StepRun | None:
    """After ``run`` ended: schedule the next step, or complete the enrolment. The lead's timeline says which."""
    enrollment = run.enrollment
    step = enrollment.template.steps.filter(position__gt=run.step.position).order_by("position").first()
    lead = enrollment.lead
    if step is None:
        enrollment.status, enrollment.ended_at, enrollment.stop_reason = EnrollmentStatus.COMPLETED, now, ""
        enrollment.save(update_fields=["status", "ended_at", "stop_reason"])
        timeline_record(lead=Lead(pk=lead.pk), kind=SEQUENCE_KIND, actor_label=ACTOR, occurred_at=now,
                        summary=f"Sequence {enrollment.template.name} completed: every step done",
                        data={"enrollment": enrollment.pk, "change": "completed"})
        return None
    try:
        return _schedule(enrollment, step, lead, _lead_team(lead.pk), start=now)
    except StepUnschedulable as error:
        enrollment_stop(enrollment, reason=str(error), now=now)
        return None


def _runs_open(lead_id: int) -> StepRun | None:
    return (StepRun.objects.select_for_update(of=("self",))
            .select_related("step", "enrollment__template", "enrollment__lead")
            .filter(enrollment__lead_id=lead_id, enrollment__status=EnrollmentStatus.ACTIVE,
                    status__in=(StepRunStatus.PENDING, StepRunStatus.DUE))
            .order_by("step__position").first())


def run_complete(run: StepRun, *, by: AbstractBaseUser | None, now: datetime, note: str = "",
                 status: str = StepRunStatus.DONE) -> StepRun | None:
    """End the step run (done or skipped) on a row the caller holds locked; the next step is scheduled."""
    run.status, run.done_at, run.done_by = status, now, by
    if note:
        run.note = note[:200]
    run.save(update_fields=["status", "done_at", "done_by", "note"])
    return _advance(run, now=now)


def touch_done(lead_id: int, *, channel: str, rep_id: int | None, now: datetime) -> StepRun | None:
    """The owner's touch on the lead: it does the enrolment's current step when the channels agree.

    A call logged from the hot-lead card does the first call step; a touch on another channel leaves the
    step open. Automatic emails are the desk's to send, not done by a rep's own email.
    """
    run = _runs_open(lead_id)
    if run is None or (run.step.is_automatic and run.note != STALE_NOTE) or channel not in TOUCH_DOES.get(run.step.channel, ()):
        return None
    by = get_user_model()(pk=rep_id) if rep_id else None  # the touch's rep, by id: no query for the row
    # The step done first in the timeline, then what follows from it (the next step, or "completed").
    timeline_record(lead=Lead(pk=lead_id), kind=SEQUENCE_KIND, actor=by, actor_label="" if by else ACTOR,
                    occurred_at=now, summary=f"Sequence step {run.step.position + 1} "
                                             f"({run.step.get_channel_display()}) done",
                    data={"enrollment": run.enrollment_id, "run": run.pk, "change": "step_done"})
    run_complete(run, by=by, now=now)
    return run


def enrollment_stop(enrollment: Enrollment, *, reason: str, now: datetime | None = None,
                    actor: AbstractBaseUser | None = None) -> bool:
    """Stop an ongoing enrolment; its open step run is skipped. False when it had ended already."""
    now = now or timezone.now()
    stopped = Enrollment.objects.filter(pk=enrollment.pk, status__in=ONGOING).update(
        status=EnrollmentStatus.STOPPED, stop_reason=reason[:200], ended_at=now)
    if not stopped:
        return False
    StepRun.objects.filter(enrollment=enrollment, status__in=(StepRunStatus.PENDING, StepRunStatus.DUE)).update(
        status=StepRunStatus.SKIPPED, note=f"Stopped: {reason}"[:200], done_at=now)
    timeline_record(lead=Lead(pk=enrollment.lead_id), kind=SEQUENCE_KIND, actor=actor,
                    actor_label="" if actor else ACTOR, occurred_at=now,
                    summary=f"Sequence {enrollment.template.name} stopped: {reason}",
                    data={"enrollment": enrollment.pk, "change": "stopped", "reason": reason})
    return True


def lead_sequences_stop(lead_id: int, *, reason: str, now: datetime | None = None) -> int:
    return sum(enrollment_stop(e, reason=reason, now=now)
               for e in Enrollment.objects.filter(lead_id=lead_id, status__in=ONGOING).select_related("template"))


MEETING_SET = "meeting set"


@transaction.atomic
def lead_meeting_set(lead_id: int, *, since: datetime, now: datetime | None = None) -> Enrollment | None:
    """A meeting is set for the lead (a handoff with a meeting, a meeting set or moved): its sequence stops.

    A handoff qualifies the lead first, and that disposition stops the enrolment a moment before the
    handoff's entry is heard; the enrolment it stopped (a "disposition" stop at or after ``since``, the
    handoff's time) is the one the meeting ended, so its reason becomes "meeting set" (the meeting rate of
    a sequence counts it), said in the timeline. An enrolment that ended before the handoff is left alone.
    """
    now = now or timezone.now()
    ongoing = Enrollment.objects.filter(lead_id=lead_id, status__in=ONGOING).select_related("template").first()
    if ongoing is not None:
        return ongoing if enrollment_stop(ongoing, reason=MEETING_SET, now=now) else None
    stopped = (Enrollment.objects.select_for_update(of=("self",)).select_related("template")
               .filter(lead_id=lead_id, status=EnrollmentStatus.STOPPED, stop_reason__startswith="disposition",
                       ended_at__gte=since).order_by("-ended_at", "-id").first())
    if stopped is None:
        return None
    before = stopped.stop_reason
    stopped.stop_reason = MEETING_SET
    stopped.save(update_fields=["stop_reason"])
    timeline_record(lead=Lead(pk=lead_id), kind=SEQUENCE_KIND, actor_label=ACTOR, occurred_at=now,
                    summary=f"Sequence {stopped.template.name} stopped: meeting set (handed off with a meeting)",
                    data={"enrollment": stopped.pk, "change": "stopped", "reason": MEETING_SET,
                          "before": {"stop_reason": before}, "after": {"stop_reason": MEETING_SET}})
    return stopped


def signature_default(user: AbstractBaseUser) -> str:
    name = user.get_full_name() or user.get_username()  # type: ignore[attr-defined]
    return f"{name}\n{user.email}"  # type: ignore[attr-defined]


def signature_errors(text: str) -> dict[str, list[str]]:
    if len(text) > SIGNATURE_MAX_CHARS:
        return {"text": [f"At most {SIGNATURE_MAX_CHARS} characters (this one has {len(text):,})."]}
    if len(text.splitlines()) > SIGNATURE_MAX_LINES:
        return {"text": [f"At most {SIGNATURE_MAX_LINES} lines: a signature, not a letter."]}
    if "\x00" in text:
        return {"text": ["Plain text only."]}
    return {}


@transaction.atomic
def signature_set(*, user: AbstractBaseUser, text: str, now: datetime | None = None) -> RepSignature | None:
    """The rep's own sign-off for ``{rep_signature}``; an empty one returns them to the default (None)."""
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n"))
    errors = signature_errors(text)
    if errors:
        raise SequenceInvalid(errors)
    if not text:
        RepSignature.objects.filter(user=user).delete()
        return None
    signature, _ = RepSignature.objects.update_or_create(user=user, defaults={"text": text,
                                                                              "updated_at": now or timezone.now()})
    return signature


# --- the sweep --------------------------------------------------------------------------------


def _away_pause(now: datetime) -> int:
    """Pause the active enrolments of leads whose owner is away: set-based, one timeline entry each."""
    with transaction.atomic():
        rows = list(Enrollment.objects.select_for_update(skip_locked=True, of=("self",))
                    .filter(status=EnrollmentStatus.ACTIVE, lead__assignment__owner__rep__status=RepStatus.AWAY)
                    .values_list("pk", "lead_id"))
        if not rows:
            return 0
        Enrollment.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            status=EnrollmentStatus.PAUSED, pause_reason=REP_AWAY, paused_at=now)
        timeline_record_many([timeline_entry(lead=Lead(pk=lead_id), kind=SEQUENCE_KIND, actor_label=ACTOR,
                                             occurred_at=now, summary="Sequence paused: the rep is away",
                                             data={"enrollment": pk, "change": "paused"})
                              for pk, lead_id in rows])
    return len(rows)


def _away_resume(now: datetime, *, limit: int) -> int:
    """Resume the enrolments paused while their owner was away, each open step shifted by the time away.

    The shifted time is placed in the step's window again (holidays and weekends skipped), so a rep back
    from a week off finds the next steps spread as planned, not a pile of overdue ones.
    """
    resumed = 0
    back = Q(status=EnrollmentStatus.PAUSED) & (
        (Q(pause_reason=REP_AWAY) & ~Q(lead__assignment__owner__rep__status=RepStatus.AWAY))
        # An out-of-office answer pauses for a few days, then the sequence goes on (shifted as for an away rep).
        | Q(pause_reason="auto_reply", paused_at__lte=now - timedelta(
            days=getattr(settings, "SEQUENCES_AUTO_REPLY_PAUSE_DAYS", 3))))
    for _ in range(limit):
        with transaction.atomic():
            enrollment = (Enrollment.objects.select_for_update(skip_locked=True, of=("self",))
                          .select_related("lead", "template").filter(back).first())
            if enrollment is None:
                break
            away = now - (enrollment.paused_at or now)
            why = "the rep is back" if enrollment.pause_reason == REP_AWAY else "the auto-reply's pause is over"
            team = _lead_team(enrollment.lead_id)
            for run in enrollment.runs.filter(status=StepRunStatus.PENDING).select_related("step"):
                shifted = max(run.due_at + away, now)
                try:
                    calendar = window_calendar(run.step, zone=lead_send_zone(enrollment.lead, team),
                                               country=enrollment.lead.country, team=team, around=shifted)
                    run.due_at = next_opening(calendar, shifted) or shifted
                except StepUnschedulable:
                    run.due_at = shifted
                run.save(update_fields=["due_at"])
            enrollment.status, enrollment.pause_reason, enrollment.paused_at = EnrollmentStatus.ACTIVE, "", None
            enrollment.save(update_fields=["status", "pause_reason", "paused_at"])
            timeline_record(lead=Lead(pk=enrollment.lead_id), kind=SEQUENCE_KIND, actor_label=ACTOR, occurred_at=now,
                            summary=f"Sequence resumed: {why}; steps moved on by {_days(away)}",
                            data={"enrollment": enrollment.pk, "change": "resumed",
                                  "shift_seconds": away.total_seconds()})
            resumed += 1
    return resumed


def _days(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 24 else f"{hours:.1f} hours"


def _stale_after() -> timedelta:
    return timedelta(minutes=getattr(settings, "SEQUENCES_STALE_SEND_MINUTES", 60))


class DueRow(NamedTuple):
    run_id: int
    lead_id: int
    position: int
    channel: str
    automatic: bool
    due_at: datetime


def _due_take(now: datetime, *, batch: int, after: tuple[datetime, int] | None) -> list[tuple]:
    """Take and mark one batch in one statement: the rows picked ``FOR UPDATE SKIP LOCKED`` are set due and
    returned with what the hand-off needs. ``after`` (the last row of the sweep's previous batch) keeps the
    walk of the partial (due_at, id) index past the entries already marked: without it each batch would step
    over every earlier batch's dead entries again, and a sweep of 100,000 grew with the square of its batches."""
    if connection.vendor != "postgresql":
        return _due_take_portable(now, batch=batch, after=after)
    runs, enrollments, steps = StepRun._meta.db_table, Enrollment._meta.db_table, Step._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH picked AS (SELECT r.id FROM {runs} r JOIN {enrollments} e ON e.id = r.enrollment_id "
            "WHERE r.status = %s AND r.due_at <= %s AND e.status = %s AND (r.due_at, r.id) > (%s, %s) "
            "ORDER BY r.due_at, r.id LIMIT %s FOR UPDATE OF r SKIP LOCKED) "
            f"UPDATE {runs} r SET status = %s FROM picked, {enrollments} e, {steps} s "
            "WHERE r.id = picked.id AND e.id = r.enrollment_id AND s.id = r.step_id "
            "RETURNING r.id, e.lead_id, s.position, s.channel, s.mode, r.due_at",
            [StepRunStatus.PENDING, now, EnrollmentStatus.ACTIVE, *(after or (datetime.min.replace(tzinfo=UTC), 0)),
             batch, StepRunStatus.DUE])
        return sorted(cursor.fetchall(), key=lambda row: (row[5], row[0]))


def _due_take_portable(now: datetime, *, batch: int, after: tuple[datetime, int] | None) -> list[tuple]:
    """The same batch on the embedded SQLite default (the demo): no row locks there, since SQLite lets one
    writer at a time, so pick, mark and read back in three statements of the same transaction."""
    pending = StepRun.objects.filter(status=StepRunStatus.PENDING, due_at__lte=now,
                                     enrollment__status=EnrollmentStatus.ACTIVE)
    if after is not None:
        pending = pending.filter(Q(due_at__gt=after[0]) | Q(due_at=after[0], id__gt=after[1]))
    ids = list(pending.order_by("due_at", "id").values_list("id", flat=True)[:batch])
    StepRun.objects.filter(id__in=ids).update(status=StepRunStatus.DUE)
    return list(StepRun.objects.filter(id__in=ids).order_by("due_at", "id").values_list(
        "id", "enrollment__lead_id", "step__position", "step__channel", "step__mode", "due_at"))


def _due_mark(now: datetime, *, batch: int, stale: datetime, after: tuple[datetime, int] | None = None) -> list[DueRow]:
    """Mark one batch of pending step runs due and hand its human steps to the owners' boards, in one transaction.

    SKIP LOCKED lets sweeps on two workers share the work. The hand-off is set-based too (routing's
    ``leads_next_step_due``: one locking read, one ``UPDATE``, one timeline ``INSERT``, the board told per
    lead after commit), and commits with the marking, so a sweep that dies leaves neither half done.
    """
    with transaction.atomic():
        rows = [DueRow(pk, lead_id, position, channel, channel == StepChannel.EMAIL and mode == "automatic", due_at)
                for pk, lead_id, position, channel, mode, due_at in _due_take(now, batch=batch, after=after)]
        if not rows:
            return rows
        # Automatic emails are sent after the loop, with the retries; one that came due long ago waits for the rep.
        human = [row for row in rows if not row.automatic or row.due_at < stale]
        stale_ids = [row.run_id for row in human if row.automatic]
        if stale_ids:
            StepRun.objects.filter(pk__in=stale_ids).update(note=STALE_NOTE)
        leads_next_step_due([NextStepDue(lead_id=row.lead_id, at=row.due_at,
                                         note=f"Sequence step {row.position + 1}: {StepChannel(row.channel).label}")
                             for row in human], actor_label=ACTOR, now=now)
    return rows


def steps_due_sweep(*, now: datetime | None = None, batch: int = 1000, limit: int = 100) -> dict[str, int]:
    """Pause, resume, then mark what came due; manual steps go on the owner's Due today, emails are sent."""
    from sdr_desk.sequences.sending import steps_send_enqueue

    now = now or timezone.now()
    totals = {"paused": _away_pause(now), "resumed": _away_resume(now, limit=limit), "due": 0, "sends": 0}
    stale = now - _stale_after()
    after = None
    for _ in range(limit):
        rows = _due_mark(now, batch=batch, stale=stale, after=after)
        if not rows:
            break
        totals["due"] += len(rows)
        after = (rows[-1].due_at, rows[-1].run_id)
    # Every due automatic email without an outbox row: new ones, capped ones waiting, tasks the broker lost.
    sent = Outbox.objects.filter(enrollment_id=OuterRef("enrollment_id"), step_id=OuterRef("step_id"))
    waiting = list(StepRun.objects.filter(status=StepRunStatus.DUE, step__channel=StepChannel.EMAIL,
                                          step__mode="automatic", enrollment__status=EnrollmentStatus.ACTIVE)
                   .exclude(Exists(sent)).exclude(note__startswith=STALE_NOTE)
                   .order_by("due_at").values_list("pk", flat=True)[:batch])
    steps_send_enqueue(waiting)
    totals["sends"] = len(waiting)
    return totals
