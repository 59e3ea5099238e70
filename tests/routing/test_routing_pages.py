"""The manager's desk pages: routing rules and their tester, the team list, one team's queue, settings and reps."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inbound.models import Account, Lead, TimelineEntry
from scoring.models import LeadScore
from sdr_desk.roles import Role
from sdr_desk.routing.models import (
    AccountOwner,
    LeadAssignment,
    LeadState,
    Rep,
    RoutingRule,
    Team,
    TeamHoliday,
)
from tests.desk_fixtures import rep_make, team_make
from tests.factories import LeadFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

ROUTING = "/routing/"
TEAMS = "/teams/"


class _PageForm(HTMLParser):
    """What a browser without JavaScript posts from one form of a page: every field as rendered."""

    def __init__(self, form_class: str) -> None:
        super().__init__()
        self.form_class = form_class
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.form_class in a.get("class", "").split():
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self._add(a["name"], a.get("value") or "on")
            else:
                self._add(a["name"], a.get("value", ""))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            chosen = [v for v, selected in self._options if selected] or [self._options[0][0]]
            self._add(self._select, chosen[0])
            self._select = None
        elif tag == "textarea" and self._textarea:
            # A browser drops the one newline that may follow <textarea>.
            self._add(self._textarea, self._text.removeprefix("\n"))
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def page_form(client: Any, url: str, form_class: str) -> dict[str, list[str]]:
    response = client.get(url)
    assert response.status_code == 200
    parser = _PageForm(form_class)
    parser.feed(response.content.decode())
    assert parser.data, f"no form .{form_class} on {url}"
    return parser.data


def put(data: dict[str, list[str]], prefix: str, **fields: Any) -> dict[str, list[str]]:
    for name, value in fields.items():
        key = f"{prefix}-{name}"
        if value is None or value is False:
            data.pop(key, None)
        elif value is True:
            data[key] = ["on"]
        elif isinstance(value, list):
            data[key] = [str(v) for v in value]
        else:
            data[key] = [str(value)]
    return data


def rule_prefix(data: dict[str, list[str]], name: str) -> str:
    for key, values in data.items():
        if key.startswith("rules-") and key.endswith("-name") and values == [name]:
            return key[: -len("-name")]
    raise KeyError(name)


def new_rule(data: dict[str, list[str]]) -> str:
    """The prefix of the blank row (the last one)."""
    return f"rules-{int(data['rules-TOTAL_FORMS'][0]) - 1}"


def rep_prefix(data: dict[str, list[str]], rep: Rep) -> str:
    for key, values in data.items():
        if key.startswith("reps-") and key.endswith("-id") and values == [str(rep.pk)]:
            return key[: -len("-id")]
    raise KeyError(rep)


def section(body: str, start_marker: str, end_marker: str = "</fieldset>") -> str:
    """The page's HTML from a marker to the end of its block: where its errors must be shown."""
    start = body.index(start_marker)
    return body[start: body.index(end_marker, start)]


def stored_rules() -> list[tuple[Any, ...]]:
    return [(r.name, r.position, r.is_active, r.countries, r.employee_min, r.employee_max, r.target_team_id,
             r.target_rep_id, sorted(r.sources.values_list("pk", flat=True)))
            for r in RoutingRule.objects.order_by("position", "id")]


def desk_state() -> dict[str, Any]:
    """Everything routing writes when it acts, which the tester must leave alone."""
    return {
        "counts": {model.__name__: model.objects.count() for model in
                   (Lead, LeadScore, Account, AccountOwner, LeadAssignment, TimelineEntry, RoutingRule, Rep)},
        "routed": list(Rep.objects.order_by("pk").values_list("pk", "routed_count", "last_routed_at")),
        "total_routed": Rep.objects.aggregate(n=Sum("routed_count"))["n"],
    }


def queue_lead(team: Team, state: str = LeadState.QUEUED, *, created_at: datetime | None = None, **fields: Any) -> Lead:
    lead = LeadFactory(created_at=created_at or timezone.now(), **fields)
    now = timezone.now()
    LeadAssignment.objects.create(lead=lead, team=team, state=state, tier="hand_raiser", is_hot=True, routed_at=now,
                                  sla_started_at=now, sla_due_at=now + timedelta(minutes=5))
    return lead


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


