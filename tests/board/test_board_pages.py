"""The board page: its sections, Claim without JavaScript, the sound setting, and managers watching reps' boards."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sdr_desk.board.models import BoardPreference
from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import lead_next_step_set, touch_log
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    boss = UserFactory(username="boss", roles=[Role.MANAGER])
    other_boss = UserFactory(username="otherboss", roles=[Role.MANAGER])
    team = team_make("Inbound", visibility="claim", manager=boss)
    elsewhere = team_make("Elsewhere", visibility="owned", is_default=False, manager=other_boss)
    ann, bob = rep_make("ann", team), rep_make("bob", team)
    olga = rep_make("olga", elsewhere)
    return {"boss": boss, "other_boss": other_boss, "team": team, "ann": ann, "bob": bob, "olga": olga}


def signed_in(user, *, strict: bool = False) -> Client:
    client = Client(enforce_csrf_checks=strict)
    client.force_login(user)
    return client


def worked_lead(rep, **fields):
    """A hot lead the rep claimed and called once."""
    lead = hot_lead(**fields)
    lead_route(lead.pk)
    lead_claim(lead.pk, user=rep)
    touch_log(lead.pk, rep=rep, channel="call", outcome="no_answer")
    return lead


def section_html(body: str, name: str) -> str:
    match = re.search(rf'data-cards="{name}">(.*?)</div>\s*<p class="empty"', body, re.S)
    assert match, name
    return match.group(1)


class TestSections:
    def test_due_today_holds_next_steps_due_today_and_the_rest_stay_in_my_open_leads(self, desk):
        today = worked_lead(desk["ann"], first_name="Today")
        later = worked_lead(desk["ann"], first_name="Later")
        lead_next_step_set(today.pk, rep=desk["ann"], at=timezone.now() + timedelta(minutes=1), note="Call back")
        lead_next_step_set(later.pk, rep=desk["ann"], at=timezone.now() + timedelta(days=3), note="Check in")
        body = signed_in(desk["ann"]).get("/board/").content.decode()
        due, mine = section_html(body, "due"), section_html(body, "mine")
        assert f'id="card-{today.pk}"' in due and "Call back" in due
        assert f'id="card-{later.pk}"' in mine and f'id="card-{later.pk}"' not in due

    def test_the_board_page_takes_the_same_number_of_queries_for_three_cards_or_thirty(self, desk):
        def queries() -> int:
            client = signed_in(desk["ann"])
            with CaptureQueriesContext(connection) as captured:
                assert client.get("/board/").status_code == 200
            return len(captured)

        worked_lead(desk["ann"])
        for _ in range(2):
            lead_route(hot_lead().pk)
        few = queries()
        for _ in range(12):
            worked_lead(desk["ann"])
            lead_route(hot_lead().pk)
        assert queries() == few

    def test_users_without_a_role_may_not_see_a_board(self, desk):
        assert signed_in(UserFactory(username="nobody")).get("/board/").status_code == 403
        assert Client().get("/board/").status_code == 302


class TestClaimWithoutJavaScript:
    def test_a_card_on_the_page_carries_the_csrf_token_so_the_plain_form_claims(self, desk):
        lead = hot_lead()
        lead_route(lead.pk)
        client = signed_in(desk["ann"], strict=True)
        body = client.get("/board/").content.decode()
        card = body[body.index(f'id="card-{lead.pk}"'):]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', card).group(1)
        response = client.post(f"/leads/{lead.pk}/claim/", {"csrfmiddlewaretoken": token, "next": "/board/"})
        assert response.status_code == 302 and response["Location"] == f"/leads/{lead.pk}/"
        assert LeadAssignment.objects.get(lead=lead).owner == desk["ann"]

    def test_without_the_token_the_claim_is_refused(self, desk):
        lead = hot_lead()
        lead_route(lead.pk)
        response = signed_in(desk["ann"], strict=True).post(f"/leads/{lead.pk}/claim/", {"next": "/board/"})
        assert response.status_code == 403
        assert LeadAssignment.objects.get(lead=lead).owner is None

    def test_the_loser_of_a_race_goes_back_to_the_board_told_who_took_it(self, desk):
        lead = hot_lead()
        lead_route(lead.pk)
        lead_claim(lead.pk, user=desk["bob"])
        client = signed_in(desk["ann"])
        response = client.post(f"/leads/{lead.pk}/claim/", {"next": "/board/"}, follow=True)
        assert response.redirect_chain[-1][0] == "/board/"
        assert "Already taken by Bob" in response.content.decode()

    def test_a_foreign_next_is_ignored(self, desk):
        lead = hot_lead()
        lead_route(lead.pk)
        lead_claim(lead.pk, user=desk["bob"])
        response = signed_in(desk["ann"]).post(f"/leads/{lead.pk}/claim/", {"next": "https://evil.example/"})
        assert response["Location"] == f"/leads/{lead.pk}/"


class TestSoundSetting:
    def test_the_sound_setting_is_kept_per_user_and_shown_on_every_browser(self, desk):
        client = signed_in(desk["ann"])
        assert 'id="sound-toggle" checked' not in client.get("/board/").content.decode()
        response = client.post("/board/preferences/", {"sound": "on"}, HTTP_X_REQUESTED_WITH="fetch")
        assert response.status_code == 204
        assert BoardPreference.objects.get(user=desk["ann"]).sound is True
        assert 'id="sound-toggle" checked' in signed_in(desk["ann"]).get("/board/").content.decode()
        assert 'id="sound-toggle" checked' not in signed_in(desk["bob"]).get("/board/").content.decode()

    def test_without_javascript_the_form_saves_and_comes_back_to_the_board(self, desk):
        response = signed_in(desk["ann"]).post("/board/preferences/", {"sound": "on"})
        assert response.status_code == 302 and response["Location"] == "/board/"

    def test_a_bad_value_is_refused_and_changes_nothing(self, desk):
        response = signed_in(desk["ann"]).post("/board/preferences/", {"sound": "loud"})
        assert response.status_code == 400 and b'"on" or "off"' in response.content
        assert not BoardPreference.objects.exists()

    def test_only_signed_in_staff_post_it_and_only_by_post(self, desk):
        assert Client().post("/board/preferences/", {"sound": "on"}).status_code == 302
        assert signed_in(UserFactory(username="nobody")).post("/board/preferences/", {"sound": "on"}).status_code == 403
        assert signed_in(desk["ann"]).get("/board/preferences/").status_code == 405
        assert signed_in(desk["ann"], strict=True).post("/board/preferences/", {"sound": "on"}).status_code == 403
        assert not BoardPreference.objects.exists()


class TestWatchingRepBoards:
    def test_a_manager_sees_each_reps_board_counts_and_opens_one(self, desk):
        mine = worked_lead(desk["ann"], first_name="Annslead")
        lead_next_step_set(mine.pk, rep=desk["ann"], at=timezone.now() + timedelta(minutes=5))
        boss = signed_in(desk["boss"])
        body = boss.get("/board/").content.decode()
        assert "Team boards" in body and f'href="/board/reps/{desk["ann"].pk}/"' in body
        assert f'href="/board/reps/{desk["olga"].pk}/"' not in body  # not the boss's team
        watched = boss.get(f"/board/reps/{desk['ann'].pk}/").content.decode()
        assert "Ann&#x27;s board" in watched or "Ann's board" in watched
        assert f'data-ws="/ws/board/?rep={desk["ann"].pk}"' in watched
        due = section_html(watched, "due")
        assert f'id="card-{mine.pk}"' in due
        assert "data-call" not in due  # an onlooker's card: no Call button that would log a touch

    def test_nobody_else_may_watch_a_reps_board(self, desk):
        for user in (desk["other_boss"], desk["bob"]):
            assert signed_in(user).get(f"/board/reps/{desk['ann'].pk}/").status_code == 404
        assert signed_in(desk["boss"]).get(f"/board/reps/{desk['olga'].pk}/").status_code == 404
        assert signed_in(desk["boss"]).get("/board/reps/999999/").status_code == 404
        assert signed_in(UserFactory(username="nobody")).get(f"/board/reps/{desk['ann'].pk}/").status_code == 403

    def test_ones_own_board_is_the_board(self, desk):
        response = signed_in(desk["ann"]).get(f"/board/reps/{desk['ann'].pk}/")
        assert response.status_code == 302 and response["Location"] == "/board/"


class TestNextStepOnTheLeadPage:
    def test_the_owner_plans_a_next_step_in_their_own_time_zone(self, desk):
        from sdr_desk.routing.models import Rep

        Rep.objects.filter(user=desk["ann"]).update(time_zone="America/New_York")
        lead = worked_lead(desk["ann"])
        local = (timezone.now() + timedelta(days=1)).astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
        value = local.strftime("%Y-%m-%dT%H:%M")
        response = signed_in(desk["ann"]).post(f"/leads/{lead.pk}/next-step/",
                                               {"next_step_at": value, "next_step": "Call the CFO"})
        assert response.status_code == 302
        saved = LeadAssignment.objects.get(lead=lead).next_step_at
        assert saved.astimezone(local.tzinfo).strftime("%Y-%m-%dT%H:%M") == value
        page = signed_in(desk["ann"]).get(f"/leads/{lead.pk}/").content.decode()
        assert "Call the CFO" in page

    def test_a_bad_time_is_shown_beside_the_form_and_changes_nothing(self, desk):
        lead = worked_lead(desk["ann"])
        response = signed_in(desk["ann"]).post(f"/leads/{lead.pk}/next-step/", {"next_step_at": "soon"})
        assert response.status_code == 400 and "Enter a date and time" in response.content.decode()
        response = signed_in(desk["ann"]).post(f"/leads/{lead.pk}/next-step/", {"next_step_at": "2020-01-01T10:00"})
        assert response.status_code == 400 and "must be in the future" in response.content.decode()
        assert LeadAssignment.objects.get(lead=lead).next_step_at is None

    def test_clear_removes_it_and_someone_else_may_not_plan_it(self, desk):
        lead = worked_lead(desk["ann"])
        lead_next_step_set(lead.pk, rep=desk["ann"], at=timezone.now() + timedelta(hours=2), note="x")
        assert signed_in(desk["bob"]).post(f"/leads/{lead.pk}/next-step/", {"clear": "1"}).status_code == 403
        assert LeadAssignment.objects.get(lead=lead).next_step_at is not None
        assert signed_in(desk["ann"]).post(f"/leads/{lead.pk}/next-step/", {"clear": "1"}).status_code == 302
        assert LeadAssignment.objects.get(lead=lead).next_step_at is None

    def test_the_touch_form_plans_the_next_step_with_the_touch(self, desk):
        lead = worked_lead(desk["ann"])
        value = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        response = signed_in(desk["ann"]).post(f"/leads/{lead.pk}/touches/", {
            "channel": "email", "next_step_at": value, "next_step": "Send the case study"})
        assert response.status_code == 302
        assert LeadAssignment.objects.get(lead=lead).next_step == "Send the case study"


def test_the_admin_lists_board_preferences_and_next_steps(desk):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    BoardPreference.objects.create(user=desk["ann"], sound=True)
    worked_lead(desk["ann"])
    client = signed_in(admin)
    assert client.get("/admin/board/boardpreference/").status_code == 200
    assert b"Next step at" in client.get("/admin/routing/leadassignment/").content


def test_a_lead_no_board_may_show_is_numbered_but_nothing_is_rendered_or_sent(django_capture_on_commit_callbacks):
    from sdr_desk.board.models import BoardEvent

    lead = hot_lead()  # no team at all: routing leaves it unrouted in no team's queue
    with django_capture_on_commit_callbacks() as callbacks:
        assignment = lead_route(lead.pk)
    assert assignment.team is None and assignment.owner is None
    assert BoardEvent.objects.filter(lead=lead).exists()  # a reconnecting board still learns it changed
    assert callbacks == []
