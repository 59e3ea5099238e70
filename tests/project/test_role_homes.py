"""Each role's home, the nav it sees, the board for who has none, and every 403/404/500 inside the layout."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory

from sdr_desk.board.views import NO_BOARD, NO_ROLE
from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import Rep, RepRole
from sdr_desk.views import CSRF_REASON, permission_denied
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LAYOUT = 'class="topbar"'


def signed_in(user, *, strict: bool = False) -> Client:
    client = Client(enforce_csrf_checks=strict)
    client.force_login(user)
    return client


def nav_of(body: str) -> str:
    return body[body.index("<nav>"):body.index("</nav>")]


@pytest.fixture
def ae(db):
    return UserFactory(username="ae", roles=[Role.AE])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def offered_lead(db):
    """A hot lead offered to a claim-mode team with one rep, ann."""
    team = team_make("Inbound", visibility="claim")
    ann = rep_make("ann", team)
    lead = hot_lead()
    lead_route(lead.pk)
    return {"lead": lead, "ann": ann, "team": team}


class TestHomePerRole:
    @pytest.mark.parametrize(("role", "home"), [
        (Role.SDR, "/board/"), (Role.MANAGER, "/board/"), (Role.AE, "/handoffs/"), (Role.MARKETING, "/reports/handoff/"),
        (Role.ADMIN, "/leads/"),
    ])
    def test_each_role_lands_on_its_home(self, role, home):
        response = signed_in(UserFactory(username=f"u-{role}", roles=[role])).get("/")
        assert response.status_code == 302 and response["Location"] == home

    def test_a_superuser_who_is_not_on_the_desk_lands_on_the_leads(self, admin_user):
        assert signed_in(admin_user).get("/")["Location"] == "/leads/"

    def test_a_superuser_who_is_a_rep_lands_on_the_board(self, admin_user):
        Rep.objects.create(user=admin_user, team=team_make(), role=RepRole.SDR)
        assert signed_in(admin_user).get("/")["Location"] == "/board/"

    def test_a_superuser_who_manages_a_team_lands_on_the_board(self, admin_user):
        team_make(manager=admin_user)
        assert signed_in(admin_user).get("/")["Location"] == "/board/"

    def test_an_ae_with_a_desk_record_is_not_taken_for_a_rep(self, ae):
        Rep.objects.create(user=ae, role=RepRole.AE)  # as seed_demo gives ae1
        assert signed_in(ae).get("/")["Location"] == "/handoffs/"  # the handoff inbox, not the board

    def test_someone_who_is_an_ae_and_an_sdr_starts_on_the_inbox_the_higher_priority_home(self):
        both = UserFactory(username="both", roles=[Role.AE, Role.SDR])
        assert signed_in(both).get("/")["Location"] == "/handoffs/"  # handoff's AE home (20) beats the board

    def test_a_user_without_a_role_is_told_so_inside_the_layout_without_a_loop_home(self, outsider):
        response = signed_in(outsider).get("/")
        body = response.content.decode()
        assert response.status_code == 403
        assert LAYOUT in body and "no role on the desk yet" in body
        assert 'href="/">Go to your home page' not in body

    def test_an_anonymous_visitor_is_sent_to_sign_in(self, client):
        response = client.get("/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_an_app_takes_a_roles_home_over_by_declaring_a_higher_priority(self, ae, monkeypatch):
        # As the AE handoff inbox will: any page name, declared on the app's config.
        monkeypatch.setattr(apps.get_app_config("dispositions"), "role_homes",
                            {Role.AE: ("disposition-review", 20)}, raising=False)
        assert signed_in(ae).get("/")["Location"] == "/dispositions/"
        # Another role's home stays where its own app put it.
        assert signed_in(UserFactory(username="m", roles=[Role.MARKETING])).get("/")["Location"] == "/reports/handoff/"

    def test_a_lower_priority_does_not(self, ae, monkeypatch):
        monkeypatch.setattr(apps.get_app_config("dispositions"), "role_homes",
                            {Role.SDR: ("disposition-review", 1)}, raising=False)
        assert signed_in(UserFactory(username="s", roles=[Role.SDR])).get("/")["Location"] == "/board/"


class TestBoardForWhoHasNone:
    @pytest.mark.parametrize("role", [Role.AE, Role.MARKETING])
    def test_an_ae_or_marketer_is_told_why_there_is_no_board_and_where_home_is(self, role):
        response = signed_in(UserFactory(username=f"x-{role}", roles=[role])).get("/board/")
        body = response.content.decode()
        assert response.status_code == 403
        assert LAYOUT in body
        assert "The board is where SDRs and managers work" in body
        assert 'href="/">Go to your home page' in body
        assert "data-claim" not in body and ">Claim<" not in body

    def test_a_superuser_on_no_team_has_no_board_either(self, admin_user):
        assert signed_in(admin_user).get("/board/").status_code == 403

    def test_reps_and_managers_keep_their_board(self, offered_lead):
        assert signed_in(offered_lead["ann"]).get("/board/").status_code == 200
        boss = UserFactory(username="boss", roles=[Role.MANAGER])
        assert signed_in(boss).get("/board/").status_code == 200
        assert signed_in(UserFactory(username="lone", roles=[Role.SDR])).get("/board/").status_code == 200

    def test_the_message_is_the_one_the_view_gives(self):
        assert "neither a rep nor a team's manager" in NO_BOARD and "Ask an admin" in NO_ROLE


class TestNav:
    def test_an_sdr_sees_the_board_and_the_leads_only(self, offered_lead):
        nav = nav_of(signed_in(offered_lead["ann"]).get("/leads/").content.decode())
        assert ">Board<" in nav and ">Leads<" in nav
        for hidden in (">Imports<", ">Forms<", ">Scoring<", ">Routing<", ">Teams<", ">Dispositions<", ">Admin<"):
            assert hidden not in nav

    def test_an_ae_sees_no_board(self, ae):
        nav = nav_of(signed_in(ae).get("/leads/").content.decode())
        assert ">Board<" not in nav and ">Leads<" in nav and ">Forms<" not in nav

    def test_marketing_sees_the_leads_and_the_forms(self, marketing):
        nav = nav_of(signed_in(marketing).get("/leads/").content.decode())
        assert ">Leads<" in nav and ">Forms<" in nav and ">Board<" not in nav and ">Imports<" not in nav

    def test_a_manager_sees_their_pages(self, manager):
        nav = nav_of(signed_in(manager).get("/board/").content.decode())
        for shown in (">Board<", ">Leads<", ">Imports<", ">Forms<", ">Scoring<", ">Routing<", ">Teams<",
                      ">Dispositions<"):
            assert shown in nav

    def test_a_user_without_a_role_sees_no_page_links(self, outsider):
        nav = nav_of(signed_in(outsider).get("/").content.decode())
        assert ">Leads<" not in nav and ">Board<" not in nav

    def test_every_link_in_a_roles_nav_opens(self, ae, marketing, manager, offered_lead):
        for user in (ae, marketing, manager, offered_lead["ann"]):
            client = signed_in(user)
            nav = nav_of(client.get("/leads/").content.decode())
            for href in [part.split('"')[0] for part in nav.split('href="')[1:]]:
                assert client.get(href).status_code == 200, (user.username, href)


class TestClaimOnTheLeadPage:
    def test_the_rep_it_is_offered_to_sees_claim(self, offered_lead):
        body = signed_in(offered_lead["ann"]).get(f"/leads/{offered_lead['lead'].pk}/").content.decode()
        assert ">Claim</button>" in body

    @pytest.mark.parametrize("role", [Role.AE, Role.MARKETING])
    def test_an_ae_or_marketer_sees_no_claim(self, offered_lead, role):
        user = UserFactory(username=f"y-{role}", roles=[role])
        body = signed_in(user).get(f"/leads/{offered_lead['lead'].pk}/").content.decode()
        assert ">Claim</button>" not in body

    def test_a_rep_of_another_team_sees_no_claim(self, offered_lead):
        olga = rep_make("olga", team_make("Elsewhere", is_default=False))
        body = signed_in(olga).get(f"/leads/{offered_lead['lead'].pk}/").content.decode()
        assert ">Claim</button>" not in body


class TestForbiddenActionsRenderTheStyledPage:
    def test_an_ae_claiming_gets_the_reason_inside_the_layout(self, offered_lead, ae):
        response = signed_in(ae).post(f"/leads/{offered_lead['lead'].pk}/claim/")
        body = response.content.decode()
        assert response.status_code == 403 and LAYOUT in body
        assert "You may not claim this lead: it is not offered to your team." in body

    def test_an_htmx_claim_keeps_a_short_text_answer(self, offered_lead, ae):
        response = signed_in(ae).post(f"/leads/{offered_lead['lead'].pk}/claim/", HTTP_HX_REQUEST="true")
        assert response.status_code == 403 and response["Content-Type"].startswith("text/plain")
        assert response.content.decode() == "You may not claim this lead: it is not offered to your team."

    def test_a_touch_or_next_step_by_someone_else_is_refused_inside_the_layout(self, offered_lead):
        lead = offered_lead["lead"]
        bob = rep_make("bob", offered_lead["team"])
        client = signed_in(bob)
        for url, data in ((f"/leads/{lead.pk}/touches/", {"channel": "call", "outcome": "no_answer"}),
                          (f"/leads/{lead.pk}/next-step/", {"clear": "1"})):
            response = client.post(url, data)
            assert response.status_code == 403, url
            assert LAYOUT in response.content.decode(), url

    def test_a_page_guarded_by_a_permission_is_refused_inside_the_layout(self, ae):
        response = signed_in(ae).get("/imports/")
        assert response.status_code == 403 and LAYOUT in response.content.decode()
        assert "You may not open this page." in response.content.decode()

    def test_the_reason_is_escaped(self, ae):
        request = RequestFactory().get("/somewhere/")
        request.user = ae
        response = permission_denied(request, PermissionDenied("<script>alert(1)</script>"))
        body = response.content.decode()
        assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body

    def test_a_missing_csrf_token_is_explained_inside_the_layout(self, offered_lead):
        response = signed_in(offered_lead["ann"], strict=True).post(f"/leads/{offered_lead['lead'].pk}/claim/")
        assert response.status_code == 403
        body = response.content.decode()
        assert LAYOUT in body and "security token was missing or out of date" in body
        assert CSRF_REASON.startswith("This form's")

    def test_the_api_keeps_answering_json(self, offered_lead, ae):
        response = signed_in(ae).get("/api/v1/nothing-here/")
        assert response.status_code == 404 and response.json()["error"] == "not_found"


class TestNotFound:
    def test_an_unknown_address_is_404_inside_the_layout(self, ae):
        response = signed_in(ae).get("/no-such-page/")
        body = response.content.decode()
        assert response.status_code == 404 and LAYOUT in body and "There is no page at this address." in body
        assert "Resolver404" not in body

    def test_a_missing_lead_says_so(self, ae):
        response = signed_in(ae).get("/leads/999999/")
        assert response.status_code == 404
        assert "No Lead matches the given query." in response.content.decode()

    def test_an_anonymous_visitor_gets_the_page_with_a_sign_in_link(self, client):
        response = client.get("/no-such-page/")
        assert response.status_code == 404 and 'href="/accounts/login/"' in response.content.decode()


@pytest.mark.urls("tests.project.urls_failing")
def test_a_server_error_renders_the_static_safe_500_page(ae):
    client = Client(raise_request_exception=False)
    client.force_login(ae)
    response = client.get("/boom/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body and 'href="/static/css/desk.css"' in body


def test_the_favicon_is_linked_and_served_at_favicon_ico(client, ae):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/favicon.svg"
    body = signed_in(ae).get("/leads/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in body