# --- personas and the desk ----------------------------------------------------------------


@pytest.fixture
def other_manager(db):
    return UserFactory(username="other-boss", roles=[Role.MANAGER])


@pytest.fixture
def team(manager) -> Team:
    return team_make("Americas", visibility="owned", is_default=True, manager=manager)


@pytest.fixture
def emea(other_manager) -> Team:
    return team_make("EMEA", visibility="claim", is_default=False, manager=other_manager)


@pytest.fixture
def boss(as_user, manager, team):
    """The manager of the Americas team, signed in."""
    return as_user(manager)


def team_url(team: Team) -> str:
    return f"/teams/{team.pk}/"


# --- who may use the pages -----------------------------------------------------------------


class TestAccess:
    def test_a_manager_sees_the_pages_and_the_nav_links(self, boss, team):
        for url in (ROUTING, TEAMS, team_url(team)):
            assert boss.get(url).status_code == 200
        body = boss.get("/leads/").content.decode()
        assert f'href="{ROUTING}"' in body and f'href="{TEAMS}"' in body

    @pytest.mark.parametrize("persona", ["sdr", "marketing", "outsider"])
    def test_only_managers_may_use_them(self, as_user, request, persona, team):
        client = as_user(request.getfixturevalue(persona))
        for url in (ROUTING, TEAMS, team_url(team)):
            assert client.get(url).status_code == 403
        assert client.post(ROUTING, {"action": "test"}).status_code == 403
        assert client.post(team_url(team), {"action": "settings"}).status_code == 403
        body = client.get("/leads/").content.decode()
        assert f'href="{ROUTING}"' not in body and f'href="{TEAMS}"' not in body

    def test_saving_rules_needs_the_rights_to_add_and_delete_them_too(self, as_user, rules):
        tester = UserFactory(username="tester")
        tester.user_permissions.add(Permission.objects.get(codename="change_routingrule"))
        client = as_user(tester)
        data = page_form(client, ROUTING, "routing-form")
        before = stored_rules()
        assert client.post(ROUTING, sample(country="US")).status_code == 200
        assert client.post(ROUTING, {**data, "action": "save"}).status_code == 403
        assert stored_rules() == before

    @pytest.mark.parametrize("url", [ROUTING, TEAMS, "/teams/1/"])
    def test_anonymous_visitors_are_sent_to_sign_in(self, client, url):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_a_manager_may_not_open_or_change_another_managers_team(self, boss, team, emea):
        data = page_form(boss, team_url(team), "team-form")  # a valid post, aimed at the other team
        before = Team.objects.filter(pk=emea.pk).values().get()
        assert boss.get(team_url(emea)).status_code == 403
        assert boss.post(team_url(emea), {**data, "action": "settings"}).status_code == 403
        assert Team.objects.filter(pk=emea.pk).values().get() == before

    def test_the_team_list_links_only_the_teams_a_manager_runs(self, boss, team, emea):
        body = boss.get(TEAMS).content.decode()
        assert f'href="{team_url(team)}"' in body and f'href="{team_url(emea)}"' not in body

    def test_a_superuser_may_open_any_team(self, as_user, emea):
        admin = UserFactory(username="root", is_superuser=True, is_staff=True)
        assert as_user(admin).get(team_url(emea)).status_code == 200

    def test_an_unknown_team_is_not_found(self, boss):
        assert boss.get("/teams/999999/").status_code == 404


# --- routing rules -------------------------------------------------------------------------


@pytest.fixture
def rules(team, emea) -> dict[str, RoutingRule]:
    return {
        "us": RoutingRule.objects.create(name="United States", position=10, countries=["US"], target_team=team),
        "germany": RoutingRule.objects.create(name="Germany", position=20, countries=["DE"], target_team=emea),
        "emea": RoutingRule.objects.create(name="Rest of EMEA", position=30, countries=["EMEA"], target_team=emea),
    }


