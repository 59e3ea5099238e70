"""The report pages and their exports: who may open what, what each sees, bad input, CSV, query counts."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client

from sdr_desk.reports.tables import Column, Table, csv_safe
from tests.factories import UserFactory
from tests.reports.fixtures import MON_10, lead_arrive

pytestmark = pytest.mark.django_db

RANGE = "since=2026-11-01&until=2026-11-30"
PAGES = {"/reports/": ["summary", "buckets", "by-rep"], "/reports/funnel/": ["by-source", "reasons", "rejections"],
         "/reports/handoff/": ["sources", "campaigns", "rejections", "bad-fit", "first-touch", "last-touch",
                               "first-campaign", "last-campaign"],
         "/reports/coaching/": ["reps"]}
URLS = [f"{page}?{RANGE}" for page in PAGES] + [f"/reports/leads/?{RANGE}"] + [
    f"{page}?{RANGE}&format=csv&table={table}" for page, tables in PAGES.items() for table in tables]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def leads_listed(desk, response) -> set[str]:
    """The fixture's leads the page links to (by their lead page's URL)."""
    body = response.content.decode()
    return {key for key, lead in desk.leads.items() if f'href="/leads/{lead.pk}/"' in body}


class TestWhoMayOpenThem:
    @pytest.mark.parametrize("url", URLS)
    def test_anonymous_visitors_are_sent_to_sign_in(self, desk, url):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    @pytest.mark.parametrize("url", URLS)
    def test_an_ae_and_a_user_without_a_role_are_refused(self, desk, url):
        for user in (desk.ae, UserFactory(username="nobody")):
            response = client_for(user).get(url)
            assert response.status_code == 403 and b'class="topbar"' in response.content

    @pytest.mark.parametrize("url", URLS)
    def test_sdrs_managers_marketing_and_admins_may(self, desk, url):
        admin = UserFactory(username="root", is_superuser=True, is_staff=True)
        for user in (desk.ann, desk.manager, desk.marketing, admin):
            assert client_for(user).get(url).status_code == 200, (user.username, url)

    def test_only_get(self, desk):
        assert client_for(desk.manager).post("/reports/").status_code == 405


class TestWhatEachSees:
    def test_a_manager_sees_their_teams_leads_only(self, desk):
        response = client_for(desk.manager).get(f"/reports/leads/?{RANGE}")
        assert leads_listed(desk, response) == {"a1", "a2", "a3", "a4", "a5", "a6"}
        assert b"Your teams" in response.content

    def test_an_sdr_sees_their_own_leads_only(self, desk):
        assert leads_listed(desk, client_for(desk.ann).get(f"/reports/leads/?{RANGE}")) == {"a1", "a2", "a3", "a4"}
        # Asking for a teammate's figures by URL gives nothing more.
        assert leads_listed(desk, client_for(desk.ann).get(f"/reports/leads/?{RANGE}&rep={desk.bob.pk}")) == set()

    def test_marketing_sees_every_team(self, desk):
        assert leads_listed(desk, client_for(desk.marketing).get(f"/reports/leads/?{RANGE}")) == {
            "a1", "a2", "a3", "a4", "a5", "a6", "c1"}

    def test_a_manager_may_not_pick_a_team_they_do_not_manage(self, desk):
        response = client_for(desk.manager).get(f"/reports/?{RANGE}&team={desk.other_team.pk}")
        assert response.status_code == 400 and b"Select a valid choice" in response.content

    def test_each_figure_links_to_the_leads_behind_it(self, desk):
        body = client_for(desk.manager).get(f"/reports/?{RANGE}").content.decode()
        assert f"/reports/leads/?since=2026-11-01&amp;until=2026-11-30&amp;rep={desk.bob.pk}&amp;flag=never" in body
        behind = client_for(desk.manager).get(f"/reports/leads/?{RANGE}&rep={desk.bob.pk}&flag=never")
        assert leads_listed(desk, behind) == {"a5"}
        buckets = client_for(desk.manager).get(f"/reports/leads/?{RANGE}&bucket=gt24h")
        assert leads_listed(desk, buckets) == {"a3", "a4"}

    def test_the_leads_behind_a_funnel_stage_and_a_reason(self, desk):
        manager = client_for(desk.manager)
        assert leads_listed(desk, manager.get(f"/reports/leads/?{RANGE}&source={desk.g2.pk}&flag=rejected")) == {"a3"}
        assert leads_listed(desk, manager.get(f"/reports/leads/?{RANGE}&reason=Too small&flag=disqualified")) == {"a2"}
        assert leads_listed(desk, manager.get(f"/reports/leads/?{RANGE}&campaign=-")) == {"a3", "a4", "a5", "a6"}

    def test_the_filters_are_kept_in_the_url_and_narrow_the_figures(self, desk):
        response = client_for(desk.marketing).get(f"/reports/funnel/?{RANGE}&source={desk.g2.pk}")
        assert response.status_code == 200
        body = response.content.decode()
        assert f"source={desk.g2.pk}" in body and "G2 Reviews" in body
        assert leads_listed(desk, client_for(desk.marketing).get(f"/reports/leads/?{RANGE}&source={desk.g2.pk}")) == {"a3"}

    def test_quick_ranges_end_today_and_keep_the_filters(self, desk):
        from django.utils import timezone

        today = timezone.localdate()
        body = client_for(desk.marketing).get(f"/reports/?{RANGE}&source={desk.g2.pk}").content.decode()
        year = f"?since={today - timedelta(days=364)}&amp;until={today}&amp;source={desk.g2.pk}"
        assert f'<a href="{year}">12 months</a>' in body
        default = client_for(desk.marketing).get("/reports/").content.decode()
        assert f'<a href="?since={today - timedelta(days=29)}&amp;until={today}" aria-current="true">30 days</a>' \
            in default

    def test_a_range_with_no_leads_says_so(self, desk):
        response = client_for(desk.manager).get("/reports/?since=2020-01-01&until=2020-01-31")
        assert response.status_code == 200 and b"No leads in this range." in response.content


class TestBadInput:
    @pytest.mark.parametrize(("query", "message"), [
        ("since=2026-11-30&until=2026-11-01", b"The end comes before the start."),
        ("since=yesterday", b"Enter a valid date."),
        ("since=2016-01-01&until=2026-01-01", b"At most"),
        ("source=999999", b"Select a valid choice"),
    ])
    def test_a_bad_filter_is_a_400_with_the_reason(self, desk, query, message):
        response = client_for(desk.manager).get(f"/reports/?{query}")
        assert response.status_code == 400 and message in response.content

    @pytest.mark.parametrize("query", ["flag=everything", "rep=abc", "hour=noon"])
    def test_a_bad_drill_down_is_a_400_with_the_reason(self, desk, query):
        response = client_for(desk.manager).get(f"/reports/leads/?{RANGE}&{query}")
        assert response.status_code == 400 and b"errorlist" in response.content
        assert leads_listed(desk, response) == set()

    def test_an_unknown_table_is_a_404(self, desk):
        assert client_for(desk.manager).get(f"/reports/?{RANGE}&format=csv&table=nope").status_code == 404

    def test_an_unknown_dimension_falls_back_to_the_default(self, desk):
        response = client_for(desk.manager).get(f"/reports/?{RANGE}&by=shoe_size")
        assert response.status_code == 200 and b"By rep" in response.content


class TestCsv:
    def test_each_table_exports_what_the_page_shows(self, desk):
        response = client_for(desk.manager).get(f"/reports/?{RANGE}&format=csv&table=buckets")
        assert response["Content-Type"].startswith("text/csv")
        assert 'filename="speed-buckets-2026-11-01-2026-11-30.csv"' in response["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0][:4] == ["Responded", "Leads", "Share (%)", "Connected"]
        assert rows[1][:3] == ["Under 5 min", "2", "33.3"] and rows[6][:2] == ["Never touched", "1"]

    def test_durations_are_minutes_in_the_export(self, desk):
        response = client_for(desk.manager).get(f"/reports/?{RANGE}&format=csv&table=summary")
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert rows[0]["p50 (minutes)"] == "10.0"  # 600 s

    @pytest.mark.parametrize("text", ["=HYPERLINK(\"http://evil\")", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"])
    def test_a_cell_a_spreadsheet_would_run_is_neutralised(self, desk, text):
        lead_arrive(desk, "evil", arrived=MON_10 + timedelta(hours=5), owner=desk.ann, campaign=text)
        from sdr_desk.reports.rollups import facts_refresh
        facts_refresh(full=True)
        response = client_for(desk.marketing).get(f"/reports/funnel/?{RANGE}&by=campaign&format=csv&table=by-campaign")
        labels = [row[0] for row in csv.reader(io.StringIO(response.content.decode()))]
        assert "'" + text in labels and text not in labels

    def test_numbers_stay_numbers(self):
        assert csv_safe(-5) == -5 and csv_safe("plain") == "plain" and csv_safe("") == ""
        table = Table("t", "T", [Column("label", "L", "label"), Column("n", "N")], [{"label": "-x", "n": -1}])
        assert table.csv_response("t.csv").content.decode().splitlines()[1] == "'-x,-1"


class TestQueryCounts:
    @pytest.mark.parametrize("page", list(PAGES) + ["/reports/leads/"])
    def test_a_page_costs_the_same_queries_for_7_leads_as_for_37(self, desk, page, django_assert_num_queries):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client = client_for(desk.marketing)
        client.get(f"{page}?{RANGE}")  # warm the session and the facts
        with CaptureQueriesContext(connection) as small:
            assert client.get(f"{page}?{RANGE}").status_code == 200
        for i in range(30):
            lead_arrive(desk, f"more{i}", arrived=MON_10 + timedelta(minutes=i), owner=desk.ann if i % 2 else desk.bob,
                        touch_after=60 * i, business=60 * i, campaign=f"c{i % 4}")
        from sdr_desk.reports.rollups import facts_refresh
        facts_refresh(full=True)
        with django_assert_num_queries(len(small.captured_queries)):
            assert client.get(f"{page}?{RANGE}").status_code == 200


class TestExportsAndCharts:
    def test_exporting_one_table_runs_that_tables_query_alone(self, desk):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client = client_for(desk.marketing)
        client.get(f"/reports/handoff/?{RANGE}")
        with CaptureQueriesContext(connection) as page:
            client.get(f"/reports/handoff/?{RANGE}")
        with CaptureQueriesContext(connection) as export:
            client.get(f"/reports/handoff/?{RANGE}&format=csv&table=bad-fit")
        assert len(page.captured_queries) - len(export.captured_queries) >= 7  # the other seven tables' queries

    def test_a_charts_bars_link_to_their_leads_within_the_filters(self, desk):
        import json
        import re

        body = client_for(desk.manager).get(f"/reports/?{RANGE}").content.decode()
        data = json.loads(re.search(r'<script id="chart-buckets" type="application/json">(.*?)</script>', body).group(1))
        assert data["labels"][0] == "Under 5 min" and data["datasets"][0]["data"] == [2, 1, 0, 0, 2, 1]
        assert data["links"][5] == "/reports/leads/?since=2026-11-01&until=2026-11-30&bucket=never"
