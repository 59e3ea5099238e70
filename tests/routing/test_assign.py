"""Managers hand leads out: one lead from its page or the API, many from the queue page; every refusal is
field-level and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment, LeadState
from sdr_desk.routing.ownership import FieldsInvalid, NotAllowed, lead_assign, lead_claim, leads_assign
from sdr_desk.routing.sla import sla_sweep
from sdr_desk.routing.touches import touch_log
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(db):
    boss = UserFactory(username="boss", roles=[Role.MANAGER])
    other_boss = UserFactory(username="other", roles=[Role.MANAGER])
    team = team_make("Claimers", visibility="claim", manager=boss)
    elsewhere = team_make("Elsewhere", visibility="owned", is_default=False, manager=other_boss)
    ann, bob = rep_make("ann", team), rep_make("bob", team)
    zed = rep_make("zed", elsewhere)
    return {"boss": boss, "other": other_boss, "team": team, "elsewhere": elsewhere, "ann": ann, "bob": bob,
            "zed": zed}


def offered(desk) -> int:
    lead = hot_lead()
    assert lead_route(lead.pk).state == LeadState.OFFERED
    return lead.pk


class TestService:
    def test_a_manager_assigns_an_offered_lead_with_a_reason_in_the_timeline(self, desk):
        lead_id = offered(desk)
        assignment = lead_assign(lead_id, to=desk["ann"], actor=desk["boss"], reason="Ann speaks German")
        assert (assignment.owner, assignment.state) == (desk["ann"], LeadState.ASSIGNED)
        entry = LeadAssignment.objects.get(lead_id=lead_id).lead.timeline.filter(kind="owner").latest("id")
        assert entry.actor == desk["boss"] and entry.data["change"] == "handed_out"
        assert entry.summary == "Assigned to Ann (Claimers) by the manager: Ann speaks German"
        assert entry.data["before"]["owner"] is None and entry.data["after"]["owner"] == "ann"

    def test_reassigning_a_worked_lead_keeps_it_working_and_its_first_touch(self, desk):
        lead_id = offered(desk)
        lead_claim(lead_id, user=desk["ann"])
        touch_log(lead_id, rep=desk["ann"], channel="call", outcome="no_answer")
        assignment = lead_assign(lead_id, to=desk["bob"], actor=desk["boss"], reason="Ann is on leave")
        assert (assignment.owner, assignment.state) == (desk["bob"], LeadState.WORKING)
        assert assignment.first_touch_at is not None
        entry = assignment.lead.timeline.filter(kind="owner").latest("id")
        assert entry.data["change"] == "reassigned" and entry.summary == "Reassigned to Bob: Ann is on leave"

    def test_an_escalated_lead_handed_out_gets_a_fresh_deadline_and_is_not_escalated_again(self, desk):
        lead_id = offered(desk)
        due = LeadAssignment.objects.get(lead_id=lead_id).sla_due_at
        sla_sweep(now=due)
        assert LeadAssignment.objects.get(lead_id=lead_id).state == LeadState.ESCALATED
        later = due + timedelta(hours=1)
        assignment = lead_assign(lead_id, to=desk["ann"], actor=desk["boss"], reason="yours", now=later)
        assert assignment.sla_due_at == later + timedelta(minutes=5)
        assert sla_sweep(now=later + timedelta(minutes=1))["escalated"] == 0

    @pytest.mark.parametrize("reason, field", [("", "reason"), ("   ", "reason"), ("x" * 501, "reason")])
    def test_a_reason_is_required_and_bounded(self, desk, reason, field):
        lead_id = offered(desk)
        with pytest.raises(FieldsInvalid) as refused:
            lead_assign(lead_id, to=desk["ann"], actor=desk["boss"], reason=reason)
        assert set(refused.value.errors) == {field}
        assert LeadAssignment.objects.get(lead_id=lead_id).owner is None

    def test_only_reps_of_the_managers_teams_may_receive_it(self, desk):
        lead_id = offered(desk)
        for to in (desk["zed"], desk["other"], 999999):
            with pytest.raises(FieldsInvalid) as refused:
                lead_assign(lead_id, to=to, actor=desk["boss"], reason="why")
            assert set(refused.value.errors) == {"rep"}

    def test_a_manager_of_another_team_an_sdr_and_marketing_may_not(self, desk):
        lead_id = offered(desk)
        with pytest.raises(FieldsInvalid):  # the other manager may not give it to a rep of ours...
            lead_assign(lead_id, to=desk["ann"], actor=desk["other"], reason="mine now")
        with pytest.raises(NotAllowed):  # ...nor to their own rep: the lead is not their team's
            lead_assign(lead_id, to=desk["zed"], actor=desk["other"], reason="mine now")
        for who in (desk["ann"], UserFactory(username="mkt", roles=[Role.MARKETING])):
            with pytest.raises((NotAllowed, FieldsInvalid)):
                lead_assign(lead_id, to=desk["bob"], actor=who, reason="me")
        assert LeadAssignment.objects.get(lead_id=lead_id).owner is None

    def test_the_owner_again_and_a_closed_lead_are_refused(self, desk):
        lead_id = offered(desk)
        lead_assign(lead_id, to=desk["ann"], actor=desk["boss"], reason="first")
        with pytest.raises(FieldsInvalid, match="has this lead already"):
            lead_assign(lead_id, to=desk["ann"], actor=desk["boss"], reason="again")
        LeadAssignment.objects.filter(lead_id=lead_id).update(state=LeadState.CLOSED)
        with pytest.raises(FieldsInvalid, match="closed"):
            lead_assign(lead_id, to=desk["bob"], actor=desk["boss"], reason="closed")

    def test_bulk_assigns_each_and_reports_the_refused_ones(self, desk):
        ids = [offered(desk) for _ in range(3)]
        LeadAssignment.objects.filter(lead_id=ids[1]).update(state=LeadState.CLOSED)
        done, refused = leads_assign([*ids, ids[0]], to=desk["bob"].pk, actor=desk["boss"], reason="Bob's turn")
        assert done == [ids[0], ids[2]] and list(refused) == [ids[1]]
        assert set(LeadAssignment.objects.filter(owner=desk["bob"]).values_list("lead_id", flat=True)) == {
            ids[0], ids[2]}

    def test_bulk_with_a_bad_form_assigns_nothing(self, desk):
        ids = [offered(desk) for _ in range(2)]
        with pytest.raises(FieldsInvalid):
            leads_assign(ids, to=desk["bob"].pk, actor=desk["boss"], reason="")
        assert not LeadAssignment.objects.filter(owner__isnull=False).exists()


class TestPages:
    def test_the_queue_lists_unowned_leads_of_my_teams_sorted_and_filtered(self, desk, client):
        now = timezone.now()
        old = offered(desk)
        new = offered(desk)
        LeadAssignment.objects.filter(lead_id=old).update(sla_due_at=now - timedelta(minutes=30),
                                                           state=LeadState.ESCALATED)
        LeadAssignment.objects.filter(lead_id=new).update(sla_due_at=now + timedelta(minutes=3))
        mine = offered(desk)
        lead_claim(mine, user=desk["ann"])  # owned: not in the queue
        foreign = LeadFactory()
        LeadAssignment.objects.create(lead=foreign, team=desk["elsewhere"], state=LeadState.QUEUED)
        client.force_login(desk["boss"])
        response = client.get("/queue/")
        assert response.status_code == 200
        assert [a.lead_id for a in response.context["rows"]] == [old, new]  # most overdue first
        body = response.content.decode()
        assert "overdue" in body and f'value="{foreign.pk}"' not in body
        assert [a.lead_id for a in client.get("/queue/?sort=-sla").context["rows"]] == [new, old]
        assert [a.lead_id for a in client.get("/queue/?state=escalated").context["rows"]] == [old]
        # Unknown values are ignored, never a 500; the team filter only takes my teams.
        for query in ("sort=drop+table", "state=closed", "tier=%00", f"team={desk['elsewhere'].pk}", "page=x",
                      "country=%3Cscript%3E"):
            assert client.get(f"/queue/?{query}").status_code == 200

    def test_sort_links_keep_the_filters(self, desk, client):
        offered(desk)
        client.force_login(desk["boss"])
        sorts = client.get("/queue/?tier=hand_raiser&hot=1&q=acme").context["sorts"]
        score = next(s for s in sorts if s["key"] == "score")
        assert score["query"] == "tier=hand_raiser&hot=1&q=acme&sort=score"

    def test_the_queue_page_costs_the_same_queries_for_5_or_50_leads(self, desk, client, django_assert_max_num_queries):
        client.force_login(desk["boss"])
        for _ in range(5):
            offered(desk)
        client.get("/queue/")  # warm the permission cache of the session's first request
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as few:
            client.get("/queue/")
        for _ in range(45):
            offered(desk)
        with CaptureQueriesContext(connection) as many:
            client.get("/queue/")
        assert len(many) == len(few) <= 12

    def test_bulk_assign_from_the_queue_page(self, desk, client):
        ids = [offered(desk) for _ in range(2)]
        client.force_login(desk["boss"])
        response = client.post("/queue/assign/", {"lead": ids, "rep": desk["ann"].pk, "reason": "Ann's turn",
                                                  "next": "/queue/?hot=1"})
        assert response.status_code == 303 and response["Location"] == "/queue/?hot=1"
        assert LeadAssignment.objects.filter(owner=desk["ann"]).count() == 2
        messages = [str(m) for m in client.get("/queue/").context["messages"]]
        assert messages == ["Assigned 2 leads to Ann."]

    def test_bulk_assign_without_a_reason_or_leads_says_so_and_changes_nothing(self, desk, client):
        ids = [offered(desk) for _ in range(2)]
        client.force_login(desk["boss"])
        for data in ({"lead": ids, "rep": desk["ann"].pk, "reason": ""}, {"rep": desk["ann"].pk, "reason": "x"},
                     {"lead": ids, "rep": "nobody", "reason": "x"}, {"lead": ids, "rep": desk["ann"].pk,
                                                                      "reason": "x", "next": "https://evil.example/"}):
            response = client.post("/queue/assign/", data)
            assert response.status_code == 303 and response["Location"] == "/queue/"
            if data.get("next"):
                LeadAssignment.objects.update(owner=None, state=LeadState.OFFERED)
        assert not LeadAssignment.objects.filter(owner__isnull=False).exists()

    def test_the_lead_page_offers_the_manager_an_assign_panel_and_no_one_else(self, desk, client):
        lead_id = offered(desk)
        client.force_login(desk["boss"])
        body = client.get(f"/leads/{lead_id}/").content.decode()
        assert 'id="assign"' in body and f'action="/leads/{lead_id}/assign/"' in body
        for who in (desk["ann"], desk["other"], UserFactory(username="mkt", roles=[Role.MARKETING])):
            client.force_login(who)
            assert 'id="assign"' not in client.get(f"/leads/{lead_id}/").content.decode()

    def test_assign_from_the_lead_page(self, desk, client):
        lead_id = offered(desk)
        client.force_login(desk["boss"])
        response = client.post(f"/leads/{lead_id}/assign/", {"rep": desk["bob"].pk, "reason": "Bob knows them"})
        assert response.status_code == 303 and response["Location"] == f"/leads/{lead_id}/"
        assert LeadAssignment.objects.get(lead_id=lead_id).owner == desk["bob"]
        response = client.post(f"/leads/{lead_id}/assign/", {"rep": desk["ann"].pk, "reason": ""})
        assert response.status_code == 303 and LeadAssignment.objects.get(lead_id=lead_id).owner == desk["bob"]

    @pytest.mark.parametrize("role", [Role.SDR, Role.AE, Role.MARKETING])
    def test_other_roles_get_403_on_every_assign_url(self, desk, client, role):
        lead_id = offered(desk)
        client.force_login(UserFactory(username="x", roles=[role]))
        assert client.get("/queue/").status_code == 403
        assert client.post("/queue/assign/", {"lead": [lead_id], "rep": desk["ann"].pk,
                                              "reason": "x"}).status_code == 403
        assert client.post(f"/leads/{lead_id}/assign/", {"rep": desk["ann"].pk, "reason": "x"}).status_code == 403
        assert client.post(f"/api/v1/leads/{lead_id}/assign/", {"rep": desk["ann"].pk, "reason": "x"},
                           content_type="application/json").status_code == 403
        assert LeadAssignment.objects.get(lead_id=lead_id).owner is None

    def test_a_manager_of_no_team_sees_an_empty_queue_that_says_why(self, desk, client):
        offered(desk)
        client.force_login(UserFactory(username="idle", roles=[Role.MANAGER]))
        response = client.get("/queue/")
        assert response.status_code == 200 and response.context["rows"] == []
        assert "You manage no team yet" in response.content.decode()

    def test_anonymous_is_sent_to_sign_in(self, desk, client):
        assert client.get("/queue/").status_code == 302


class TestApi:
    def test_assign_through_the_api(self, desk, client):
        lead_id = offered(desk)
        client.force_login(desk["boss"])
        url = f"/api/v1/leads/{lead_id}/assign/"
        response = client.post(url, {"rep": desk["ann"].pk, "reason": "Ann's account"},
                               content_type="application/json")
        assert response.status_code == 200
        assert response.json() == {"lead": lead_id, "owner": "ann", "team": "Claimers", "state": "assigned"}

    def test_bad_input_is_a_field_level_400(self, desk, client):
        lead_id = offered(desk)
        client.force_login(desk["boss"])
        url = f"/api/v1/leads/{lead_id}/assign/"
        response = client.post(url, {"rep": desk["zed"].pk, "reason": "x"}, content_type="application/json")
        assert response.status_code == 400 and "rep" in response.json()["fields"]
        response = client.post(url, {"rep": desk["ann"].pk}, content_type="application/json")
        assert response.status_code == 400
        response = client.post(url, {"rep": desk["ann"].pk, "reason": "x", "extra": 1},
                               content_type="application/json")
        assert response.status_code == 400
        assert client.post("/api/v1/leads/999999/assign/", {"rep": desk["ann"].pk, "reason": "x"},
                           content_type="application/json").status_code == 404
        assert LeadAssignment.objects.get(lead_id=lead_id).owner is None

    def test_the_endpoint_is_in_the_schema(self, desk, client):
        client.force_login(desk["boss"])
        schema = client.get("/api/schema/?format=json").json()
        assert "post" in schema["paths"]["/api/v1/leads/{id}/assign/"]
