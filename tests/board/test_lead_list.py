"""The leads list: score, tier, owner, state and first-touch columns; sorts and filters kept in the URL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from inbound.models import Lead
from sdr_desk.board.lead_list import SORTS
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import touch_log
from tests.desk_fixtures import cold_lead, hot_lead, rep_make, team_make
from tests.factories import LeadFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def desk():
    team = team_make("Inbound", visibility="claim")
    ann, bob = rep_make("ann", team), rep_make("bob", team)
    hot = hot_lead(first_name="Hannah", last_name="Hot", company="Hotco")
    lead_route(hot.pk)
    lead_claim(hot.pk, user=ann)
    worked = hot_lead(first_name="Walter", last_name="Worked", company="Workco")
    lead_route(worked.pk)
    lead_claim(worked.pk, user=bob)
    touch_log(worked.pk, rep=bob, channel="call", outcome="connected")
    cold = cold_lead(first_name="Colin", last_name="Cold", company="Coldco", source=SourceFactory(name="Newsletter"))
    lead_route(cold.pk)
    LeadAssignment.objects.filter(lead=cold).update(owner=None, state="queued")  # in the team queue, nobody's
    bare = LeadFactory(first_name="Bare", last_name="Unrouted", company="Bareco")
    return {"ann": ann, "bob": bob, "hot": hot, "worked": worked, "cold": cold, "bare": bare}


def names(body: str) -> list[str]:
    return re.findall(r'<a class="strong" href="/leads/\d+/">([^<]+)</a>', body)


class TestColumns:
    def test_each_row_shows_score_tier_owner_state_and_first_touch(self, desk):
        body = signed_in(desk["ann"]).get("/leads/").content.decode()
        for header in ("Lead", "Source", "Score", "Tier", "Owner", "State", "First touch", "Created"):
            assert f'data-sort="{header}"' not in body and f">{header}<" in body or f">{header} " in body
        row = body[body.index("Hannah Hot"):]
        row = row[:row.index("</tr>")]
        assert "Hand-raiser" in row and "Ann" in row and "Assigned" in row and "left" in row
        assert str(desk["hot"].score.total) in row
        worked = body[body.index("Walter Worked"):]
        assert "after arrival" in worked[:worked.index("</tr>")]
        bare = body[body.index("Bare Unrouted"):]
        assert "Not routed" in bare[:bare.index("</tr>")] and "Unassigned" in bare[:bare.index("</tr>")]

    def test_an_overdue_lead_says_overdue(self, desk):
        LeadAssignment.objects.filter(lead=desk["hot"]).update(sla_due_at=timezone.now() - timedelta(minutes=9))
        body = signed_in(desk["ann"]).get("/leads/").content.decode()
        row = body[body.index("Hannah Hot"):]
        assert "Overdue by 9 min" in row[:row.index("</tr>")]

    def test_output_is_escaped(self, desk):
        LeadFactory(first_name="<script>alert(1)</script>")
        body = signed_in(desk["ann"]).get("/leads/").content.decode()
        assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


class TestSorting:
    def test_newest_first_by_default(self, desk):
        newest = Lead.objects.order_by("-created_at", "-id").first()
        assert names(signed_in(desk["ann"]).get("/leads/").content.decode())[0] == newest.full_name

    def test_by_score_highest_first_and_back(self, desk):
        client = signed_in(desk["ann"])
        by_score = names(client.get("/leads/", {"sort": "-score"}).content.decode())
        totals = {lead.full_name: getattr(getattr(lead, "score", None), "total", None)
                  for lead in Lead.objects.select_related("score")}
        ranked = [totals[name] for name in by_score]
        scored = [t for t in ranked if t is not None]
        assert scored == sorted(scored, reverse=True) and ranked[-1] is None  # no score sorts last
        ascending = names(client.get("/leads/", {"sort": "score"}).content.decode())
        assert ascending[-1] == by_score[-1] == "Bare Unrouted"  # no score: last both ways

    def test_by_owner_and_by_first_touch_deadline(self, desk):
        client = signed_in(desk["ann"])
        assert names(client.get("/leads/", {"sort": "owner"}).content.decode())[:2] == ["Hannah Hot", "Walter Worked"]
        LeadAssignment.objects.filter(lead=desk["cold"]).update(sla_due_at=timezone.now() - timedelta(hours=1))
        assert names(client.get("/leads/", {"sort": "sla"}).content.decode())[0] == "Colin Cold"

    @pytest.mark.parametrize("sort", [*SORTS, *(f"-{key}" for key in SORTS)])
    def test_every_sort_answers(self, desk, sort):
        response = signed_in(desk["ann"]).get("/leads/", {"sort": sort})
        assert response.status_code == 200 and len(names(response.content.decode())) == 4

    @pytest.mark.parametrize("sort", ["password", "-", "--score", "score;drop table", "lead__email", "?"])
    def test_a_sort_not_on_the_list_is_the_default_not_an_error(self, desk, sort):
        response = signed_in(desk["ann"]).get("/leads/", {"sort": sort})
        assert response.status_code == 200
        assert names(response.content.decode()) == names(signed_in(desk["ann"]).get("/leads/").content.decode())

    def test_a_header_link_keeps_the_filters_and_turns_the_sort_round(self, desk):
        body = signed_in(desk["ann"]).get("/leads/", {"sort": "-score", "tier": "hand_raiser", "page": "1"}).content
        body = body.decode()
        score_link = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#lead-rows" hx-push-url="true" '
                               r'data-sort="score">', body).group(1)
        assert "sort=score" in score_link and "tier=hand_raiser" in score_link and "page=" not in score_link
        assert 'aria-sort="descending"' in body


class TestFilters:
    def test_tier_state_owner_source_hot_and_text(self, desk):
        client = signed_in(desk["ann"])

        def listed(**params: str) -> set[str]:
            return set(names(client.get("/leads/", params).content.decode()))

        assert listed(tier="hand_raiser") == {"Hannah Hot", "Walter Worked"}
        assert listed(state="working") == {"Walter Worked"}
        assert listed(owner=str(desk["ann"].pk)) == {"Hannah Hot"}
        assert listed(owner="unassigned") == {"Colin Cold", "Bare Unrouted"}
        assert listed(source=str(desk["cold"].source_id)) == {"Colin Cold"}
        assert listed(hot="1") == {"Hannah Hot", "Walter Worked"}
        assert listed(q="workco") == {"Walter Worked"}
        assert listed(q="workco", tier="light") == set()

    @pytest.mark.parametrize("params", [{"tier": "lukewarm"}, {"state": "x"}, {"owner": "nobody"},
                                        {"owner": "9" * 30}, {"source": "-1"}, {"hot": "yes"}, {"page": "zz"},
                                        {"status": "bogus"}, {"q": "x" * 500}])
    def test_bad_values_are_ignored(self, desk, params):
        assert signed_in(desk["ann"]).get("/leads/", params).status_code == 200

    def test_filters_stay_in_the_page_links(self, desk):
        team = desk["ann"].rep.team
        for n in range(51):
            LeadFactory(first_name=f"Many{n}", company="Bulk")
        del team
        body = signed_in(desk["ann"]).get("/leads/", {"q": "Bulk", "sort": "name"}).content.decode()
        nxt = re.search(r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#lead-rows" hx-push-url="true">Next', body)
        assert nxt and "q=Bulk" in nxt.group(1) and "sort=name" in nxt.group(1) and "page=2" in nxt.group(1)
        assert 'name="sort" value="name" form="lead-filters"' in body  # the form sends the sort with the filters

    def test_htmx_gets_only_the_rows(self, desk):
        response = signed_in(desk["ann"]).get("/leads/", {"q": "Hot"}, HTTP_HX_REQUEST="true",
                                              HTTP_HX_TARGET="lead-rows")
        body = response.content.decode()
        assert "<table" in body and "<html" not in body and "Hannah Hot" in body


class TestAccess:
    def test_reps_managers_and_marketing_see_it_someone_without_a_role_does_not(self, desk, manager, marketing):
        for user in (desk["ann"], manager, marketing):
            assert signed_in(user).get("/leads/").status_code == 200
        assert signed_in(UserFactory(username="nobody")).get("/leads/").status_code == 403
        assert Client().get("/leads/").status_code == 302

    def test_the_page_takes_a_fixed_number_of_queries_whatever_the_page_holds(self, desk, django_assert_num_queries):
        client = signed_in(desk["ann"])
        # session, user, the viewer's zone, permissions (2), count, owners, sources, rows, and the nav's
        # "has a board?" (groups, seat)
        with django_assert_num_queries(11):
            client.get("/leads/")
        for n in range(30):
            lead = hot_lead(first_name=f"More{n}")
            lead_route(lead.pk)
        with django_assert_num_queries(11):
            body = client.get("/leads/").content.decode()
        assert len(names(body)) == 34
