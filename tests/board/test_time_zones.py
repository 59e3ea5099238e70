"""One time-zone rule: every page in the viewer's zone (rep profile, else browser), said on the page;
the lead's own local time beside Call, or nothing when their zone is not known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from inbound.models import Lead
from sdr_desk.board.zones import (
    BROWSER,
    PROFILE,
    SERVER,
    ZONE_COOKIE,
    lead_local_time,
    lead_zone_name,
    viewer_zone_for,
)
from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import Rep
from sdr_desk.routing.ownership import lead_claim
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user, **cookies: str) -> Client:
    client = Client()
    client.force_login(user)
    for name, value in cookies.items():
        client.cookies[name] = value
    return client


class TestTheViewersZone:
    def test_a_rep_reads_times_in_their_profiles_zone_whatever_the_browser_says(self):
        ann = rep_make("ann", team_make(), time_zone="Europe/Berlin")
        zone = viewer_zone_for(ann, "America%2FNew_York")
        assert (zone.key, zone.source) == ("Europe/Berlin", PROFILE)

    def test_someone_who_is_not_a_rep_reads_them_in_their_browsers_zone(self):
        mkt = UserFactory(username="mkt", roles=[Role.MARKETING])
        assert (viewer_zone_for(mkt, "America%2FNew_York").key, viewer_zone_for(mkt, "America%2FNew_York").source) \
            == ("America/New_York", BROWSER)

    @pytest.mark.parametrize("cookie", ["", "Mars/Olympus", "../../etc/passwd", "x" * 300, "%00"])
    def test_without_a_usable_browser_zone_it_is_the_servers(self, cookie):
        mkt = UserFactory(username="mkt", roles=[Role.MARKETING])
        zone = viewer_zone_for(mkt, cookie)
        assert (zone.key, zone.source) == ("UTC", SERVER)

    def test_a_rep_with_a_broken_profile_zone_falls_back_to_the_browser(self):
        ann = rep_make("ann", team_make())
        Rep.objects.filter(user=ann).update(time_zone="Nowhere/Special")
        assert viewer_zone_for(ann, "Asia%2FTokyo").key == "Asia/Tokyo"

    def test_the_page_renders_in_the_zone_and_says_which(self):
        ann = rep_make("ann", team_make(), time_zone="Asia/Tokyo")
        body = signed_in(ann).get("/leads/").content.decode()
        assert 'data-zone="Asia/Tokyo" data-zone-source="profile"' in body
        assert "times in Asia/Tokyo" in body

    def test_the_browser_zone_cookie_sets_the_zone_of_a_viewer_without_a_profile(self):
        mkt = UserFactory(username="mkt", roles=[Role.MARKETING])
        created = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
        LeadFactory(first_name="Ada", created_at=created)
        body = signed_in(mkt, **{ZONE_COOKIE: "America%2FChicago"}).get("/leads/").content.decode()
        assert "times in America/Chicago" in body and 'data-zone-source="browser"' in body
        assert "Jan 15, 06:00" in body  # noon UTC is 06:00 in Chicago in January

    def test_working_out_the_zone_takes_one_query_for_a_rep_and_none_for_a_visitor(self, django_assert_num_queries):
        ann = rep_make("ann", team_make(), time_zone="Asia/Tokyo")
        with django_assert_num_queries(1):
            assert viewer_zone_for(ann).key == "Asia/Tokyo"
        from django.contrib.auth.models import AnonymousUser

        with django_assert_num_queries(0):
            viewer_zone_for(AnonymousUser(), "Europe%2FParis")

    def test_the_api_keeps_utc(self):
        ann = rep_make("ann", team_make(), time_zone="Asia/Tokyo")
        lead = hot_lead()
        body = signed_in(ann).get(f"/api/v1/leads/{lead.pk}/").json()
        assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")

    def test_a_next_step_typed_on_the_page_is_read_in_the_reps_zone(self):
        ann = rep_make("ann", team_make(), time_zone="America/Chicago")
        lead = hot_lead()
        lead_route(lead.pk)
        lead_claim(lead.pk, user=ann)
        local = (timezone.now() + timedelta(days=2)).astimezone(timezone.get_default_timezone())
        typed = local.astimezone(__import__("zoneinfo").ZoneInfo("America/Chicago")).strftime("%Y-%m-%dT%H:%M")
        response = signed_in(ann).post(f"/leads/{lead.pk}/next-step/", {"next_step_at": typed, "next_step": "Call"})
        assert response.status_code == 302
        saved = lead.assignment.__class__.objects.get(lead=lead).next_step_at
        assert saved.astimezone(__import__("zoneinfo").ZoneInfo("America/Chicago")).strftime("%Y-%m-%dT%H:%M") == typed


class TestTheLeadsOwnTime:
    @pytest.mark.parametrize(("time_zone", "country", "state", "phone", "expected"), [
        ("America/Denver", "DE", "", "", "America/Denver"),  # their own zone first
        ("", "DE", "", "", "Europe/Berlin"),  # a country with one zone
        ("", "de", "", "", "Europe/Berlin"),
        ("", "US", "IL", "", "America/Chicago"),  # a split country: the state says
        ("", "US", "California", "", "America/Los_Angeles"),
        ("", "AU", "Western Australia", "", "Australia/Perth"),
        ("", "CA", "QC", "", "America/Toronto"),
        ("", "", "", "+4930901820", "Europe/Berlin"),  # no country: the phone's
        ("Not/AZone", "FR", "", "", "Europe/Paris"),  # a broken zone is no zone
        ("", "US", "", "+13125550100", None),  # a split country without a state: not known
        ("", "US", "Atlantis", "", None),
        ("", "ZZ", "", "", None),
        ("", "", "", "12345", None),
        ("", "", "", "", None),
    ])
    def test_the_zone_comes_from_what_the_lead_told_us(self, time_zone, country, state, phone, expected):
        assert lead_zone_name(time_zone, country, state, phone) == expected

    def test_their_time_is_the_clock_there_now(self):
        lead = Lead(country="JP")
        their = lead_local_time(lead, now=datetime(2026, 3, 1, 5, 5, tzinfo=UTC))
        assert (their.zone, their.now) == ("Asia/Tokyo", "14:05")
        assert lead_local_time(Lead(country="US")) is None

    def test_the_owners_card_and_the_lead_page_show_it_beside_call(self):
        ann = rep_make("ann", team_make(), time_zone="UTC")
        lead = hot_lead(country="DE", phone="+4930901820")
        lead_route(lead.pk)
        lead_claim(lead.pk, user=ann)
        client = signed_in(ann)
        board = client.get("/board/").content.decode()
        assert "their time <b data-lead-clock>" in board and "(Europe/Berlin)" in board
        page = client.get(f"/leads/{lead.pk}/").content.decode()
        actions = page[page.index('class="touch-actions"'):page.index("</div>", page.index('class="touch-actions"'))]
        assert 'data-lead-zone="Europe/Berlin"' in actions

    def test_an_unknown_zone_shows_nothing(self):
        ann = rep_make("ann", team_make())
        lead = hot_lead(country="US", phone="+13125550100")
        lead_route(lead.pk)
        lead_claim(lead.pk, user=ann)
        client = signed_in(ann)
        assert "their time" not in client.get("/board/").content.decode()
        assert "their time" not in client.get(f"/leads/{lead.pk}/").content.decode()
