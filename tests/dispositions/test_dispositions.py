"""Recording a disposition: who may, what it refuses, what it changes, and what the board, page and API show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from inbound.models import Lead, LeadStatus, TimelineEntry
from sdr_desk.board.live import facts_of, section_for, viewer_for
from sdr_desk.board.models import BoardEvent
from sdr_desk.dispositions.models import Disposition, DispositionCode
from sdr_desk.dispositions.services import AlreadyDispositioned, DispositionInvalid, lead_disposition
from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment, LeadState, Team
from sdr_desk.routing.ownership import NotAllowed, lead_claim
from sdr_desk.routing.touches import lead_next_step_set, touch_log
from tests.desk_fixtures import answers_give, hot_lead, rep_make, team_make
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    boss = UserFactory(username="boss", roles=[Role.MANAGER])
    team = team_make("Inbound", visibility="claim", manager=boss)
    ann, bob = rep_make("ann", team), rep_make("bob", team)
    other_boss = UserFactory(username="other-boss", roles=[Role.MANAGER])
    team_make("EMEA", visibility="claim", is_default=False, manager=other_boss)
    lead = hot_lead()
    lead_route(lead.pk)
    lead_claim(lead.pk, user=ann)
    return {"team": team, "ann": ann, "bob": bob, "boss": boss, "other_boss": other_boss, "lead": lead}


def assignment_of(lead) -> LeadAssignment:
    return LeadAssignment.objects.get(lead=lead)


def nothing_changed(lead, events_before: int) -> bool:
    return (not Disposition.objects.filter(lead=lead).exists()
            and assignment_of(lead).state != LeadState.CLOSED
            and Lead.objects.get(pk=lead.pk).status != LeadStatus.DISQUALIFIED
            and BoardEvent.objects.count() == events_before)


class TestRecording:
    def test_the_owner_records_a_disposition_and_the_lead_closes_with_its_status(self, desk):
        touch_log(desk["lead"].pk, rep=desk["ann"], channel="call", outcome="connected")
        disposition = lead_disposition(desk["lead"].pk, user=desk["ann"], code="bad-fit", reason="Too small",
                                       note="8 people, no budget")
        assert (disposition.code.slug, disposition.reason, disposition.rep, disposition.team) == (
            "bad-fit", "Too small", desk["ann"], desk["team"])
        assert disposition.is_current and disposition.recorded_by == desk["ann"]
        assignment = assignment_of(desk["lead"])
        assert assignment.state == LeadState.CLOSED and assignment.owner == desk["ann"]
        assert Lead.objects.get(pk=desk["lead"].pk).status == LeadStatus.DISQUALIFIED

    def test_it_lands_in_the_timeline_with_before_and_after_to_the_minute(self, desk):
        at = timezone.now().replace(second=0, microsecond=0)
        answers_give(desk["lead"].pk, desk["ann"])
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="qualified-meeting-set", now=at)
        entry = TimelineEntry.objects.get(lead=desk["lead"], kind="disposition")
        assert entry.summary == "Disposition: Qualified - meeting set" and entry.actor == desk["ann"]
        assert entry.occurred_at == at
        assert entry.data["before"] == {"status": "new"} and entry.data["after"] == {"status": "qualified"}
        closed = TimelineEntry.objects.get(lead=desk["lead"], kind="owner", data__change="closed")
        assert closed.data["before"]["state"] == "assigned" and closed.data["after"]["state"] == "closed"

    def test_a_disposition_before_any_touch_stops_the_clock(self, desk):
        assert assignment_of(desk["lead"]).first_touch_at is None
        at = timezone.now()
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="spam-or-invalid", reason="Bot", now=at)
        assignment = assignment_of(desk["lead"])
        assert assignment.first_touch_at == at and assignment.response_seconds is not None

    def test_a_touch_keeps_its_own_first_touch_time(self, desk):
        touch_log(desk["lead"].pk, rep=desk["ann"], channel="email")
        first = assignment_of(desk["lead"]).first_touch_at
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="no-response",
                         now=timezone.now() + timedelta(hours=1))
        assert assignment_of(desk["lead"]).first_touch_at == first

    def test_it_ends_the_leads_active_work(self, desk):
        touch_log(desk["lead"].pk, rep=desk["ann"], channel="call", outcome="no_answer")
        lead_next_step_set(desk["lead"].pk, rep=desk["ann"], at=timezone.now() + timedelta(hours=2), note="Call")
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="no-response")
        assignment = assignment_of(desk["lead"])
        assert (assignment.next_step_at, assignment.next_step, assignment.claim_expires_at) == (None, "", None)

    def test_the_card_leaves_every_board(self, desk):
        events = BoardEvent.objects.count()
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="duplicate")
        assert BoardEvent.objects.count() == events + 1
        facts = facts_of(assignment_of(desk["lead"]))
        assert all(section_for(viewer_for(user), facts) is None
                   for user in (desk["ann"], desk["bob"], desk["boss"]))

    def test_a_nurture_code_keeps_its_re_engage_date(self, desk):
        back = timezone.localdate() + timedelta(days=90)
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="not-ready-nurture", reason="No budget this year",
                         reengage_on=back)
        assert Disposition.objects.get(lead=desk["lead"]).reengage_on == back
        assert Lead.objects.get(pk=desk["lead"].pk).status == LeadStatus.NURTURE
        assert TimelineEntry.objects.get(lead=desk["lead"], kind="disposition").summary.endswith(
            f"back on {back:%Y-%m-%d}")

    def test_the_teams_manager_may_record_it_too(self, desk):
        disposition = lead_disposition(desk["lead"].pk, user=desk["boss"], code="duplicate")
        assert disposition.recorded_by == desk["boss"] and disposition.rep == desk["ann"]

    def test_it_runs_in_a_fixed_number_of_statements(self, desk):
        with CaptureQueriesContext(connection) as queries:
            lead_disposition(desk["lead"].pk, user=desk["ann"], code="bad-fit", reason="Competitor")
        # 15: the sequences app's receiver looks for an ongoing sequence to stop (one SELECT when there is none).
        assert len(queries) <= 15, [q["sql"] for q in queries]


def test_a_new_desk_starts_with_the_default_codes_and_keeps_its_own_afterwards(db):
    from sdr_desk.dispositions.defaults import DEFAULT_CODES, codes_ensure

    assert list(DispositionCode.objects.values_list("slug", flat=True)) == [c[1] for c in DEFAULT_CODES]
    DispositionCode.objects.exclude(slug="duplicate").delete()
    codes_ensure()
    assert list(DispositionCode.objects.values_list("slug", flat=True)) == ["duplicate"]


class TestRefusals:
    def test_a_teammate_may_not(self, desk):
        events = BoardEvent.objects.count()
        with pytest.raises(NotAllowed):
            lead_disposition(desk["lead"].pk, user=desk["bob"], code="duplicate")
        assert nothing_changed(desk["lead"], events)

    def test_another_teams_manager_may_not(self, desk):
        with pytest.raises(NotAllowed):
            lead_disposition(desk["lead"].pk, user=desk["other_boss"], code="duplicate")

    def test_a_second_disposition_is_a_conflict(self, desk):
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="duplicate")
        with pytest.raises(AlreadyDispositioned):
            lead_disposition(desk["lead"].pk, user=desk["ann"], code="bad-fit", reason="Student")
        assert Disposition.objects.filter(lead=desk["lead"]).count() == 1

    @pytest.mark.parametrize(("code", "reason", "reengage_days", "field"), [
        ("", "", None, "code"),
        ("no-such-code", "", None, "code"),
        ("bad-fit", "", None, "reason"),
        ("bad-fit", "Too expensive", None, "reason"),
        ("not-ready-nurture", "Researching only", None, "reengage_on"),
        ("not-ready-nurture", "Researching only", 0, "reengage_on"),
        ("not-ready-nurture", "Researching only", -3, "reengage_on"),
        ("not-ready-nurture", "Researching only", 400, "reengage_on"),
        ("duplicate", "", 30, "reengage_on"),
    ])
    def test_bad_input_is_refused_by_field_and_changes_nothing(self, desk, code, reason, reengage_days, field):
        events = BoardEvent.objects.count()
        reengage = timezone.localdate() + timedelta(days=reengage_days) if reengage_days is not None else None
        with pytest.raises(DispositionInvalid) as refused:
            lead_disposition(desk["lead"].pk, user=desk["ann"], code=code, reason=reason, reengage_on=reengage)
        assert field in refused.value.errors
        assert nothing_changed(desk["lead"], events)

    def test_an_inactive_code_is_refused(self, desk):
        DispositionCode.objects.filter(slug="duplicate").update(is_active=False)
        with pytest.raises(DispositionInvalid):
            lead_disposition(desk["lead"].pk, user=desk["ann"], code="duplicate")

    def test_a_code_with_free_text_reasons_takes_any_reason(self, desk):
        answers_give(desk["lead"].pk, desk["ann"])
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="qualified-meeting-set", reason="Tuesday 10:00")
        assert Disposition.objects.get(lead=desk["lead"]).reason == "Tuesday 10:00"


class TestApi:
    def client_for(self, user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    def test_the_owner_records_one_and_gets_it_back(self, desk):
        url = reverse("api-lead-disposition", args=[desk["lead"].pk])
        response = self.client_for(desk["ann"]).post(url, {"code": "bad-fit", "reason": "Wrong region"},
                                                     format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert (body["code"], body["outcome"], body["reason"], body["rep"], body["recorded_by"]) == (
            "bad-fit", "disqualified", "Wrong region", "ann", "ann")
        lead = self.client_for(desk["ann"]).get(reverse("api-lead-detail", args=[desk["lead"].pk])).json()
        assert lead["status"] == "disqualified"

    def test_the_lead_shows_its_current_disposition_in_detail_and_list(self, desk):
        client = self.client_for(desk["ann"])
        detail = reverse("api-lead-detail", args=[desk["lead"].pk])
        assert client.get(detail).json()["disposition"] is None
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="bad-fit", reason="Competitor")
        body = client.get(detail).json()
        assert body["disposition"]["code"] == "bad-fit" and body["disposition"]["outcome"] == "disqualified"
        assert body["disposition_reason"] == "Competitor"
        listed = client.get(reverse("api-leads")).json()["results"]
        assert next(r for r in listed if r["id"] == desk["lead"].pk)["disposition_reason"] == "Competitor"

    def test_the_schema_describes_the_disposition_fields(self, desk):
        schema = self.client_for(desk["ann"]).get("/api/schema/?format=json").json()
        # The lead as the last enriching app (qualification) shows it still carries the disposition fields.
        lead = schema["paths"]["/api/v1/leads/{id}/"]["get"]["responses"]["200"]["content"]["application/json"]
        lead_fields = schema["components"]["schemas"][lead["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]
        assert {"disposition", "disposition_reason", "owner", "score"} <= set(lead_fields)
        assert "/api/v1/leads/{id}/disposition/" in schema["paths"]

    def test_field_errors_come_back_as_400(self, desk):
        url = reverse("api-lead-disposition", args=[desk["lead"].pk])
        response = self.client_for(desk["ann"]).post(url, {"code": "not-ready-nurture",
                                                           "reason": "Researching only"}, format="json")
        assert response.status_code == 400 and "reengage_on" in response.json()["fields"]
        response = self.client_for(desk["ann"]).post(url, {"code": "bad-fit", "reason": "Student",
                                                           "reengage_on": "not a date"}, format="json")
        assert response.status_code == 400
        response = self.client_for(desk["ann"]).post(url, {"code": "bad-fit", "surprise": 1}, format="json")
        assert response.status_code == 400
        assert not Disposition.objects.exists()

    def test_a_teammate_gets_403_a_second_one_409_an_unknown_lead_404(self, desk):
        url = reverse("api-lead-disposition", args=[desk["lead"].pk])
        assert self.client_for(desk["bob"]).post(url, {"code": "no-response"}, format="json").status_code == 403
        assert self.client_for(desk["ann"]).post(url, {"code": "no-response"}, format="json").status_code == 201
        second = self.client_for(desk["ann"]).post(url, {"code": "no-response"}, format="json")
        assert second.status_code == 409 and second.json()["error"] == "already_dispositioned"
        missing = reverse("api-lead-disposition", args=[desk["lead"].pk + 1000])
        assert self.client_for(desk["ann"]).post(missing, {"code": "no-response"}, format="json").status_code == 404

    @pytest.mark.parametrize("role", [Role.MARKETING, Role.AE])
    def test_marketing_and_aes_may_not(self, desk, role):
        outsider = UserFactory(username=f"someone-{role}", roles=[role])
        url = reverse("api-lead-disposition", args=[desk["lead"].pk])
        assert self.client_for(outsider).post(url, {"code": "no-response"}, format="json").status_code == 403
        assert not Disposition.objects.exists()

    def test_anonymous_callers_and_api_keys_may_not(self, desk, api_key):
        url = reverse("api-lead-disposition", args=[desk["lead"].pk])
        assert APIClient().post(url, {"code": "no-response"}, format="json").status_code in (401, 403)
        keyed = APIClient()
        keyed.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
        assert keyed.post(url, {"code": "no-response"}, format="json").status_code in (401, 403)
        assert not Disposition.objects.exists()

    def test_the_codes_list_the_active_ones_in_order(self, desk):
        DispositionCode.objects.filter(slug="duplicate").update(is_active=False)
        codes = self.client_for(desk["ann"]).get(reverse("api-disposition-codes")).json()
        assert [c["slug"] for c in codes][:2] == ["qualified-meeting-set", "qualified-handed-to-ae"]
        assert "duplicate" not in [c["slug"] for c in codes]
        bad_fit = next(c for c in codes if c["slug"] == "bad-fit")
        assert bad_fit["reason_required"] and "Competitor" in bad_fit["reasons"]


class TestLeadPage:
    def test_the_owner_sees_the_form_and_records_from_it(self, client, desk):
        client.force_login(desk["ann"])
        page = client.get(reverse("lead-detail", args=[desk["lead"].pk]))
        assert b"Record disposition" in page.content and b"Wrong industry" in page.content
        response = client.post(reverse("lead-disposition", args=[desk["lead"].pk]),
                               {"code": "bad-fit", "reason": "Wrong industry", "note": "Sells <b>shoes</b>"})
        assert response.status_code == 302
        page = client.get(reverse("lead-detail", args=[desk["lead"].pk]))
        assert b"Record disposition" not in page.content
        assert b"Bad fit" in page.content and b"Sells &lt;b&gt;shoes&lt;/b&gt;" in page.content

    def test_errors_show_beside_the_form_with_what_was_typed(self, client, desk):
        client.force_login(desk["ann"])
        response = client.post(reverse("lead-disposition", args=[desk["lead"].pk]),
                               {"code": "not-ready-nurture", "reason": "Researching only", "reengage_on": "2020-01-01",
                                "note": "keep this"})
        assert response.status_code == 400
        assert b"The re-engage date must be after today." in response.content and b"keep this" in response.content
        response = client.post(reverse("lead-disposition", args=[desk["lead"].pk]),
                               {"code": "not-ready-nurture", "reengage_on": "soon"})
        assert response.status_code == 400 and b"YYYY-MM-DD" in response.content
        assert not Disposition.objects.exists()

    def test_a_teammate_sees_no_form_and_is_refused(self, client, desk):
        client.force_login(desk["bob"])
        assert b"Record disposition" not in client.get(reverse("lead-detail", args=[desk["lead"].pk])).content
        response = client.post(reverse("lead-disposition", args=[desk["lead"].pk]), {"code": "duplicate"})
        assert response.status_code == 403 and not Disposition.objects.exists()

    def test_an_sdr_of_another_team_does_not_see_the_disposition_marketing_does(self, client, desk):
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="bad-fit", reason="Competitor")
        url = reverse("lead-detail", args=[desk["lead"].pk])
        client.force_login(desk["bob"])  # same team
        assert b'id="disposition"' in client.get(url).content
        client.force_login(rep_make("zed", Team.objects.get(name="EMEA")))
        page = client.get(url)
        # The panel is withheld (the lead's timeline still tells it: lead pages are not yet per team).
        assert page.status_code == 200 and b'id="disposition"' not in page.content
        client.force_login(UserFactory(username="mia", roles=[Role.MARKETING]))
        assert b'id="disposition"' in client.get(url).content

    def test_it_takes_post_only_and_a_signed_in_user(self, client, desk):
        url = reverse("lead-disposition", args=[desk["lead"].pk])
        assert client.post(url, {"code": "duplicate"}).status_code == 302  # to sign in
        client.force_login(desk["ann"])
        assert client.get(url).status_code == 405
        assert not Disposition.objects.exists()


class TestReopening:
    def test_a_dispositioned_lead_that_turns_hot_again_is_worked_and_dispositioned_anew(self, desk):
        from sdr_desk.routing.engine import lead_hand_on_route

        first = lead_disposition(desk["lead"].pk, user=desk["ann"], code="no-response")
        later = timezone.now() + timedelta(days=3)
        from scoring.models import LeadScore

        LeadScore.objects.filter(lead=desk["lead"]).update(hot_since=later)  # a new hand-raise, as scoring marks it
        lead_hand_on_route(desk["lead"].pk, now=later)
        assert assignment_of(desk["lead"]).state != LeadState.CLOSED
        first.refresh_from_db()
        assert first.is_current is False  # the old outcome is history now

        lead_claim(desk["lead"].pk, user=desk["bob"], now=later)
        answers_give(desk["lead"].pk, desk["bob"])
        second = lead_disposition(desk["lead"].pk, user=desk["bob"], code="qualified-meeting-set",
                                  now=later + timedelta(minutes=5))
        assert second.is_current
        assert list(Disposition.objects.filter(lead=desk["lead"]).values_list("is_current", flat=True)) == [True, False]


class TestNurture:
    def nurtured(self, desk, days: int = 30):
        back = timezone.localdate() + timedelta(days=days)
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="not-ready-nurture",
                         reason="Timing: next quarter or later", reengage_on=back)
        return back

    def test_on_its_re_engage_date_a_nurtured_lead_is_routed_again_with_a_new_clock(self, desk):
        from sdr_desk.dispositions.tasks import nurture_reengage

        back = self.nurtured(desk)
        assert nurture_reengage(today=back - timedelta(days=1)) == 0  # not yet
        assert assignment_of(desk["lead"]).state == LeadState.CLOSED
        assert nurture_reengage(today=back) == 1
        assignment = assignment_of(desk["lead"])
        assert assignment.state != LeadState.CLOSED and assignment.first_touch_at is None
        assert Disposition.objects.get(lead=desk["lead"]).is_current is False
        assert Lead.objects.get(pk=desk["lead"].pk).status == LeadStatus.NEW
        entries = TimelineEntry.objects.filter(lead=desk["lead"])
        assert entries.filter(kind="disposition", summary=f"Re-engage date {back:%Y-%m-%d} reached: back from nurture",
                              occurred_at__lte=timezone.now()).exists()
        assert entries.filter(kind="status", summary="Back on the desk: status Nurture → New").exists()

    def test_running_it_twice_routes_the_lead_once(self, desk):
        from sdr_desk.dispositions.tasks import nurture_reengage

        back = self.nurtured(desk)
        assert nurture_reengage(today=back) == 1
        assert nurture_reengage(today=back) == 0
        assert TimelineEntry.objects.filter(lead=desk["lead"], summary__contains="back from nurture").count() == 1

    def test_other_codes_and_past_dispositions_never_come_back_by_date(self, desk):
        from sdr_desk.dispositions.tasks import nurture_reengage

        lead_disposition(desk["lead"].pk, user=desk["ann"], code="bad-fit", reason="Student")
        assert nurture_reengage(today=timezone.localdate() + timedelta(days=400)) == 0
        assert assignment_of(desk["lead"]).state == LeadState.CLOSED

    def test_the_schedule_is_declared_and_kept_on_migrate(self, db):
        from django_q.models import Schedule

        schedule = Schedule.objects.get(name="Nurture re-engagement")
        assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
            "sdr_desk.dispositions.tasks.nurture_reengage", "I", 15)


class TestOutcomesInTheTimeline:
    def test_an_sdr_of_another_team_sees_no_outcome_in_the_lead_timeline(self, desk, client):
        from tests.desk_fixtures import rep_make

        answers_give(desk["lead"].pk, desk["ann"])
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="qualified-meeting-set")
        stranger = rep_make("stranger", Team.objects.get(name="EMEA"))
        page = f"/leads/{desk['lead'].pk}/"
        client.force_login(desk["bob"])  # same team: sees how it ended and why
        body = client.get(page).content.decode()
        assert "Disposition: Qualified - meeting set" in body and "Qualification: Role and authority" in body
        client.force_login(stranger)
        body = client.get(page).content.decode()
        assert "Disposition:" not in body and "Qualification:" not in body
        assert "Closed: Qualified - meeting set" not in body
        assert "Claimed by Ann" in body  # the rest of the story stays
