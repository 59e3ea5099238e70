"""The next step on a lead: planned by its owner, due on their board that day, in the timeline, over the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from inbound.models import TimelineEntry
from sdr_desk.board.live import DUE, HOT, MINE, facts_of, section_for, viewer_for
from sdr_desk.board.models import BoardEvent
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment, Rep
from sdr_desk.routing.ownership import NotAllowed, lead_claim
from sdr_desk.routing.touches import TouchInvalid, lead_next_step_set, touch_log
from tests.desk_fixtures import hot_lead, rep_make, team_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    team = team_make("Inbound", visibility="claim")
    ann, bob = rep_make("ann", team), rep_make("bob", team)
    lead = hot_lead()
    lead_route(lead.pk)
    lead_claim(lead.pk, user=ann)
    touch_log(lead.pk, rep=ann, channel="call", outcome="voicemail")
    return {"team": team, "ann": ann, "bob": bob, "lead": lead}


def assignment_of(lead) -> LeadAssignment:
    return LeadAssignment.objects.get(lead=lead)


class TestPlanning:
    def test_the_owner_plans_a_next_step_and_it_lands_in_the_timeline_and_on_the_boards(self, desk):
        at = timezone.now() + timedelta(hours=3)
        events = BoardEvent.objects.count()
        lead_next_step_set(desk["lead"].pk, rep=desk["ann"], at=at, note="Call back after their board meeting")
        assignment = assignment_of(desk["lead"])
        assert assignment.next_step_at == at and assignment.next_step == "Call back after their board meeting"
        entry = TimelineEntry.objects.filter(lead=desk["lead"], kind="next_step").get()
        assert entry.actor == desk["ann"] and entry.summary.startswith("Next step: Call back after their board")
        assert entry.data["before"] == {"at": None, "note": ""}
        assert BoardEvent.objects.count() == events + 1

    def test_clearing_the_step_is_recorded_too(self, desk):
        lead_next_step_set(desk["lead"].pk, rep=desk["ann"], at=timezone.now() + timedelta(hours=1), note="Call")
        lead_next_step_set(desk["lead"].pk, rep=desk["ann"], at=None)
        assignment = assignment_of(desk["lead"])
        assert assignment.next_step_at is None and assignment.next_step == ""
        assert TimelineEntry.objects.filter(lead=desk["lead"], kind="next_step", summary="Next step cleared").exists()

    def test_only_the_owner_plans_the_next_step(self, desk):
        with pytest.raises(NotAllowed):
            lead_next_step_set(desk["lead"].pk, rep=desk["bob"], at=timezone.now() + timedelta(hours=1))
        assert assignment_of(desk["lead"]).next_step_at is None

    @pytest.mark.parametrize("at, note, field", [
        (lambda now: now - timedelta(hours=1), "", "next_step_at"),
        (lambda now: now + timedelta(days=400), "", "next_step_at"),
        (lambda now: now + timedelta(hours=1), "x" * 201, "next_step"),
        (lambda now: None, "Call back", "next_step_at"),
        (lambda now: datetime(2030, 1, 1, 10, 0), "", "next_step_at"),  # naive: no time zone
    ])
    def test_a_bad_next_step_is_refused_field_by_field_and_changes_nothing(self, desk, at, note, field):
        entries = TimelineEntry.objects.count()
        with pytest.raises(TouchInvalid) as error:
            lead_next_step_set(desk["lead"].pk, rep=desk["ann"], at=at(timezone.now()), note=note)
        assert field in error.value.errors
        assert assignment_of(desk["lead"]).next_step_at is None
        assert TimelineEntry.objects.count() == entries


class TestTouchesAndSteps:
    def test_a_touch_can_plan_the_next_one(self, desk):
        at = timezone.now() + timedelta(days=1)
        touch_log(desk["lead"].pk, rep=desk["ann"], channel="email", next_step_at=at, next_step="Send the pricing")
        assignment = assignment_of(desk["lead"])
        assert (assignment.next_step_at, assignment.next_step) == (at, "Send the pricing")
        kinds = list(TimelineEntry.objects.filter(lead=desk["lead"]).order_by("-id").values_list("kind", flat=True)[:2])
        assert kinds == ["next_step", "touch"]  # the touch first, then what it planned

    def test_a_touch_at_the_due_time_completes_the_step_and_a_later_step_survives_other_touches(self, desk):
        now = timezone.now()
        lead_next_step_set(desk["lead"].pk, rep=desk["ann"], at=now + timedelta(hours=1), note="Call")
        touch_log(desk["lead"].pk, rep=desk["ann"], channel="email", now=now + timedelta(minutes=5))
        assert assignment_of(desk["lead"]).next_step_at == now + timedelta(hours=1)  # not due yet: kept
        touch_log(desk["lead"].pk, rep=desk["ann"], channel="call", outcome="connected", now=now + timedelta(hours=2))
        assert assignment_of(desk["lead"]).next_step_at is None  # that call was the step

    def test_a_touch_with_a_bad_next_step_logs_nothing(self, desk):
        touches = desk["lead"].touches.count()
        with pytest.raises(TouchInvalid) as error:
            touch_log(desk["lead"].pk, rep=desk["ann"], channel="email",
                      next_step_at=timezone.now() - timedelta(days=2))
        assert "next_step_at" in error.value.errors
        assert desk["lead"].touches.count() == touches


class TestDueToday:
    def test_due_today_ends_at_midnight_where_the_rep_works(self, desk):
        Rep.objects.filter(user=desk["ann"]).update(time_zone="Asia/Tokyo")
        viewer = viewer_for(desk["ann"])
        now = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # 22:00 in Tokyo
        assignment = assignment_of(desk["lead"])
        assignment.next_step_at = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # 23:30 Tokyo: today
        assert section_for(viewer, facts_of(assignment), now=now) == DUE
        assignment.next_step_at = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 00:30 tomorrow
        assert section_for(viewer, facts_of(assignment), now=now) == MINE

    def test_an_overdue_step_stays_due_and_an_untouched_hot_lead_stays_hot(self, desk):
        viewer = viewer_for(desk["ann"])
        assignment = assignment_of(desk["lead"])
        assignment.next_step_at = timezone.now() - timedelta(days=3)
        assert section_for(viewer, facts_of(assignment)) == DUE
        assignment.first_touch_at = None
        assert section_for(viewer, facts_of(assignment)) == HOT

    def test_someone_elses_due_lead_is_not_on_my_board(self, desk):
        assignment = assignment_of(desk["lead"])
        assignment.next_step_at = timezone.now()
        assert section_for(viewer_for(desk["bob"]), facts_of(assignment)) is None


class TestApi:
    def api_for(self, user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    def test_the_owner_plans_and_clears_the_next_step_over_the_api(self, desk):
        url = f"/api/v1/leads/{desk['lead'].pk}/next-step/"
        at = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
        response = self.api_for(desk["ann"]).post(url, {"at": at.isoformat(), "note": "Demo prep"}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["next_step"] == "Demo prep"
        lead = self.api_for(desk["ann"]).get(f"/api/v1/leads/{desk['lead'].pk}/").json()
        assert lead["next_step"] == "Demo prep" and lead["next_step_at"] is not None
        response = self.api_for(desk["ann"]).post(url, {"at": None}, format="json")
        assert response.status_code == 200 and response.json()["next_step_at"] is None

    @pytest.mark.parametrize("body, field", [
        ({"at": "next tuesday"}, "at"),
        ({"note": "no time"}, "at"),
        ({"at": None, "colour": "red"}, "colour"),
    ])
    def test_bad_bodies_get_field_errors(self, desk, body, field):
        response = self.api_for(desk["ann"]).post(f"/api/v1/leads/{desk['lead'].pk}/next-step/", body, format="json")
        assert response.status_code == 400 and field in response.json()["fields"]

    def test_a_past_time_is_refused_by_the_service_with_its_field(self, desk):
        at = (timezone.now() - timedelta(days=1)).isoformat()
        response = self.api_for(desk["ann"]).post(f"/api/v1/leads/{desk['lead'].pk}/next-step/", {"at": at},
                                                  format="json")
        assert response.status_code == 400 and "next_step_at" in response.json()["fields"]

    def test_nobody_but_the_owner_and_no_api_key_may_plan_it(self, desk, keyed):
        url = f"/api/v1/leads/{desk['lead'].pk}/next-step/"
        at = (timezone.now() + timedelta(days=1)).isoformat()
        assert self.api_for(desk["bob"]).post(url, {"at": at}, format="json").status_code == 403
        assert keyed.post(url, {"at": at}, format="json").status_code in (401, 403)
        assert APIClient().post(url, {"at": at}, format="json").status_code in (401, 403)
        assert self.api_for(desk["ann"]).post("/api/v1/leads/999999/next-step/", {"at": at},
                                              format="json").status_code == 404
        assert assignment_of(desk["lead"]).next_step_at is None

    def test_a_touch_over_the_api_can_plan_the_next_step(self, desk):
        at = (timezone.now() + timedelta(hours=5)).isoformat()
        response = self.api_for(desk["ann"]).post(f"/api/v1/leads/{desk['lead'].pk}/touches/",
                                                  {"channel": "email", "next_step_at": at, "next_step": "Follow up"},
                                                  format="json")
        assert response.status_code == 201, response.content
        assert assignment_of(desk["lead"]).next_step == "Follow up"