class TestRules:
    def test_rules_are_shown_in_order(self, boss, rules):
        body = boss.get(ROUTING).content.decode()
        assert body.index("United States") < body.index("Germany") < body.index("Rest of EMEA")

    def test_rules_are_reordered_changed_added_and_deleted_in_one_save(self, boss, rules, team, emea):
        web = SourceFactory(name="Website")
        eve = rep_make("eve", emea)
        data = page_form(boss, ROUTING, "routing-form")
        put(data, rule_prefix(data, "Rest of EMEA"), position=5, countries="dach, uki", employee_min=50,
            employee_max=5000, form_types=["demo_request", "pricing"], tiers=["hand_raiser"], grades=["A", "B"],
            sources=[web.pk])
        put(data, rule_prefix(data, "Germany"), DELETE=True)
        put(data, new_rule(data), name="Named rep for partners", position=40, target_rep=eve.pk, industries="Software")
        response = boss.post(ROUTING, {**data, "action": "save"})
        assert response.status_code == 303 and response["Location"] == ROUTING

        saved = list(RoutingRule.objects.order_by("position", "id"))
        assert [r.name for r in saved] == ["Rest of EMEA", "United States", "Named rep for partners"]
        emea_rule, _, partners = saved
        assert emea_rule.countries == ["DACH", "UKI"]  # stored as routing compares them
        assert (emea_rule.employee_min, emea_rule.employee_max) == (50, 5000)
        assert emea_rule.form_types == ["demo_request", "pricing"] and emea_rule.tiers == ["hand_raiser"]
        assert emea_rule.grades == ["A", "B"] and list(emea_rule.sources.all()) == [web]
        assert partners.target_rep == eve and partners.target_team is None and partners.industries == ["Software"]
        assert "Routing rules saved" in boss.get(ROUTING).content.decode()

    def test_saving_the_page_unchanged_changes_nothing(self, boss, rules):
        before = stored_rules()
        assert boss.post(ROUTING, {**page_form(boss, ROUTING, "routing-form"), "action": "save"}).status_code == 303
        assert stored_rules() == before

    @pytest.mark.parametrize(("change", "message"), [
        ({"target_rep": "REP"}, "exactly one"),
        ({"target_team": ""}, "exactly one"),
        ({"employee_min": 500, "employee_max": 50}, "below the minimum"),
        ({"countries": "DE, Atlantis"}, "Not ISO country codes or regions: ATLANTIS"),
    ], ids=["both targets", "no target", "min above max", "unknown region"])
    def test_an_invalid_rule_is_refused_beside_its_field_and_nothing_is_saved(self, boss, rules, emea, change,
                                                                               message):
        eve = rep_make("eve", emea)
        data = page_form(boss, ROUTING, "routing-form")
        # Another, valid change in the same post must not be saved either.
        put(data, rule_prefix(data, "United States"), position=99)
        prefix = rule_prefix(data, "Germany")
        put(data, prefix, **{k: eve.pk if v == "REP" else v for k, v in change.items()})
        before = stored_rules()
        response = boss.post(ROUTING, {**data, "action": "save"})
        assert response.status_code == 400
        body = response.content.decode()
        assert "Nothing was saved" in body
        assert message in section(body, f'name="{prefix}-position"')
        assert message not in section(body, f'name="{rule_prefix(data, "United States")}-position"')
        assert stored_rules() == before

    def test_a_new_rule_without_a_name_is_refused(self, boss, rules, team):
        data = page_form(boss, ROUTING, "routing-form")
        put(data, new_rule(data), target_team=team.pk)
        before = stored_rules()
        response = boss.post(ROUTING, {**data, "action": "save"})
        assert response.status_code == 400 and "This field is required" in response.content.decode()
        assert stored_rules() == before

    def test_an_unknown_action_is_refused(self, boss, rules):
        before = stored_rules()
        response = boss.post(ROUTING, {**page_form(boss, ROUTING, "routing-form"), "action": "delete-everything"})
        assert response.status_code == 400 and stored_rules() == before

    def test_the_page_takes_a_fixed_number_of_queries_whatever_the_rules(self, boss, rules, team, emea):
        SourceFactory(name="Website")
        rep_make("eve", emea)
        boss.get(ROUTING)  # warm the session and permission caches
        with CaptureQueriesContext(connection) as few:
            assert boss.get(ROUTING).status_code == 200
        for n in range(8):
            rule = RoutingRule.objects.create(name=f"Extra {n}", position=100 + n, target_team=team)
            rule.sources.set([SourceFactory(name=f"Partner {n}")])
        with CaptureQueriesContext(connection) as many:
            assert boss.get(ROUTING).status_code == 200
        assert len(many) == len(few)


