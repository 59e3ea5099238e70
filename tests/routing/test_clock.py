"""Claiming, touches and the speed-to-lead clock: stopping, warnings, escalations, releases."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.db import connections
from django.utils import timezone

from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment, Rep, Touch
from sdr_desk.routing.ownership import AlreadyClaimed, NotAllowed, lead_claim
from sdr_desk.routing.sla import sla_sweep
from sdr_desk.routing.touches import TouchInvalid, lead_next_step_set, touch_log
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim_team(db):
    manager = UserFactory(username="mgr", email="mgr@desk.test")
    team = team_make("Claimers", visibility="claim", manager=manager)
    return team


@pytest.fixture
def offered(claim_team):
    ann = rep_make("ann", claim_team)
    bob = rep_make("bob", claim_team)
    lead = hot_lead()
    lead_route(lead.pk)
    return lead, ann, bob


class TestClaim:
    def test_the_first_claim_wins_and_the_second_is_told_who(self, offered):
        lead, ann, bob = offered
        assert lead_claim(lead.pk, user=ann).owner == ann
        with pytest.raises(AlreadyClaimed, match="Already taken by Ann"):
            lead_claim(lead.pk, user=bob)
        assert lead_claim(lead.pk, user=ann).owner == ann  # a double click stays a win

    def test_a_rep_of_another_team_may_not_claim(self, offered):
        lead, *_ = offered
        stranger = rep_make("zed", team_make("Other", is_default=False))
        with pytest.raises(NotAllowed):
            lead_claim(lead.pk, user=stranger)

    def test_the_api_answers_200_409_and_403(self, offered, client):
        lead, ann, bob = offered
        url = f"/api/v1/leads/{lead.pk}/claim/"
        client.force_login(ann)
        assert client.post(url).status_code == 200
        client.force_login(bob)
        response = client.post(url)
        assert response.status_code == 409 and "Ann" in response.json()["detail"]
        client.force_login(rep_make("zed", team_make("Other", is_default=False)))
        assert client.post(url).status_code == 403
        client.logout()
        assert client.post(url).status_code == 403
        assert client.post("/api/v1/leads/999999/claim/").status_code in (403, 404)

    def test_the_api_needs_the_csrf_token_like_a_browser(self, offered):
        from django.test import Client

        lead, ann, _ = offered
        strict = Client(enforce_csrf_checks=True)
        strict.force_login(ann)
        assert strict.post(f"/api/v1/leads/{lead.pk}/claim/").status_code == 403
        assert LeadAssignment.objects.get(lead=lead).owner is None

    def test_an_api_key_may_not_claim(self, offered, keyed):
        lead, *_ = offered
        assert keyed.post(f"/api/v1/leads/{lead.pk}/claim/").status_code == 403

    def test_concurrent_claims_have_exactly_one_winner(self, transactional_db):
        team = team_make("Race", visibility="claim")
        reps = [rep_make(f"r{i}", team) for i in range(6)]
        lead = hot_lead()
        lead_route(lead.pk)
        barrier = threading.Barrier(len(reps))
        results: list[str] = []

        def claim(user):
            try:
                barrier.wait()
                lead_claim(lead.pk, user=user)
                results.append("won")
            except AlreadyClaimed:
                results.append("lost")
            finally:
                connections.close_all()

        threads = [threading.Thread(target=claim, args=(user,)) for user in reps]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["lost"] * 5 + ["won"]
        assert LeadAssignment.objects.get(lead=lead).owner is not None
        assert lead.timeline.filter(kind="owner", data__change="claimed").count() == 1


class TestTouches:
    def test_the_first_touch_by_the_owner_stops_the_clock(self, offered):
        lead, ann, _ = offered
        lead_claim(lead.pk, user=ann)
        started = LeadAssignment.objects.get(lead=lead).sla_started_at
        at = started + timedelta(seconds=95)
        touch = touch_log(lead.pk, rep=ann, channel="call", outcome="connected", notes="Booked a demo", now=at)
        assignment = LeadAssignment.objects.get(lead=lead)
        assert touch.is_first and assignment.first_touch_at == at
        assert assignment.response_seconds == 95 and assignment.response_business_seconds == 95
        assert assignment.state == "working"
        second = touch_log(lead.pk, rep=ann, channel="email", now=at + timedelta(minutes=5))
        assert not second.is_first
        assert LeadAssignment.objects.get(lead=lead).response_seconds == 95
        summaries = list(lead.timeline.filter(kind="touch").values_list("summary", flat=True))
        assert "Call: connected (first touch) after 1 min 35 s" in summaries

    def test_only_the_owner_logs_touches(self, offered):
        lead, ann, bob = offered
        lead_claim(lead.pk, user=ann)
        with pytest.raises(NotAllowed):
            touch_log(lead.pk, rep=bob, channel="email")
        assert Touch.objects.count() == 0

    @pytest.mark.parametrize(("body", "field"), [
        ({"channel": "pigeon"}, "channel"),
        ({"channel": "call"}, "outcome"),
        ({"channel": "email", "outcome": "connected"}, "outcome"),
        ({"channel": "call", "outcome": "sort of"}, "outcome"),
        ({"channel": "email", "mood": "good"}, "mood"),
    ])
    def test_bad_touches_get_field_errors(self, offered, client, body, field):
        lead, ann, _ = offered
        lead_claim(lead.pk, user=ann)
        client.force_login(ann)
        response = client.post(f"/api/v1/leads/{lead.pk}/touches/", data=json.dumps(body),
                               content_type="application/json")
        assert response.status_code == 400
        assert field in response.json()["fields"]
        assert Touch.objects.count() == 0

    def test_the_touch_api_logs_and_answers_201(self, offered, client):
        lead, ann, bob = offered
        lead_claim(lead.pk, user=ann)
        client.force_login(bob)
        url = f"/api/v1/leads/{lead.pk}/touches/"
        body = json.dumps({"channel": "call", "outcome": "voicemail", "notes": "left VM"})
        assert client.post(url, data=body, content_type="application/json").status_code == 403
        client.force_login(ann)
        response = client.post(url, data=body, content_type="application/json")
        assert response.status_code == 201 and response.json()["is_first"] is True

    def test_a_touch_with_invalid_data_is_refused_by_the_service(self, offered):
        lead, ann, _ = offered
        lead_claim(lead.pk, user=ann)
        with pytest.raises(TouchInvalid):
            touch_log(lead.pk, rep=ann, channel="call")


class TestEscalation:
    def test_an_unclaimed_lead_goes_to_the_backup_then_the_manager_queue(self, claim_team):
        backup = rep_make("backup", claim_team)
        rep_make("ann", claim_team)
        claim_team.backup_rep = backup
        claim_team.save()
        lead = hot_lead()
        assignment = lead_route(lead.pk)
        due = assignment.sla_due_at
        assert sla_sweep(now=due - timedelta(seconds=1))["escalated"] == 0
        assert sla_sweep(now=due)["escalated"] == 1
        assignment.refresh_from_db()
        assert assignment.owner == backup and assignment.escalation_level == 1
        assert sla_sweep(now=assignment.sla_due_at)["escalated"] == 1
        assignment.refresh_from_db()
        assert assignment.owner is None and assignment.state == "escalated" and assignment.escalation_level == 2
        reasons = list(lead.timeline.filter(kind="owner", data__change="escalated").order_by("id")
                       .values_list("data__reason", flat=True))
        assert reasons == ["SLA missed (unclaimed); to the backup rep",
                           "SLA missed (untouched by backup); to the manager queue"]

    def test_a_warning_comes_before_the_deadline_once(self, claim_team):
        rep_make("ann", claim_team)
        assignment = lead_route(hot_lead().pk)
        assert sla_sweep(now=assignment.sla_warn_at)["warned"] == 1
        assert sla_sweep(now=assignment.sla_warn_at + timedelta(seconds=5))["warned"] == 0
        assert (assignment.sla_warn_at - assignment.sla_started_at).total_seconds() == 300 * 0.6

    def test_a_touched_lead_never_escalates(self, offered):
        lead, ann, _ = offered
        lead_claim(lead.pk, user=ann)
        touch_log(lead.pk, rep=ann, channel="email")
        due = LeadAssignment.objects.get(lead=lead).sla_due_at
        assert sla_sweep(now=due + timedelta(hours=1)) == {"warned": 0, "escalated": 0, "released": 0}

    def test_a_claimed_lead_left_untouched_returns_to_the_board(self, offered):
        lead, ann, _ = offered
        claimed = lead_claim(lead.pk, user=ann)
        assert sla_sweep(now=claimed.claim_expires_at - timedelta(seconds=1))["released"] == 0
        assert sla_sweep(now=claimed.claim_expires_at)["released"] == 1
        assignment = LeadAssignment.objects.get(lead=lead)
        assert assignment.owner is None and assignment.state == "offered"

    def test_a_planned_next_step_keeps_the_claim(self, offered):
        lead, ann, _ = offered
        claimed = lead_claim(lead.pk, user=ann)
        lead_next_step_set(lead.pk, rep=ann, at=timezone.now() + timedelta(hours=2), note="email back")
        assert sla_sweep(now=claimed.claim_expires_at + timedelta(minutes=1))["released"] == 0
        assert LeadAssignment.objects.get(lead=lead).owner == ann

    @pytest.mark.parametrize("channel", ["email", "sms", "linkedin"])
    def test_a_touch_on_any_channel_keeps_the_claim(self, offered, channel):
        lead, ann, _ = offered
        claimed = lead_claim(lead.pk, user=ann)
        touch_log(lead.pk, rep=ann, channel=channel, notes="no phone number")
        assert sla_sweep(now=claimed.claim_expires_at + timedelta(minutes=1))["released"] == 0

    def test_a_returned_claim_says_why_in_the_timeline(self, offered):
        lead, ann, _ = offered
        claimed = lead_claim(lead.pk, user=ann)
        sla_sweep(now=claimed.claim_expires_at)
        entry = lead.timeline.filter(kind="owner", data__change="released").get()
        assert entry.data["reason"] == "claimed 3 minutes ago with no touch and no next step planned"
        assert entry.data["before"]["owner"] == "ann"

    def test_an_escalated_lead_keeps_its_missed_deadline_and_is_not_swept_again(self, claim_team):
        rep_make("ann", claim_team)
        assignment = lead_route(hot_lead().pk)
        due = assignment.sla_due_at
        sla_sweep(now=due)
        assignment.refresh_from_db()
        assert assignment.state == "escalated" and assignment.sla_due_at == due  # shown as overdue, not "No SLA"
        assert sla_sweep(now=due + timedelta(hours=3)) == {"warned": 0, "escalated": 0, "released": 0}

    def test_claiming_an_escalated_lead_gives_a_fresh_target_not_a_second_escalation(self, claim_team):
        ann = rep_make("ann", claim_team)
        assignment = lead_route(hot_lead().pk)
        due = assignment.sla_due_at
        sla_sweep(now=due)
        later = due + timedelta(minutes=30)
        claimed = lead_claim(assignment.lead_id, user=ann, now=later)
        assert claimed.sla_due_at == later + timedelta(minutes=5)  # the hand-raiser target again, from the claim
        assert claimed.sla_started_at == assignment.sla_started_at  # the response still counts from arrival
        assert sla_sweep(now=later + timedelta(minutes=1))["escalated"] == 0

    def test_a_sweep_run_twice_or_late_escalates_once(self, claim_team):
        rep_make("ann", claim_team)
        assignment = lead_route(hot_lead().pk)
        downtime_end = assignment.sla_due_at + timedelta(hours=6)
        first = sla_sweep(now=downtime_end)
        second = sla_sweep(now=downtime_end)
        assert first["escalated"] == 1 and second["escalated"] == 0
        assignment.refresh_from_db()
        assert assignment.state == "escalated"  # one step per deadline, not one per missed minute

    def test_concurrent_sweeps_escalate_each_lead_once(self, transactional_db):
        team = team_make("T", visibility="claim")
        rep_make("ann", team)
        leads = [hot_lead() for _ in range(10)]
        for lead in leads:
            lead_route(lead.pk)
        late = timezone.now() + timedelta(hours=1)
        barrier = threading.Barrier(4)
        totals = []

        def sweep():
            try:
                barrier.wait()
                totals.append(sla_sweep(now=late)["escalated"])
            finally:
                connections.close_all()

        threads = [threading.Thread(target=sweep) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(totals) == 10
        for lead in leads:
            assert lead.timeline.filter(kind="owner", data__change="escalated").count() == 1

    def test_a_rep_who_lets_leads_escalate_in_a_row_is_set_away_and_the_manager_told(
            self, claim_team, django_capture_on_commit_callbacks):
        claim_team.escalation_streak_limit = 2
        claim_team.escalation_path = "manager"
        claim_team.visibility = "owned"
        claim_team.save()
        slow = rep_make("slow", claim_team, capacity=10)
        for _ in range(2):
            assignment = lead_route(hot_lead().pk)
            assert assignment.owner == slow
            with django_capture_on_commit_callbacks(execute=True):
                sla_sweep(now=assignment.sla_due_at)
        rep = Rep.objects.get(user=slow)
        assert rep.status == "away" and rep.escalation_streak == 2
        assert len(mail.outbox) == 1 and "slow" in mail.outbox[0].subject.lower()
        assert mail.outbox[0].to == ["mgr@desk.test"]


class TestBusinessHoursClock:
    def test_a_lead_after_hours_starts_its_clock_at_the_next_opening(self, db):
        team = team_make("NY", visibility="claim", time_zone="America/New_York",
                         business_hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")})
        rep_make("ann", team)
        friday_evening = datetime(2026, 11, 20, 23, 0, tzinfo=timezone.get_current_timezone())  # 18:00 in NY
        lead = hot_lead(when=friday_evening - timedelta(minutes=1))
        from sdr_desk.routing.engine import lead_route as route

        assignment = route(lead.pk, now=friday_evening)
        # Monday 09:00 New York (14:00 UTC) plus five business minutes.
        assert assignment.sla_due_at == datetime(2026, 11, 23, 14, 5, tzinfo=timezone.get_current_timezone())
