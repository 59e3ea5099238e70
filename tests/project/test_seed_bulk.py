"""``seed_bulk``: 2,000 leads made set-based obey the desk's constraints and invariants, and the desk works on them.

Seeded once for the module (inside a transaction rolled back at the end); each test reads it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q

from inbound.models import Activity, Lead, Source, Submission, TimelineEntry
from scoring.models import LeadScore
from sdr_desk.bulk import bulk_seed
from sdr_desk.dispositions.models import Disposition
from sdr_desk.handoff.models import Handoff
from sdr_desk.routing.business_hours import add_business_seconds, business_seconds_between, is_open
from sdr_desk.routing.clock import team_calendar
from sdr_desk.routing.models import LeadAssignment, Team, Touch
from sdr_desk.sequences.models import Enrollment, StepRun

LEADS = 2000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bulk(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        result = bulk_seed(leads=LEADS, days=365, seed=7)
        yield result
        transaction.set_rollback(True)


def sql(statement: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall()


def test_it_makes_every_lead_with_its_rows(bulk, db):
    assert Lead.objects.count() == LEADS
    assert LeadScore.objects.count() == LEADS
    assert LeadAssignment.objects.count() == LEADS
    assert not Lead.objects.filter(timeline__isnull=True).exists()
    assert Submission.objects.filter(created_lead=True).count() == LEADS
    assert not Lead.objects.annotate(n=Count("submissions")).exclude(n=F("conversion_count")).exists()
    per_lead = Activity.objects.count() / LEADS
    assert 8 <= per_lead <= 13, per_lead
    assert set(LeadScore.objects.values_list("tier", flat=True)) == {"hand_raiser", "researcher", "light", "none"}
    assert Source.objects.filter(leads__isnull=False).distinct().count() >= 8
    assert Lead.objects.exclude(utm_campaign="").values("utm_campaign").distinct().count() >= 10


def test_first_and_last_conversions_differ_for_some_leads(bulk, db):
    differ = sql("""
        SELECT count(*) FROM inbound_lead l
        JOIN inbound_activity f ON f.lead_id = l.id AND f.type = 'form_submit' AND f.occurred_at = l.created_at
        JOIN inbound_activity la ON la.lead_id = l.id AND la.type = 'form_submit' AND la.occurred_at = l.last_converted_at
        WHERE l.conversion_count > 1 AND (f.source_id <> la.source_id OR f.attribution <> la.attribution)""")[0][0]
    assert differ > 50
    first = Lead.objects.filter(conversion_count=1).first()
    activity = Activity.objects.get(lead=first, type="form_submit")
    assert (first.last_form_type, first.last_converted_at, first.source_id) == (
        activity.form_type, activity.occurred_at, activity.source_id)


def test_arrivals_have_seasonality_and_some_come_after_hours(bulk, db):
    weekdays = dict(sql("SELECT extract(isodow FROM created_at AT TIME ZONE 'America/New_York')::int, count(*) "
                        "FROM inbound_lead GROUP BY 1"))
    assert weekdays.get(6, 0) + weekdays.get(7, 0) > 0
    assert weekdays[2] > 3 * weekdays.get(7, 0)
    calendars = {team.pk: team_calendar(team) for team in Team.objects.all()}
    rows = list(LeadAssignment.objects.values_list("team_id", "sla_started_at", "routed_at")[:400])
    after = [(team, started, routed) for team, started, routed in rows if not is_open(calendars[team], started)]
    assert 0.08 < len(after) / len(rows) < 0.6
    # Queued after hours until the team opened (or still queued when it has not opened yet).
    assert all(routed >= started for _, started, routed in rows)
    assert any(routed - started > timedelta(hours=2) for _, started, routed in after)
    assert all(routed - started < timedelta(minutes=1) for team, started, routed in rows
               if is_open(calendars[team], started))


def test_the_clock_agrees_with_the_desks_business_time(bulk, db):
    assert not LeadAssignment.objects.exclude(sla_started_at=F("lead__created_at")).exists()
    calendars = {team.pk: team_calendar(team) for team in Team.objects.all()}
    touched = LeadAssignment.objects.filter(first_touch_at__isnull=False).select_related("team")
    for a in touched[:300]:
        assert a.response_seconds == pytest.approx((a.first_touch_at - a.sla_started_at).total_seconds(), abs=1e-3)
        desk = business_seconds_between(calendars[a.team_id], a.sla_started_at, a.first_touch_at)
        assert a.response_business_seconds == pytest.approx(desk, abs=1e-3), a.lead_id
    on_time = LeadAssignment.objects.filter(escalation_level=0, sla_due_at__isnull=False)
    for a in on_time[:200]:
        seconds = a.team.sla_seconds(a.tier)
        assert a.sla_due_at == add_business_seconds(calendars[a.team_id], a.sla_started_at, seconds)
        warn = add_business_seconds(calendars[a.team_id], a.sla_started_at, seconds * a.team.warn_fraction)
        assert abs((a.sla_warn_at - warn).total_seconds()) < 1e-3
    assert not LeadAssignment.objects.filter(tier__in=["light", "none"], sla_due_at__isnull=False).exists()


def test_response_times_are_skewed_with_a_long_tail_and_some_never_touched(bulk, db):
    never = LeadAssignment.objects.filter(first_touch_at__isnull=True).count() / LEADS
    assert 0.05 < never < 0.25, never
    fast = LeadAssignment.objects.filter(response_seconds__lt=300).count()
    slow = LeadAssignment.objects.filter(response_seconds__gt=86400).count()
    assert fast > 150 and slow > 150
    assert LeadAssignment.objects.filter(escalation_level=1).exists()
    assert LeadAssignment.objects.filter(escalation_level=2).exists()
    assert not LeadAssignment.objects.filter(escalation_level=2, first_touch_at__isnull=True).exclude(
        state__in=["escalated", "closed"]).exists()
    assert not LeadAssignment.objects.filter(state="escalated").exclude(owner__isnull=True).exists()


def test_every_touched_lead_has_one_first_touch_at_its_first_touch_time(bulk, db):
    rows = Touch.objects.values("lead_id").annotate(first=Count("id", filter=Q(is_first=True)),
                                                     earliest=Min("occurred_at"), n=Count("id"))
    assert rows and all(row["first"] == 1 for row in rows)
    assert all(2 <= row["n"] <= 6 for row in rows if row["n"] != 1) and min(row["n"] for row in rows) >= 1
    assert not Touch.objects.filter(is_first=True).exclude(occurred_at=F("lead__assignment__first_touch_at")).exists()
    assert not Touch.objects.filter(occurred_at__lt=F("lead__assignment__first_touch_at")).exists()
    assert not Touch.objects.exclude(rep_id=F("lead__assignment__owner_id")).exists()
    assert not Touch.objects.filter(channel="call", outcome="").exists()
    assert not Touch.objects.exclude(channel="call").exclude(outcome="").exists()
    assert Touch.objects.filter(outcome="connected").exists()
    # A first touch stops the clock; a lead closed untouched stops it at its disposition (lead_disposition).
    untouched_closed = LeadAssignment.objects.filter(first_touch_at__isnull=False, lead__touches__isnull=True)
    assert not untouched_closed.exclude(state="closed").exists()
    assert not Lead.objects.filter(touches__isnull=False).exclude(status__in=[
        "working", "qualified", "disqualified", "nurture", "closed", "new"]).exists()


def test_dispositions_follow_the_codes_and_the_lead_status(bulk, db):
    worked = LeadAssignment.objects.filter(lead__touches__isnull=False).distinct().count()
    current = Disposition.objects.filter(is_current=True)
    assert current.count() > worked / 2
    assert current.values("code__slug").distinct().count() >= 6
    for disposition in current.select_related("code", "lead", "lead__assignment")[:300]:
        code = disposition.code
        assert disposition.lead.assignment.state == "closed"
        assert disposition.lead.status == {"qualified": "qualified", "nurture": "nurture",
                                           "disqualified": "disqualified", "closed": "closed"}[code.outcome]
        if code.reason_required:
            assert disposition.reason in code.reasons
        assert (disposition.reengage_on is not None) == code.needs_reengage_date
        if disposition.reengage_on:
            assert disposition.reengage_on > disposition.recorded_at.date()
    assert not LeadAssignment.objects.filter(state="closed").exclude(
        lead__dispositions__is_current=True).exists()
    assert Disposition.objects.filter(code__slug="bad-fit").values("reason").distinct().count() >= 4
    # Qualified codes need the checklist's required answers.
    qualified = Disposition.objects.filter(code__outcome="qualified").values_list("lead_id", flat=True)
    assert not Lead.objects.filter(pk__in=qualified).annotate(n=Count("qualification_answers")).filter(n__lt=3).exists()


def test_handoffs_only_for_qualified_leads_with_verdicts_and_meetings(bulk, db):
    handoffs = Handoff.objects.all()
    assert handoffs.count() > 20
    assert not handoffs.exclude(lead__dispositions__code__outcome="qualified").exists()
    assert not handoffs.filter(status__in=["pending", "accepted"]).exclude(
        lead__dispositions__is_current=True, lead__dispositions__code__outcome="qualified").exists()
    statuses = set(handoffs.values_list("status", flat=True))
    assert {"accepted", "rejected"} <= statuses
    assert not handoffs.filter(status="rejected", verdict_reason="").exists()
    assert not handoffs.filter(status="accepted").exclude(verdict_reason="").exists()
    assert not handoffs.filter(verdict_at__lt=F("handed_at")).exists()
    assert {"held", "no_show"} <= set(handoffs.values_list("meeting_status", flat=True))
    assert not handoffs.filter(meeting_status__in=["held", "no_show"]).exclude(status="accepted").exists()
    assert not handoffs.exclude(sdr_id=F("lead__assignment__owner_id")).exists()
    # A rejected handoff returned the lead: its disposition retired, the lead worked again or dispositioned anew.
    for handoff in handoffs.filter(status="rejected").select_related("lead__assignment"):
        current = handoff.lead.dispositions.filter(is_current=True).first()
        assert current is None or current.code.outcome != "qualified"
        assert handoff.lead.assignment.state == ("closed" if current else "working")
        assert handoff.lead.status != "qualified"
    assert not Disposition.objects.filter(is_current=False).exclude(lead__handoffs__status="rejected").exists()


def test_enrolments_are_active_completed_or_stopped_as_the_sequences_leave_them(bulk, db):
    statuses = set(Enrollment.objects.values_list("status", flat=True))
    assert {"active", "completed", "stopped"} <= statuses
    assert not Enrollment.objects.filter(status="active", lead__assignment__state="closed").exists()
    for enrollment in Enrollment.objects.filter(status="active")[:100]:
        assert enrollment.runs.filter(status="pending").count() == 1
    assert not Enrollment.objects.filter(status="completed").exclude(runs__status="done").exists()
    assert not StepRun.objects.filter(status="skipped").exclude(enrollment__status="stopped").exists()
    assert Enrollment.objects.filter(status="stopped", stop_reason="connected call").exists()
    assert not Enrollment.objects.exclude(enrolled_by_id=F("lead__assignment__owner_id")).exclude(
        lead__handoffs__status="rejected").exists()


def test_ids_continue_after_the_seed_and_a_second_run_adds(bulk, db):
    before = Lead.objects.aggregate(top=Max("id"))["top"]
    lead = Lead.objects.create(email="after.seed@example.com")
    assert lead.pk > before
    TimelineEntry.objects.create(lead=lead, kind="created", summary="made after the seed")
    team = Team.objects.get(name="North America East")
    Touch.objects.create(lead=lead, rep=team.manager, channel="email")
    call_command("seed_bulk", leads=50, seed=8, verbosity=0)
    assert Lead.objects.count() == LEADS + 51
    assert Team.objects.filter(name="North America East").count() == 1


@pytest.mark.parametrize("path", ["/leads/", "/dispositions/", "lead"])
def test_the_desks_pages_render_on_it(bulk, db, client, path):
    from django.contrib.auth import get_user_model

    manager = get_user_model().objects.get(username="bulk-manager-americas")
    client.force_login(manager)
    if path == "lead":
        handoff = Handoff.objects.filter(sdr_team__manager=manager, status="accepted").first()
        path = f"/leads/{handoff.lead_id}/"
    response = client.get(path)
    assert response.status_code == 200
    assert b"Traceback" not in response.content


def test_it_refuses_sqlite_clearly(tmp_path):
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path}/desk.sqlite3"}
    run = subprocess.run([sys.executable, "manage.py", "seed_bulk", "--leads", "10"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "PostgreSQL" in run.stderr and "sqlite" in run.stderr
    assert not (tmp_path / "desk.sqlite3").exists() or (tmp_path / "desk.sqlite3").stat().st_size == 0