# --- the tester ----------------------------------------------------------------------------


def sample(**fields: Any) -> dict[str, Any]:
    data = {"action": "test", "sample-tier": "hand_raiser", "sample-is_hot": "on"}
    data.update({f"sample-{name}": value for name, value in fields.items()})
    return data


class TestTester:
    def test_it_shows_the_rules_tried_the_team_and_who_is_eligible_and_why_and_writes_nothing(
            self, boss, rules, emea):
        rep_make("eve", emea)
        rep_make("frank", emea, status="away")
        rep_make("gina", emea, capacity=0)
        rep_make("hal", emea, working_hours={"mon": [["09:00", "17:00"]]})
        before = desk_state()
        with CaptureQueriesContext(connection) as queries:
            # A Tuesday morning: hal works Mondays only.
            response = boss.post(ROUTING, sample(country="de", employee_count=250, at="2026-03-10T10:00"))
        assert response.status_code == 200
        tested = response.context["tested"]
        assert [(r["rule"], r["matched"]) for r in tested.trace["rules"]] == [("United States", False),
                                                                             ("Germany", True)]
        assert tested.not_tried == ["Rest of EMEA"]
        assert tested.decision.team == emea and tested.decision.state == LeadState.OFFERED  # claim mode, hot
        assert tested.trace["eligible"] == ["eve"]
        assert {(r["rep"], r["why"]) for r in tested.trace["not_eligible"]} == {
            ("frank", "away"), ("gina", "at capacity (0/0)"), ("hal", "outside working hours")}

        body = response.content.decode()
        for shown in ("country DE not in US", "Germany", "Rest of EMEA", "the first match wins", "eve",
                      "outside working hours", "at capacity (0/0)", "claim mode: offered to every eligible rep"):
            assert shown in body
        assert desk_state() == before
        assert writes(queries) == []

    def test_an_owned_team_names_the_rep_round_robin_would_pick_without_counting_it(self, boss, rules, team):
        rep_make("ann", team, weight=1)
        rep_make("bob", team, weight=3)
        before = desk_state()
        response = boss.post(ROUTING, sample(country="US"))
        tested = response.context["tested"]
        assert tested.decision.team == team and tested.decision.rep.username == "bob"
        assert "round robin: bob" in response.content.decode()
        assert desk_state() == before

    def test_it_checks_the_account_owner_of_the_email_domain(self, boss, rules, team):
        owner = rep_make("olga", team)
        account = Account.objects.create(domain="acme.example", name="Acme", country="DE")
        AccountOwner.objects.create(account=account, owner=owner)
        before = desk_state()
        response = boss.post(ROUTING, sample(email_domain="Jane@ACME.example"))
        tested = response.context["tested"]
        assert tested.decision.rep == owner and tested.decision.state == LeadState.ASSIGNED
        assert tested.account == account and "DE" in tested.facts  # the account's country, as live routing reads it
        assert "olga owns the account" in response.content.decode()
        assert desk_state() == before

    def test_an_unknown_domain_says_there_is_no_account(self, boss, rules):
        response = boss.post(ROUTING, sample(email_domain="nowhere.example", country="US"))
        assert "no account for nowhere.example" in response.content.decode()

    def test_a_lead_no_rule_matches_waits_in_the_default_teams_queue_when_nobody_is_eligible(self, boss, rules,
                                                                                          team):
        rep_make("ann", team, status="offline")
        response = boss.post(ROUTING, sample(country="JP"))
        tested = response.context["tested"]
        assert [r["matched"] for r in tested.trace["rules"]] == [False, False, False]
        assert tested.trace["default_team"] == "Americas"
        assert tested.decision.team == team and tested.decision.rep is None
        assert tested.decision.state == LeadState.QUEUED
        body = response.content.decode()
        assert "nobody eligible: the team queue" in body and "the default team, Americas" in body

    def test_a_bad_sample_is_refused_beside_its_field(self, boss, rules):
        response = boss.post(ROUTING, sample(country="Germany", employee_count="many"))
        assert response.status_code == 400
        body = response.content.decode()
        assert "two-letter ISO country code" in body and "Enter a whole number" in body
        assert response.context["tested"] is None


