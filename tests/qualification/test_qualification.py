"""The qualification checklist: per-team items, answers as the rep types, enforcement by qualified codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inbound.models import TimelineEntry
from sdr_desk.dispositions.models import Disposition
from sdr_desk.dispositions.services import DispositionInvalid, disposition_change, lead_disposition
from sdr_desk.qualification.defaults import DEFAULT_ITEMS, checklists_ensure
from sdr_desk.qualification.models import Answer, ChecklistItem
from sdr_desk.qualification.services import (
    AnswerInvalid,
    answer_record,
    item_add,
    item_move,
    item_remove,
    item_update,
    missing_required,
)
from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment, LeadState, Team
from sdr_desk.routing.ownership import FieldsInvalid, NotAllowed, lead_claim
from sdr_desk.routing.touches import touch_log
from tests.desk_fixtures import answers_give, hot_lead, rep_make, team_make
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(db):
    boss = UserFactory(username="boss", roles=[Role.MANAGER])
    team = team_make("Inbound", visibility="claim", manager=boss)
    ann, bob = rep_make("ann", team), rep_make("bob", team)
    other_boss = UserFactory(username="other-boss", roles=[Role.MANAGER])
    emea = team_make("EMEA", visibility="claim", is_default=False, manager=other_boss)
    olga = rep_make("olga", emea)
    lead = hot_lead()
    lead_route(lead.pk)
    lead_claim(lead.pk, user=ann)
    touch_log(lead.pk, rep=ann, channel="call", outcome="connected")
    return {"team": team, "emea": emea, "ann": ann, "bob": bob, "olga": olga, "boss": boss,
            "other_boss": other_boss, "lead": lead}


def item(team: Team, key: str) -> ChecklistItem:
    return ChecklistItem.objects.get(team=team, key=key)


def entries(lead) -> list[TimelineEntry]:
    return list(TimelineEntry.objects.filter(lead=lead, kind="qualification").order_by("id"))


class TestDefaults:
    def test_a_new_team_starts_with_the_seeds_checklist(self, desk):
        keys = list(ChecklistItem.objects.filter(team=desk["team"]).order_by("position").values_list("key", "required"))
        assert keys == [(key, required) for key, _, _, required in DEFAULT_ITEMS]
        assert missing_required(desk["lead"].pk, desk["team"].pk) == ["Role and authority", "The pain", "Timeline"]

    def test_migrate_fills_only_teams_that_never_had_a_checklist(self, desk):
        ChecklistItem.objects.filter(team=desk["emea"]).delete()
        item_remove(desk["team"], item(desk["team"], "budget").pk, user=desk["boss"])
        checklists_ensure()
        assert ChecklistItem.objects.filter(team=desk["emea"]).count() == len(DEFAULT_ITEMS)
        assert not item(desk["team"], "budget").is_active  # a manager's removal is not undone


class TestAnswering:
    def test_the_owner_answers_and_it_lands_in_the_timeline_with_before_and_after(self, desk):
        answer = answer_record(desk["lead"].pk, user=desk["ann"], item="timeline", text=" Next quarter ")
        assert (answer.text, answer.answered_by) == ("Next quarter", desk["ann"])
        [entry] = entries(desk["lead"])
        assert entry.actor == desk["ann"] and entry.summary == "Qualification: Timeline: “Next quarter”"
        assert entry.data == {"item": "timeline", "label": "Timeline", "before": "", "after": "Next quarter"}

    def test_typing_in_bursts_leaves_one_entry_per_burst(self, desk):
        now = timezone.now()
        lead = desk["lead"].pk
        for i, text in enumerate(["Q", "Q3", "Q3, after the board meeting"]):
            answer_record(lead, user=desk["ann"], item="timeline", text=text, now=now + timedelta(seconds=i))
        [entry] = entries(desk["lead"])
        assert (entry.data["before"], entry.data["after"]) == ("", "Q3, after the board meeting")
        answer_record(lead, user=desk["ann"], item="timeline", text="Q4", now=now + timedelta(minutes=11))
        answer_record(lead, user=desk["boss"], item="timeline", text="Q4 at the latest",
                      now=now + timedelta(minutes=12))
        assert [(e.actor.username, e.data["before"], e.data["after"]) for e in entries(desk["lead"])] == [
            ("ann", "", "Q3, after the board meeting"), ("ann", "Q3, after the board meeting", "Q4"),
            ("boss", "Q4", "Q4 at the latest")]

    def test_an_unchanged_answer_writes_nothing(self, desk):
        answer_record(desk["lead"].pk, user=desk["ann"], item="pain", text="Slow follow-up")
        with CaptureQueriesContext(connection) as queries:
            answer_record(desk["lead"].pk, user=desk["ann"], item="pain", text="Slow follow-up  ")
        assert not [q for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE"))
                    and "qualification_answer" in q["sql"]]
        assert len(entries(desk["lead"])) == 1

    def test_clearing_an_answer_is_recorded(self, desk):
        answer_record(desk["lead"].pk, user=desk["ann"], item="pain", text="Slow follow-up")
        answer_record(desk["lead"].pk, user=desk["ann"], item="pain", text="",
                      now=timezone.now() + timedelta(minutes=20))
        assert entries(desk["lead"])[-1].summary == "Qualification: The pain cleared"
        assert Answer.objects.get(lead=desk["lead"], item__key="pain").text == ""

    def test_bad_input_is_refused_by_field(self, desk):
        with pytest.raises(AnswerInvalid) as refused:
            answer_record(desk["lead"].pk, user=desk["ann"], item="pain", text="x" * 2001)
        assert set(refused.value.errors) == {"text"}
        for unknown in ("nope", item(desk["emea"], "pain").pk):  # not on this team's checklist
            with pytest.raises(AnswerInvalid) as refused:
                answer_record(desk["lead"].pk, user=desk["ann"], item=unknown, text="x")
            assert set(refused.value.errors) == {"item"}
        item_remove(desk["team"], item(desk["team"], "pain").pk, user=desk["boss"])
        with pytest.raises(AnswerInvalid):
            answer_record(desk["lead"].pk, user=desk["ann"], item="pain", text="retired")
        assert not Answer.objects.exists()

    def test_only_the_owner_or_their_manager_answers(self, desk):
        for who in (desk["bob"], desk["olga"], desk["other_boss"], UserFactory(username="ae", roles=[Role.AE])):
            with pytest.raises(NotAllowed):
                answer_record(desk["lead"].pk, user=who, item="pain", text="mine")
        answer_record(desk["lead"].pk, user=desk["boss"], item="pain", text="the manager adds a detail")
        assert Answer.objects.get().answered_by == desk["boss"]

    def test_a_closed_lead_is_the_managers_to_complete(self, desk):
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="bad-fit", reason="Too small")
        with pytest.raises(NotAllowed):
            answer_record(desk["lead"].pk, user=desk["ann"], item="pain", text="late")
        answer_record(desk["lead"].pk, user=desk["boss"], item="pain", text="added after review")


class TestEnforcement:
    def test_a_qualified_code_waits_for_the_required_answers_and_changes_nothing(self, desk):
        answer_record(desk["lead"].pk, user=desk["ann"], item="timeline", text="This quarter")
        with pytest.raises(DispositionInvalid) as refused:
            lead_disposition(desk["lead"].pk, user=desk["ann"], code="qualified-meeting-set")
        assert refused.value.errors == {"answers": [
            "“Qualified - meeting set” needs the required checklist answers first: Role and authority, The pain."]}
        assert not Disposition.objects.exists()
        assert LeadAssignment.objects.get(lead=desk["lead"]).state == LeadState.WORKING
        answers_give(desk["lead"].pk, desk["ann"])
        assert lead_disposition(desk["lead"].pk, user=desk["ann"], code="qualified-meeting-set").is_current

    def test_a_blank_answer_does_not_count(self, desk):
        answers_give(desk["lead"].pk, desk["ann"])
        answer_record(desk["lead"].pk, user=desk["ann"], item="pain", text="")
        assert missing_required(desk["lead"].pk, desk["team"].pk) == ["The pain"]

    def test_codes_that_do_not_require_the_checklist_do_not_wait(self, desk):
        assert lead_disposition(desk["lead"].pk, user=desk["ann"], code="no-response").is_current

    def test_a_manager_changing_a_disposition_to_qualified_is_held_to_it_too(self, desk):
        first = lead_disposition(desk["lead"].pk, user=desk["ann"], code="no-response")
        with pytest.raises(DispositionInvalid) as refused:
            disposition_change(first.pk, user=desk["boss"], code="qualified-handed-to-ae", why="they replied")
        assert "answers" in refused.value.errors
        answers_give(desk["lead"].pk, desk["boss"])
        assert disposition_change(first.pk, user=desk["boss"], code="qualified-handed-to-ae",
                                  why="they replied").code.slug == "qualified-handed-to-ae"

    def test_the_requirement_follows_the_code_not_the_outcome(self, desk):
        from sdr_desk.dispositions.models import DispositionCode

        DispositionCode.objects.filter(slug="qualified-meeting-set").update(requires_answers=False)
        assert lead_disposition(desk["lead"].pk, user=desk["ann"], code="qualified-meeting-set").is_current


class TestManagingTheChecklist:
    def test_add_rename_require_reorder_and_retire(self, desk):
        team, boss = desk["team"], desk["boss"]
        added = item_add(team, user=boss, label="Number of sales reps", help_text="seats", required=True)
        assert added.key == "number_of_sales_reps" and added.position > item(team, "why_now").position
        item_update(team, added.pk, user=boss, label="Sales reps", help_text="seats to license", required=False)
        added.refresh_from_db()
        assert (added.key, added.label, added.required) == ("number_of_sales_reps", "Sales reps", False)
        item_move(team, added.pk, user=boss, up=True)
        order = list(ChecklistItem.objects.filter(team=team, is_active=True).order_by("position")
                     .values_list("key", flat=True))
        assert order[-2:] == ["number_of_sales_reps", "why_now"]
        item_move(team, item(team, "role").pk, user=boss, up=True)  # the first stays first
        assert ChecklistItem.objects.filter(team=team, is_active=True).order_by("position")[0].key == "role"
        item_remove(team, added.pk, user=boss)
        assert "number_of_sales_reps" not in set(ChecklistItem.objects.filter(team=team, is_active=True)
                                                 .values_list("key", flat=True))
        again = item_add(team, user=boss, label="Number of sales reps")
        assert again.pk == added.pk and again.is_active  # it comes back with its answers

    @pytest.mark.parametrize("label, help_text, field", [("", "", "label"), ("x" * 101, "", "label"),
                                                          ("Fine", "h" * 301, "help_text"), ("Timeline", "", "label")])
    def test_bad_items_are_refused_by_field(self, desk, label, help_text, field):
        before = ChecklistItem.objects.count()
        with pytest.raises(FieldsInvalid) as refused:
            item_add(desk["team"], user=desk["boss"], label=label, help_text=help_text)
        assert set(refused.value.errors) == {field}
        assert ChecklistItem.objects.count() == before

    def test_only_the_teams_manager_shapes_it(self, desk):
        for who in (desk["other_boss"], desk["ann"]):
            with pytest.raises(NotAllowed):
                item_add(desk["team"], user=who, label="Mine")
        with pytest.raises(FieldsInvalid):  # an item of another team is not on this checklist
            item_remove(desk["team"], item(desk["emea"], "pain").pk, user=desk["boss"])


class TestPages:
    def test_the_owner_types_an_answer_and_htmx_gets_the_status_line(self, desk, client):
        client.force_login(desk["ann"])
        url = f"/leads/{desk['lead'].pk}/qualification/{item(desk['team'], 'pain').pk}/"
        response = client.post(url, {"text": "Demo requests wait a day"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and "Saved · Ann" in response.content.decode()
        response = client.post(url, {"text": "x" * 2001}, HTTP_HX_REQUEST="true")
        assert response.status_code == 400 and "at most 2,000 characters" in response.content.decode()
        assert Answer.objects.get().text == "Demo requests wait a day"

    def test_without_javascript_the_form_posts_and_comes_back_to_the_lead(self, desk, client):
        client.force_login(desk["ann"])
        url = f"/leads/{desk['lead'].pk}/qualification/{item(desk['team'], 'pain').pk}/"
        response = client.post(url, {"text": "Slow"})
        assert response.status_code == 303 and response["Location"].endswith(f"/leads/{desk['lead'].pk}/#qualification")

    @pytest.mark.parametrize("who", ["bob", "olga", "ae", "marketing", "other_boss"])
    def test_anyone_else_gets_403_and_nothing_changes(self, desk, client, who):
        users = {"ae": UserFactory(username="ae", roles=[Role.AE]),
                 "marketing": UserFactory(username="mkt", roles=[Role.MARKETING])}
        client.force_login(users.get(who) or desk[who])
        url = f"/leads/{desk['lead'].pk}/qualification/{item(desk['team'], 'pain').pk}/"
        assert client.post(url, {"text": "mine"}, HTTP_HX_REQUEST="true").status_code == 403
        assert not Answer.objects.exists()

    def test_the_lead_page_shows_the_checklist_editable_to_the_owner_read_only_to_others(self, desk, client):
        answer_record(desk["lead"].pk, user=desk["ann"], item="pain", text="<b>slow</b> follow-up")
        page = f"/leads/{desk['lead'].pk}/"
        client.force_login(desk["ann"])
        body = client.get(page).content.decode()
        assert 'id="qualification"' in body and "1 of 3 required answered" in body
        assert 'hx-trigger="input changed delay:800ms, change"' in body
        assert "&lt;b&gt;slow&lt;/b&gt; follow-up" in body and "<b>slow</b>" not in body
        client.force_login(UserFactory(username="ae", roles=[Role.AE]))
        body = client.get(page).content.decode()
        assert 'id="qualification"' in body and "<textarea" not in body.split('id="qualification"')[1]
        client.force_login(desk["olga"])  # an SDR of another team sees no outcome facts of ours
        assert 'id="qualification"' not in client.get(page).content.decode()

    def test_the_lead_page_costs_the_same_queries_with_no_or_every_answer(self, desk, client):
        client.force_login(desk["ann"])
        page = f"/leads/{desk['lead'].pk}/"
        client.get(page)
        with CaptureQueriesContext(connection) as none:
            client.get(page)
        for key, *_ in DEFAULT_ITEMS:
            answer_record(desk["lead"].pk, user=desk["ann"], item=key, text=f"about {key}")
        with CaptureQueriesContext(connection) as every:
            client.get(page)
        assert len(every) == len(none)

    def test_the_manager_shapes_the_checklist_on_a_page(self, desk, client):
        client.force_login(desk["boss"])
        url = f"/teams/{desk['team'].pk}/checklist/"
        assert client.get(url).status_code == 200
        response = client.post(url, {"action": "add", "label": "Seats", "help_text": "how many", "required": "on"})
        assert response.status_code == 303
        seats = item(desk["team"], "seats")
        assert seats.required and seats.help_text == "how many"
        assert client.post(url, {"action": "up", "item": seats.pk}).status_code == 303
        assert client.post(url, {"action": "save", "item": seats.pk, "label": ""}).status_code == 400
        response = client.post(url, {"action": "add", "label": "Timeline"})
        assert response.status_code == 400 and "is on the checklist already" in response.content.decode()
        assert client.post(url, {"action": "explode"}).status_code == 400
        assert client.post(url, {"action": "remove", "item": seats.pk}).status_code == 303
        assert not item(desk["team"], "seats").is_active

    @pytest.mark.parametrize("who", ["other_boss", "ann", "ae", "marketing"])
    def test_the_checklist_page_is_the_teams_managers_only(self, desk, client, who):
        users = {"ae": UserFactory(username="ae", roles=[Role.AE]),
                 "marketing": UserFactory(username="mkt", roles=[Role.MARKETING])}
        client.force_login(users.get(who) or desk[who])
        url = f"/teams/{desk['team'].pk}/checklist/"
        assert client.get(url).status_code == 403
        assert client.post(url, {"action": "add", "label": "Mine"}).status_code == 403
        assert not ChecklistItem.objects.filter(key="mine").exists()

    def test_anonymous_is_sent_to_sign_in(self, desk, client):
        assert client.get(f"/teams/{desk['team'].pk}/checklist/").status_code == 302


class TestApi:
    def test_items_are_listable_by_team(self, desk, client):
        client.force_login(desk["ann"])
        own = client.get("/api/v1/checklist-items/").json()
        assert [i["key"] for i in own] == [key for key, *_ in DEFAULT_ITEMS]
        assert {i["team"] for i in own} == {desk["team"].pk}
        emea = client.get(f"/api/v1/checklist-items/?team={desk['emea'].pk}").json()
        assert {i["team"] for i in emea} == {desk["emea"].pk}
        assert client.get("/api/v1/checklist-items/?team=abc").status_code == 400
        client.logout()
        assert client.get("/api/v1/checklist-items/").status_code in (401, 403)

    def test_answer_through_the_api_and_read_it_on_the_lead(self, desk, client):
        client.force_login(desk["ann"])
        url = f"/api/v1/leads/{desk['lead'].pk}/qualification/"
        response = client.put(url, {"item": "timeline", "text": "Q3"}, content_type="application/json")
        assert response.status_code == 200
        assert response.json()["item"] == "timeline" and response.json()["answered_by"] == "ann"
        lead = client.get(f"/api/v1/leads/{desk['lead'].pk}/").json()
        assert lead["qualification"]["complete"] is False
        assert lead["qualification"]["missing"] == ["role", "pain"]
        timeline = next(a for a in lead["qualification"]["answers"] if a["item"] == "timeline")
        assert (timeline["text"], timeline["required"], timeline["answered_by"]) == ("Q3", True, "ann")

    def test_bad_answers_are_field_level_and_others_get_403(self, desk, client):
        url = f"/api/v1/leads/{desk['lead'].pk}/qualification/"
        client.force_login(desk["ann"])
        assert client.put(url, {"item": "nope", "text": "x"}, content_type="application/json").status_code == 400
        assert client.put(url, {"item": "pain", "text": "x" * 2001},
                          content_type="application/json").status_code == 400
        assert client.put(url, {"item": "pain"}, content_type="application/json").status_code == 400
        assert client.put("/api/v1/leads/999999/qualification/", {"item": "pain", "text": "x"},
                          content_type="application/json").status_code == 404
        client.force_login(desk["bob"])
        assert client.put(url, {"item": "pain", "text": "x"}, content_type="application/json").status_code == 403
        assert not Answer.objects.exists()

    def test_the_lead_collection_reads_qualification_without_a_query_per_lead(self, desk, client):
        client.force_login(desk["boss"])
        client.get("/api/v1/leads/")
        with CaptureQueriesContext(connection) as one:
            client.get("/api/v1/leads/")
        for _ in range(5):
            lead = hot_lead()
            lead_route(lead.pk)
        with CaptureQueriesContext(connection) as six:
            assert len(client.get("/api/v1/leads/").json()["results"]) == 6
        assert len(six) == len(one)

    def test_the_schema_has_the_endpoints_and_the_lead_field(self, desk, client):
        client.force_login(desk["ann"])
        schema = client.get("/api/schema/?format=json").json()
        assert "put" in schema["paths"]["/api/v1/leads/{id}/qualification/"]
        assert "get" in schema["paths"]["/api/v1/checklist-items/"]
        # The lead's schema is the last enriching app's (the handoff's), which keeps qualification's fields.
        assert "qualification" in schema["components"]["schemas"]["HandoffLead"]["properties"]
