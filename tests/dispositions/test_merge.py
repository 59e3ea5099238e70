"""Merging a duplicate lead: everything moves to the survivor, the duplicate closes, its email lands there later."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connections
from django.urls import reverse
from rest_framework.test import APIClient

from inbound.models import Activity, Lead, LeadStatus, Submission, TimelineEntry, VisitorLink
from scoring.models import LeadScore
from sdr_desk.dispositions.merge import AlreadyMerged, MergeInvalid, lead_merge
from sdr_desk.dispositions.models import Disposition
from sdr_desk.qualification.models import Answer, ChecklistItem
from sdr_desk.qualification.services import answer_record
from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment, LeadState, Touch
from sdr_desk.routing.ownership import NotAllowed, lead_claim
from sdr_desk.routing.touches import touch_log
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import UserFactory

TABLES = {"timeline": TimelineEntry, "submissions": Submission, "activities": Activity, "touches": Touch,
          "visitor_links": VisitorLink, "answers": Answer}


def counts(lead_id: int) -> dict[str, int]:
    return {name: model.objects.filter(lead_id=lead_id).count() for name, model in TABLES.items()}


def desk_make():
    boss = UserFactory(username="boss", roles=[Role.MANAGER])
    team = team_make("Inbound", visibility="claim", manager=boss)
    ann, bob = rep_make("ann", team), rep_make("bob", team)
    timeline, budget = (ChecklistItem.objects.get_or_create(team=team, key=key, defaults={"label": key.title()})[0]
                        for key in ("timeline", "budget"))
    dup = hot_lead(email="ada@corp.io", first_name="Ada")
    survivor = hot_lead(email="ada.lovelace@corp.io", first_name="Ada")
    for lead in (dup, survivor):
        lead_route(lead.pk)
    lead_claim(dup.pk, user=ann)
    lead_claim(survivor.pk, user=bob)
    touch_log(dup.pk, rep=ann, channel="call", outcome="connected", notes="she asked for pricing")
    answer_record(dup.pk, user=ann, item=timeline.pk, text="Q3 (from the duplicate)")
    answer_record(dup.pk, user=ann, item=budget.pk, text="50k")
    answer_record(survivor.pk, user=bob, item=timeline.pk, text="Q2 (the survivor's)")
    Submission.objects.create(channel="api", payload={"email": "ada@corp.io"}, lead=dup, status="processed")
    VisitorLink.objects.create(visitor_id="v-ada", lead=dup)
    return {"boss": boss, "team": team, "ann": ann, "bob": bob, "dup": dup, "survivor": survivor,
            "timeline": timeline, "budget": budget}


@pytest.fixture
def desk(db):
    return desk_make()


def unchanged(desk, before_dup, before_survivor) -> bool:
    dup = Lead.objects.get(pk=desk["dup"].pk)
    return (counts(dup.pk) == before_dup and counts(desk["survivor"].pk) == before_survivor
            and dup.merged_into_id is None and not Disposition.objects.filter(lead=dup).exists()
            and LeadAssignment.objects.get(lead=dup).state != LeadState.CLOSED)


@pytest.mark.django_db
class TestMerge:
    def test_everything_moves_to_the_survivor(self, desk):
        dup, survivor = desk["dup"], desk["survivor"]
        before_dup, before_survivor = counts(dup.pk), counts(survivor.pk)
        assert all(before_dup[name] > 0 for name in TABLES), before_dup
        dup_entries = set(TimelineEntry.objects.filter(lead=dup).values_list("pk", flat=True))
        merge = lead_merge(dup.pk, into_id=survivor.pk, user=desk["ann"])
        after_dup, after_survivor = counts(dup.pk), counts(survivor.pk)
        for name in ("submissions", "activities", "touches", "visitor_links"):
            assert after_survivor[name] == before_survivor[name] + before_dup[name], name
            assert after_dup[name] == 0, name
        # The survivor's timeline has every entry it had, every one of the duplicate's, and its merge entry.
        survivor_entries = set(TimelineEntry.objects.filter(lead=survivor).values_list("pk", flat=True))
        assert dup_entries <= survivor_entries
        assert TimelineEntry.objects.filter(lead=survivor, kind="merge").count() == 1
        # Score history (score entries of the timeline) moved with it.
        assert TimelineEntry.objects.filter(lead=survivor, kind="score", pk__in=dup_entries).exists()
        # Answers: the duplicate's budget moved; on timeline both answered and the survivor's stays.
        answers = dict(Answer.objects.filter(lead=survivor).values_list("item__key", "text"))
        assert answers == {"timeline": "Q2 (the survivor's)", "budget": "50k"}
        assert list(Answer.objects.filter(lead=dup).values_list("text", flat=True)) == ["Q3 (from the duplicate)"]
        assert merge.moved["answers"] == 1 and merge.moved["touches"] == 1

    def test_the_duplicate_closes_as_duplicate_naming_the_survivor(self, desk):
        dup, survivor = desk["dup"], desk["survivor"]
        lead_merge(dup.pk, into_id=survivor.pk, user=desk["ann"])
        dup.refresh_from_db()
        assert dup.merged_into_id == survivor.pk and dup.status == LeadStatus.CLOSED
        disposition = Disposition.objects.get(lead=dup, is_current=True)
        assert disposition.code.slug == "duplicate" and f"#{survivor.pk}" in disposition.reason
        assert survivor.email in disposition.note
        assert LeadAssignment.objects.get(lead=dup).state == LeadState.CLOSED
        entry = TimelineEntry.objects.get(lead=dup, kind="merge")
        assert entry.actor == desk["ann"]
        assert entry.data["before"]["merged_into"] is None and entry.data["after"]["merged_into"] == survivor.pk
        assert TimelineEntry.objects.filter(lead=dup, kind="disposition").exists()
        # The survivor stays open with its owner, and was rescored.
        assert LeadAssignment.objects.get(lead=survivor).owner == desk["bob"]
        assert LeadScore.objects.get(lead=survivor).computed_at >= entry.occurred_at

    def test_conversions_add_up_on_the_survivor(self, desk):
        Lead.objects.filter(pk=desk["dup"].pk).update(conversion_count=2)
        Lead.objects.filter(pk=desk["survivor"].pk).update(conversion_count=3)
        lead_merge(desk["dup"].pk, into_id=desk["survivor"].pk, user=desk["ann"])
        assert Lead.objects.get(pk=desk["survivor"].pk).conversion_count == 5

    def test_the_manager_may_merge(self, desk):
        lead_merge(desk["dup"].pk, into_id=desk["survivor"].pk, user=desk["boss"])
        assert Lead.objects.get(pk=desk["dup"].pk).merged_into_id == desk["survivor"].pk

    def test_a_lead_merged_into_the_duplicate_follows_to_the_survivor(self, desk):
        older = hot_lead(email="a.l@corp.io")
        Lead.objects.filter(pk=older.pk).update(merged_into=desk["dup"])
        lead_merge(desk["dup"].pk, into_id=desk["survivor"].pk, user=desk["ann"])
        assert Lead.objects.get(pk=older.pk).merged_into_id == desk["survivor"].pk


@pytest.mark.django_db
class TestRefusals:
    def test_not_the_owner_is_refused_and_nothing_changes(self, desk):
        before = counts(desk["dup"].pk), counts(desk["survivor"].pk)
        with pytest.raises(NotAllowed):
            lead_merge(desk["dup"].pk, into_id=desk["survivor"].pk, user=desk["bob"])
        assert unchanged(desk, *before)

    @pytest.mark.parametrize("target", ["same", "unknown", "merged", "none"])
    def test_a_bad_survivor_is_a_field_error_and_nothing_changes(self, desk, target):
        other = hot_lead(email="someone@else.io")
        Lead.objects.filter(pk=other.pk).update(merged_into=desk["survivor"])
        into = {"same": desk["dup"].pk, "unknown": 999_999, "merged": other.pk, "none": None}[target]
        before = counts(desk["dup"].pk), counts(desk["survivor"].pk)
        with pytest.raises(MergeInvalid) as error:
            lead_merge(desk["dup"].pk, into_id=into, user=desk["ann"])
        assert list(error.value.errors) == ["into"]
        assert unchanged(desk, *before)

    def test_a_merged_lead_cannot_be_merged_again(self, desk):
        lead_merge(desk["dup"].pk, into_id=desk["survivor"].pk, user=desk["ann"])
        third = hot_lead(email="third@corp.io")
        with pytest.raises(AlreadyMerged):
            lead_merge(desk["dup"].pk, into_id=third.pk, user=desk["boss"])


# --- later intake by the merged email --------------------------------------------------------------------


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.django_db
class TestIntake:
    def test_a_later_submission_by_the_merged_email_lands_on_the_survivor(self, desk, keyed):
        lead_merge(desk["dup"].pk, into_id=desk["survivor"].pk, user=desk["ann"])
        leads = Lead.objects.count()
        dup_conversions = Lead.objects.get(pk=desk["dup"].pk).conversion_count
        conversions = Lead.objects.get(pk=desk["survivor"].pk).conversion_count
        response = post(keyed, "/api/v1/leads/", {"email": " ADA@corp.io ", "form_type": "pricing",
                                                  "job_title": "CTO"})
        assert response.status_code == 200, response.json()
        assert response.json()["id"] == desk["survivor"].pk
        assert Lead.objects.count() == leads
        survivor = Lead.objects.get(pk=desk["survivor"].pk)
        assert survivor.conversion_count == conversions + 1 and survivor.job_title == "CTO"
        assert Lead.objects.get(pk=desk["dup"].pk).conversion_count == dup_conversions  # the duplicate is left alone
        submission = Submission.objects.latest("pk")
        assert submission.lead_id == survivor.pk and not submission.created_lead
        assert Activity.objects.filter(submission=submission, lead=survivor).exists()
        assert TimelineEntry.objects.filter(lead=survivor, kind="submission",
                                            summary__contains="as ada@corp.io (merged into this lead)").exists()

    def test_a_later_event_by_the_merged_email_lands_on_the_survivor(self, desk, keyed):
        lead_merge(desk["dup"].pk, into_id=desk["survivor"].pk, user=desk["ann"])
        response = post(keyed, "/api/v1/events/", {"type": "pricing_page_view", "email": "ada@corp.io",
                                                   "url": "https://x.io/pricing"})
        assert response.status_code == 202, response.json()
        assert response.json()["lead_id"] == desk["survivor"].pk
        assert Activity.objects.get(type="pricing_page_view").lead_id == desk["survivor"].pk


# --- two merges at once -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_merges_of_one_duplicate_at_once_one_wins():
    desk = desk_make()
    third = hot_lead(email="third@corp.io")
    lead_route(third.pk)
    barrier = threading.Barrier(2)
    results: list[str] = []
    lock = threading.Lock()

    def worker(into_id: int, user) -> None:
        try:
            barrier.wait()
            lead_merge(desk["dup"].pk, into_id=into_id, user=user)
            outcome = f"merged into {into_id}"
        except (AlreadyMerged, MergeInvalid, NotAllowed) as error:
            outcome = type(error).__name__
        except Exception as error:  # noqa: BLE001  a deadlock would show here
            outcome = f"error {error!r}"
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker, args=(desk["survivor"].pk, desk["ann"])),
               threading.Thread(target=worker, args=(third.pk, desk["boss"]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.split(" ")[0] for r in results) == ["AlreadyMerged", "merged"], results
    dup = Lead.objects.get(pk=desk["dup"].pk)
    assert f"merged into {dup.merged_into_id}" in results
    assert Disposition.objects.filter(lead=dup).count() == 1
    assert Touch.objects.filter(lead_id=dup.merged_into_id).count() == 1


# --- the API and the page -----------------------------------------------------------------------------------


@pytest.mark.django_db
class TestApi:
    def url(self, desk) -> str:
        return f"/api/v1/leads/{desk['dup'].pk}/merge/"

    def client_for(self, user) -> APIClient:
        client = APIClient()
        client.force_login(user)
        return client

    def test_the_owner_merges_through_the_api(self, desk):
        response = self.client_for(desk["ann"]).post(self.url(desk), {"into": desk["survivor"].pk}, format="json")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["lead"] == desk["dup"].pk and body["merged_into"] == desk["survivor"].pk
        assert body["moved"]["touches"] == 1 and body["disposition"]["code"] == "duplicate"

    def test_refusals(self, desk):
        before = counts(desk["dup"].pk), counts(desk["survivor"].pk)
        assert self.client_for(desk["bob"]).post(self.url(desk), {"into": desk["survivor"].pk},
                                                 format="json").status_code == 403
        for into in (desk["dup"].pk, 999_999):
            response = self.client_for(desk["ann"]).post(self.url(desk), {"into": into}, format="json")
            assert response.status_code == 400 and "into" in response.json()["fields"], response.json()
        response = self.client_for(desk["ann"]).post(self.url(desk), {"into": "x"}, format="json")
        assert response.status_code == 400
        assert APIClient().post(self.url(desk), {"into": desk["survivor"].pk},
                                format="json").status_code in (401, 403)
        assert unchanged(desk, *before)
        assert self.client_for(desk["ann"]).post("/api/v1/leads/999999/merge/", {"into": desk["survivor"].pk},
                                                 format="json").status_code == 404


    def test_the_lead_says_which_lead_it_was_merged_into(self, desk):
        client = self.client_for(desk["ann"])
        detail = reverse("api-lead-detail", args=[desk["dup"].pk])
        assert client.get(detail).json()["merged_into"] is None
        lead_merge(desk["dup"].pk, into_id=desk["survivor"].pk, user=desk["ann"])
        assert client.get(detail).json()["merged_into"] == desk["survivor"].pk
        assert client.get(reverse("api-lead-detail", args=[desk["survivor"].pk])).json()["merged_into"] is None
        listed = {row["id"]: row["merged_into"] for row in client.get(reverse("api-leads")).json()["results"]}
        assert listed[desk["dup"].pk] == desk["survivor"].pk

    def test_the_schema_has_merged_into_as_a_nullable_integer(self, desk):
        schema = self.client_for(desk["ann"]).get("/api/schema/?format=json").json()
        lead = schema["paths"]["/api/v1/leads/{id}/"]["get"]["responses"]["200"]["content"]["application/json"]
        field = schema["components"]["schemas"][lead["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]["merged_into"]
        assert field["type"] == "integer" and field["nullable"] is True and field["readOnly"] is True
        body = schema["components"]["schemas"]["DispositionInRequest"]["properties"]
        assert body["into"]["type"] == "integer"

    def test_a_plain_duplicate_disposition_without_a_survivor_is_a_field_error(self, desk):
        url = reverse("api-lead-disposition", args=[desk["dup"].pk])
        before = counts(desk["dup"].pk), counts(desk["survivor"].pk)
        response = self.client_for(desk["ann"]).post(url, {"code": "duplicate"}, format="json")
        assert response.status_code == 400 and list(response.json()["fields"]) == ["into"], response.json()
        response = self.client_for(desk["ann"]).post(url, {"code": "no-response", "into": desk["survivor"].pk},
                                                     format="json")
        assert response.status_code == 400 and list(response.json()["fields"]) == ["into"]
        assert unchanged(desk, *before) and not Disposition.objects.exists()
        assert LeadAssignment.objects.get(lead=desk["dup"]).state != LeadState.CLOSED

    def test_a_duplicate_disposition_with_its_survivor_merges(self, desk):
        url = reverse("api-lead-disposition", args=[desk["dup"].pk])
        response = self.client_for(desk["ann"]).post(url, {"code": "duplicate", "into": desk["survivor"].pk},
                                                     format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["code"] == "duplicate"
        assert Lead.objects.get(pk=desk["dup"].pk).merged_into_id == desk["survivor"].pk
        assert counts(desk["dup"].pk)["touches"] == 0
        for into in (desk["dup"].pk, 999_999):  # a bad survivor is the merge's own field error
            other = hot_lead(email=f"x{into}@corp.io")
            lead_route(other.pk)
            response = self.client_for(desk["boss"]).post(reverse("api-lead-disposition", args=[other.pk]),
                                                          {"code": "duplicate", "into": into}, format="json")
            assert response.status_code == 400 and "into" in response.json()["fields"]


@pytest.mark.django_db
class TestPage:
    def test_choosing_duplicate_with_the_survivors_email_merges(self, desk, client):
        client.force_login(desk["ann"])
        response = client.post(reverse("lead-disposition", args=[desk["dup"].pk]),
                               {"code": "duplicate", "into": "ADA.LOVELACE@corp.io"})
        assert response.status_code == 302
        assert Lead.objects.get(pk=desk["dup"].pk).merged_into_id == desk["survivor"].pk
        page = client.get(reverse("lead-detail", args=[desk["dup"].pk])).content.decode()
        assert "Merged into" in page and reverse("lead-detail", args=[desk["survivor"].pk]) in page

    @pytest.mark.parametrize("into, message", [("", "Name the lead"), ("nobody@x.io", "No lead"),
                                               ("same", "itself"), ("merged", "itself merged")])
    def test_a_bad_survivor_is_a_field_error_beside_the_form(self, desk, client, into, message):
        other = hot_lead(email="someone@else.io")
        Lead.objects.filter(pk=other.pk).update(merged_into=desk["survivor"])
        into = {"same": str(desk["dup"].pk), "merged": other.email}.get(into, into)
        client.force_login(desk["ann"])
        before = counts(desk["dup"].pk), counts(desk["survivor"].pk)
        response = client.post(reverse("lead-disposition", args=[desk["dup"].pk]),
                               {"code": "duplicate", "into": into})
        assert response.status_code == 400
        page = response.content.decode()
        assert message in page and 'name="into"' in page
        assert unchanged(desk, *before)

    def test_the_panel_asks_for_the_survivor(self, desk, client):
        client.force_login(desk["ann"])
        page = client.get(reverse("lead-detail", args=[desk["dup"].pk])).content.decode()
        assert 'name="into"' in page and "data-disposition-merge" in page



@pytest.mark.django_db
def test_the_owners_board_card_opens_the_lead_at_its_disposition_panel(desk):
    from sdr_desk.board.live import card_render

    owner_card = card_render(LeadAssignment.objects.get(lead=desk["dup"]), for_owner=True)
    link = f'href="{reverse("lead-detail", args=[desk["dup"].pk])}#disposition" data-disposition'
    assert link in owner_card
    assert "data-disposition" not in card_render(LeadAssignment.objects.get(lead=desk["dup"]), for_owner=False)