# --- one team: settings --------------------------------------------------------------------


def team_form(client: Any, team: Team) -> dict[str, list[str]]:
    return page_form(client, team_url(team), "team-form")


class TestTeamSettings:
    def test_settings_are_saved_hours_parsed_holidays_added_and_slas_stored_in_seconds(self, boss, team, emea):
        backup = rep_make("bea", team)
        data = team_form(boss, team)
        put(data, "team", visibility="claim", time_zone="America/New_York", hours_mon="9:00-12:00, 13:00 - 17:30",
            hours_tue="08:00–16:00", hours_wed="", hours_sat="10:00-14:00", sla_hand_raiser_minutes=10,
            sla_researcher_minutes="", sla_light_minutes=2880, warn_percent=75, backup_rep=backup.pk,
            escalation_path="manager", holidays="2026-12-25 Christmas Day\n\n2026-07-04\n",
            after_hours="follow_the_sun", follow_the_sun_team=emea.pk)
        response = boss.post(team_url(team), {**data, "action": "settings"})
        assert response.status_code == 303 and response["Location"] == team_url(team)

        team.refresh_from_db()
        assert team.visibility == "claim" and team.time_zone == "America/New_York"
        assert team.business_hours == {"mon": [["09:00", "12:00"], ["13:00", "17:30"]], "tue": [["08:00", "16:00"]],
                                       "thu": [["00:00", "24:00"]], "fri": [["00:00", "24:00"]],
                                       "sat": [["10:00", "14:00"]], "sun": [["00:00", "24:00"]]}
        assert team.sla_hand_raiser_seconds == 600 and team.sla_researcher_seconds is None
        assert team.sla_light_seconds == 2880 * 60 and team.warn_fraction == 0.75
        assert team.backup_rep == backup and team.escalation_path == "manager"
        assert team.follow_the_sun_team == emea
        assert list(team.holidays.values_list("date", "name")) == [(date(2026, 7, 4), ""),
                                                                   (date(2026, 12, 25), "Christmas Day")]
        body = boss.get(team_url(team)).content.decode()
        assert "settings saved" in body and "2026-12-25 Christmas Day" in body
        assert 'value="09:00-12:00, 13:00-17:30"' in body

    def test_an_unchanged_page_saves_the_same_settings(self, boss, team):
        TeamHoliday.objects.create(team=team, date=date(2026, 1, 1), name="New Year")
        before = Team.objects.filter(pk=team.pk).values().get()
        assert boss.post(team_url(team), {**team_form(boss, team), "action": "settings"}).status_code == 303
        assert Team.objects.filter(pk=team.pk).values().get() == before
        assert list(team.holidays.values_list("date", "name")) == [(date(2026, 1, 1), "New Year")]

    def test_removing_a_holiday_line_removes_the_holiday(self, boss, team):
        TeamHoliday.objects.create(team=team, date=date(2026, 1, 1), name="New Year")
        TeamHoliday.objects.create(team=team, date=date(2026, 5, 1), name="May Day")
        data = put(team_form(boss, team), "team", holidays="2026-05-01 Labour Day")
        assert boss.post(team_url(team), {**data, "action": "settings"}).status_code == 303
        assert list(team.holidays.values_list("date", "name")) == [(date(2026, 5, 1), "Labour Day")]

    @pytest.mark.parametrize(("field", "value", "message"), [
        ("hours_mon", "25:00-26:00", "&#x27;25:00&#x27; is not a time of day"),
        ("hours_mon", "nine to five", "is not an interval"),
        ("hours_tue", "17:00-09:00", "must start before it ends"),
        ("hours_wed", "09:00-13:00, 12:00-17:00", "overlaps"),
        ("time_zone", "Mars/Olympus", "Unknown time zone"),
        ("holidays", "2026-02-30 Leap", "Line 1: “2026-02-30” is not a date"),
        ("warn_percent", "150", "less than or equal to 99"),
        ("sla_hand_raiser_minutes", "0", "greater than or equal to 1"),
    ])
    def test_bad_settings_are_refused_beside_the_field_and_nothing_is_saved(self, boss, team, field, value, message):
        data = put(team_form(boss, team), "team", **{field: value, "sla_light_minutes": 60})
        before = Team.objects.filter(pk=team.pk).values().get()
        response = boss.post(team_url(team), {**data, "action": "settings"})
        assert response.status_code == 400
        body = response.content.decode()
        assert "Nothing was saved" in body
        assert message in section(body, f'name="team-{field}"', "</label>") or \
            message in section(body, f'name="team-{field}"', "</div>")
        assert Team.objects.filter(pk=team.pk).values().get() == before
        assert not team.holidays.exists()

    def test_a_week_with_no_hours_is_refused(self, boss, team):
        data = put(team_form(boss, team), "team", **{f"hours_{d}": "" for d in
                                                     ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
        response = boss.post(team_url(team), {**data, "action": "settings"})
        assert response.status_code == 400 and "never opens" in response.content.decode()

    def test_following_the_sun_needs_a_team(self, boss, team):
        data = put(team_form(boss, team), "team", after_hours="follow_the_sun", follow_the_sun_team="")
        response = boss.post(team_url(team), {**data, "action": "settings"})
        assert response.status_code == 400
        assert "Choose the team that takes leads after hours" in response.content.decode()

    def test_an_unknown_action_is_refused(self, boss, team):
        before = Team.objects.filter(pk=team.pk).values().get()
        response = boss.post(team_url(team), {**team_form(boss, team), "action": "explode"})
        assert response.status_code == 400
        assert Team.objects.filter(pk=team.pk).values().get() == before


# --- one team: reps ------------------------------------------------------------------------


class TestReps:
    def test_the_reps_formset_saves_status_capacity_weight_and_hours(self, boss, team):
        ann = rep_make("ann", team).rep
        data = page_form(boss, team_url(team), "reps-form")
        prefix = rep_prefix(data, ann)
        put(data, prefix, status="away", capacity=9, weight=2, time_zone="Europe/Berlin", hours_sun="",
            hours_sat="", hours_mon="07:30-15:30")
        response = boss.post(team_url(team), {**data, "action": "reps"})
        assert response.status_code == 303
        ann.refresh_from_db()
        assert (ann.status, ann.capacity, ann.weight, ann.time_zone) == ("away", 9, 2, "Europe/Berlin")
        assert ann.working_hours["mon"] == [["07:30", "15:30"]] and "sat" not in ann.working_hours

    def test_saving_reps_keeps_the_round_robin_counter_routing_changed_meanwhile(self, boss, team):
        ann = rep_make("ann", team).rep
        data = page_form(boss, team_url(team), "reps-form")
        Rep.objects.filter(pk=ann.pk).update(routed_count=41, escalation_streak=2)  # routing and the sweep, meanwhile
        put(data, rep_prefix(data, ann), capacity=3)
        assert boss.post(team_url(team), {**data, "action": "reps"}).status_code == 303
        ann.refresh_from_db()
        assert (ann.capacity, ann.routed_count, ann.escalation_streak) == (3, 41, 2)

    def test_bad_rep_values_are_refused_and_nothing_is_saved(self, boss, team):
        ann = rep_make("ann", team).rep
        bob = rep_make("bob", team).rep
        data = page_form(boss, team_url(team), "reps-form")
        put(data, rep_prefix(data, bob), capacity=1)
        put(data, rep_prefix(data, ann), weight=0, hours_tue="25:00-26:00")
        response = boss.post(team_url(team), {**data, "action": "reps"})
        assert response.status_code == 400
        body = response.content.decode()
        assert "A weight of 0 would never receive a lead" in body and "is not a time of day" in body
        assert Rep.objects.get(pk=bob.pk).capacity == 5 and Rep.objects.get(pk=ann.pk).weight == 1

    def test_a_rep_of_another_team_cannot_be_changed_through_this_page(self, boss, team, emea):
        ann = rep_make("ann", team).rep
        eve = rep_make("eve", emea).rep
        data = page_form(boss, team_url(team), "reps-form")
        prefix = rep_prefix(data, ann)
        put(data, prefix, id=eve.pk, status="offline")
        response = boss.post(team_url(team), {**data, "action": "reps"})
        assert response.status_code == 400 and "has left the team meanwhile" in response.content.decode()
        assert Rep.objects.get(pk=eve.pk).status == "available" and Rep.objects.get(pk=ann.pk).status == "available"


# --- the team queue and the team list -------------------------------------------------------


class TestQueue:
    def test_the_queue_lists_queued_and_escalated_leads_of_this_team_only_newest_first(self, boss, team, emea):
        now = timezone.now()
        older = queue_lead(team, LeadState.QUEUED, first_name="Older", created_at=now - timedelta(hours=2))
        newer = queue_lead(team, LeadState.ESCALATED, first_name="Newer", created_at=now - timedelta(hours=1))
        queue_lead(team, LeadState.OFFERED, first_name="Offered")
        queue_lead(team, LeadState.ASSIGNED, first_name="Assigned")
        queue_lead(emea, LeadState.QUEUED, first_name="Elsewhere")
        response = boss.get(team_url(team))
        assert [a.lead for a in response.context["queue"]] == [newer, older]
        body = response.content.decode()
        assert f'href="/leads/{newer.pk}/"' in body and f'href="/leads/{older.pk}/"' in body
        assert "Hand-raiser" in body and "2 waiting" in body
        assert "Elsewhere" not in body and "Offered" not in section(body, 'id="queue"', "</section>")

    def test_the_team_page_takes_a_fixed_number_of_queries_whatever_the_queue_and_reps(self, boss, team):
        queue_lead(team)
        rep_make("ann", team)
        boss.get(team_url(team))
        with CaptureQueriesContext(connection) as few:
            assert boss.get(team_url(team)).status_code == 200
        for n in range(10):
            owner = rep_make(f"rep{n}", team)
            lead = queue_lead(team, LeadState.ESCALATED)
            LeadAssignment.objects.filter(lead=lead).update(owner=owner)
            TeamHoliday.objects.create(team=team, date=date(2026, 1, n + 1))
        with CaptureQueriesContext(connection) as many:
            assert boss.get(team_url(team)).status_code == 200
        assert len(many) == len(few)

    def test_the_team_list_counts_reps_and_leads_in_one_query(self, boss, team, emea):
        rep_make("ann", team)
        rep_make("bob", team, status="away")
        rep_make("cat", team, status="offline")
        rep_make("eve", emea)
        for state in (LeadState.OFFERED, LeadState.QUEUED, LeadState.QUEUED, LeadState.ESCALATED):
            queue_lead(team, state)
        queue_lead(emea, LeadState.QUEUED)
        response = boss.get(TEAMS)
        counts = {t.name: (t.reps_available, t.reps_away, t.reps_offline, t.leads_offered, t.leads_queued,
                           t.leads_escalated) for t in response.context["teams"]}
        assert counts == {"Americas": (1, 1, 1, 1, 2, 1), "EMEA": (1, 0, 0, 0, 1, 0)}
        with CaptureQueriesContext(connection) as few:
            boss.get(TEAMS)
        team_make("APAC", is_default=False)
        rep_make("yui", Team.objects.get(name="APAC"))
        with CaptureQueriesContext(connection) as many:
            boss.get(TEAMS)
        assert len(many) == len(few)


# --- output is escaped ----------------------------------------------------------------------


class TestEscaping:
    def test_rule_team_and_rep_names_are_escaped_everywhere(self, boss, manager):
        Team.objects.update(is_default=False)  # one default team at a time: this one
        evil = team_make("<script>alert('team')</script>", is_default=True, manager=manager)
        rep_make("<b>rep</b>", evil)
        RoutingRule.objects.create(name="<script>alert('rule')</script>", position=1, target_team=evil)
        pages = [boss.get(ROUTING), boss.get(TEAMS), boss.get(team_url(evil)),
                 boss.post(ROUTING, sample(country="US"))]
        for response in pages:
            body = response.content.decode()
            assert "<script>alert" not in body and "<b>rep</b>" not in body.lower()
        assert "&lt;script&gt;alert(&#x27;rule&#x27;)&lt;/script&gt;" in pages[-1].content.decode()
