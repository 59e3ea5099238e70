"""The manager's scoring page: rules edited at once, previewed on recent leads, published as versions."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inbound.models import Activity, Lead, LeadStatus, TimelineEntry
from scoring.forms import RuleForms
from scoring.models import (
    FitRule,
    HotLeadCriteria,
    IntentRule,
    LeadScore,
    RuleFailure,
    RuleSetVersion,
    ScoringSettings,
)
from scoring.services import leads_rescore_bulk, ruleset_snapshot
from sdr_desk.roles import Role
from tests.factories import LeadFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/scoring/"


class _RulesForm(HTMLParser):
    """What a browser without JavaScript posts from the page's rules form: every field as rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "rules-form" in a.get("class", ""):
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and a.get("name") and a.get("type") != "submit":
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self._add(a["name"], a.get("value") or "on")
            else:
                self._add(a["name"], a.get("value", ""))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select:
            self._options.append((a.get("value", ""), "selected" in a))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select:
            chosen = [v for v, selected in self._options if selected] or [self._options[0][0]]
            self._add(self._select, chosen[0])
            self._select = None
        elif tag == "form":
            self._in_form = False


def page_data(client: Any) -> dict[str, list[str]]:
    response = client.get(URL)
    assert response.status_code == 200
    parser = _RulesForm()
    parser.feed(response.content.decode())
    return parser.data


def fit_prefix(data: dict[str, list[str]], name: str) -> str:
    """The form prefix ("fit-3") of the fit rule row with this name."""
    for key, values in data.items():
        if key.startswith("fit-") and key.endswith("-name") and values == [name]:
            return key[: -len("-name")]
    raise KeyError(name)


def intent_prefix(data: dict[str, list[str]], signal: str) -> str:
    rule_id = str(IntentRule.objects.get(signal=signal).pk)
    for key, values in data.items():
        if key.startswith("intent-") and key.endswith("-id") and values == [rule_id]:
            return key[: -len("-id")]
    raise KeyError(signal)


def new_row(data: dict[str, list[str]], formset: str) -> str:
    """The prefix of the formset's blank row (the last one)."""
    return f"{formset}-{int(data[f'{formset}-TOTAL_FORMS'][0]) - 1}"


def put(data: dict[str, list[str]], prefix: str, **fields: Any) -> dict[str, list[str]]:
    for field, value in fields.items():
        key = f"{prefix}-{field}"
        if value is None or value is False:
            data.pop(key, None)
        elif value is True:
            data[key] = ["on"]
        elif isinstance(value, list):
            data[key] = [str(v) for v in value]
        else:
            data[key] = [str(value)]
    return data


def row_html(body: str, field_name: str, end: str = "</tr>") -> str:
    """The page's HTML from a field's input to the end of its row: where its error must be shown."""
    start = body.index(f'name="{field_name}"')
    return body[start: body.index(end, start)]


def stored_state() -> dict[str, Any]:
    """Everything a preview or a refused publish must leave alone."""
    return {
        "counts": {model.__name__: model.objects.count() for model in
                   (FitRule, IntentRule, ScoringSettings, HotLeadCriteria, RuleSetVersion, LeadScore, RuleFailure,
                    TimelineEntry)},
        "rules": ruleset_snapshot(),
        "scores": sorted(LeadScore.objects.values_list("lead_id", "total", "grade", "is_hot", "version")),
    }


@pytest.fixture
def boss_client(as_user, manager):
    return as_user(manager)


@pytest.fixture
def recent_leads(db) -> dict[str, Lead]:
    """Four leads of the last 90 days and one older, scored under the published default rules.

    Under the defaults: the VP Sales 30 fit (B), Head of Marketing 30 (B), Director 20 (C), engineer 0 (D).
    """
    now = timezone.now()
    leads = {
        "vp": LeadFactory(job_title="VP Sales", status=LeadStatus.QUALIFIED),
        "head": LeadFactory(job_title="Head of Marketing", status=LeadStatus.DISQUALIFIED),
        "director": LeadFactory(job_title="Director of Engineering", status=LeadStatus.NEW),
        "engineer": LeadFactory(job_title="Software Engineer", status=LeadStatus.WORKING),
        "old": LeadFactory(job_title="VP Sales", created_at=now - timedelta(days=120)),
    }
    Activity.objects.create(lead=leads["vp"], type="form_submit", form_type="demo_request",
                            occurred_at=now - timedelta(days=1))
    Activity.objects.create(lead=leads["engineer"], type="form_submit", form_type="content_download",
                            occurred_at=now - timedelta(days=2))
    leads_rescore_bulk(open_only=False, trigger="test")
    return leads


class TestAccess:
    def test_it_shows_the_current_rules_and_version(self, boss_client):
        body = boss_client.get(URL).content.decode()
        assert "Senior buyer" in body and "Demo request" in body and "Default: hand-raisers and score 50+" in body
        assert "v1 live" in body and "default rules" in body
        assert 'href="/scoring/"' in body  # the nav link

    @pytest.mark.parametrize("persona", ["sdr", "marketing", "outsider"])
    def test_only_managers_may_use_it(self, as_user, request, persona):
        client = as_user(request.getfixturevalue(persona))
        assert client.get(URL).status_code == 403
        assert client.post(URL, {"action": "publish"}).status_code == 403
        assert 'href="/scoring/"' not in client.get("/leads/").content.decode()

    def test_anonymous_visitors_are_sent_to_sign_in(self, client):
        response = client.get(URL)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_an_unknown_action_is_refused(self, boss_client):
        data = page_data(boss_client)
        before = stored_state()
        response = boss_client.post(URL, {**data, "action": "delete-everything"})
        assert response.status_code == 400
        assert stored_state() == before


class TestPreview:
    def test_the_draft_of_an_unchanged_page_is_the_stored_rule_set(self, boss_client):
        """The what-if's draft has exactly the shape and content of a published snapshot."""
        SourceFactory(name="Partner")
        forms = RuleForms.build(_querydict(page_data(boss_client)))
        assert forms.is_valid()
        assert forms.draft_snapshot() == ruleset_snapshot()

    def test_a_preview_compares_the_draft_with_the_current_rules_and_writes_nothing(self, boss_client, recent_leads):
        data = page_data(boss_client)
        put(data, fit_prefix(data, "Senior buyer"), points=30)
        before = stored_state()
        response = boss_client.post(URL, {**data, "action": "preview"})
        assert response.status_code == 200
        preview = response.context["preview"]
        assert preview["leads"] == 4  # the lead of 120 days ago is not in the window
        assert preview["current"]["grades"] == {"A": 0, "B": 2, "C": 1, "D": 1}
        assert preview["draft"]["grades"] == {"A": 2, "B": 1, "C": 0, "D": 1}
        assert preview["current"]["tiers"] == preview["draft"]["tiers"] == {
            "hand_raiser": 1, "researcher": 1, "light": 0, "none": 2}
        assert preview["current"]["hot"] == preview["draft"]["hot"] == 1
        assert preview["draft"]["outcomes"] == {"hot": {"qualified": 1},
                                                "not_hot": {"disqualified": 1, "new": 1, "working": 1}}
        assert preview["changed"] == 3
        body = response.content.decode()
        assert "<b>3</b>leads would change grade or heat" in body
        comparison = response.context["comparison"]
        rows = {(s["title"], r["label"]): (r["current"], r["draft"]) for s in comparison["sections"]
                for r in s["rows"]}
        assert rows[("Grade", "Grade A")] == (0, 2) and rows[("Grade", "Grade C")] == (1, 0)
        assert rows[("Hot leads became", "Qualified")] == (1, 1)
        assert rows[("The rest became", "Disqualified")] == (1, 1)
        assert rows[("The rest became", "Still open")] == (2, 2)
        assert (comparison["hot"]["current"], comparison["hot"]["draft"]) == (1, 1)
        assert 'value="30"' in row_html(body, f"{fit_prefix(data, 'Senior buyer')}-points")  # the draft stays
        assert stored_state() == before
        assert FitRule.objects.get(name="Senior buyer").points == 20

    def test_a_preview_includes_new_rules_and_leaves_out_deleted_and_inactive_ones(self, boss_client, recent_leads):
        data = page_data(boss_client)
        put(data, fit_prefix(data, "Senior buyer"), DELETE=True)
        put(data, fit_prefix(data, "Revenue team role"), is_active=False)
        put(data, new_row(data, "fit"), name="Engineers", kind="title_matches", values="Engineer", points=50)
        before = stored_state()
        response = boss_client.post(URL, {**data, "action": "preview"})
        assert response.status_code == 200
        # Engineer: 50 (A); VP, Head of, Director: their title rules are gone, so 0 (D).
        assert response.context["preview"]["draft"]["grades"] == {"A": 1, "B": 0, "C": 0, "D": 3}
        assert stored_state() == before


def _querydict(data: dict[str, list[str]]) -> Any:
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for key, values in data.items():
        query.setlist(key, values)
    return query


INVALID = [
    pytest.param("fit", "Senior buyer", {"values": "VP, (unclosed"}, "values", "is not a valid pattern",
                 id="bad-regex"),
    pytest.param("fit", "Student or job seeker", {"values": "intern[ "}, "values", "Not a valid pattern",
                 id="bad-student-pattern"),
    pytest.param("fit", "Target industry", {"values": " , "}, "values", "The set is empty", id="empty-set"),
    pytest.param("fit", "Mid-market size (51-1,000)", {"min_value": 2000, "max_value": 10}, "max_value",
                 "The maximum (10) is below the minimum (2000).", id="min-above-max"),
    pytest.param("intent", "demo_request", {"points": 40, "cap": 10}, "cap",
                 "The cap is below the points of a single occurrence.", id="cap-below-points"),
]


class TestInvalidInput:
    @pytest.mark.parametrize("action", ["preview", "publish"])
    @pytest.mark.parametrize(("formset", "row", "changes", "field", "message"), INVALID)
    def test_a_bad_rule_is_refused_next_to_its_field_and_nothing_is_saved(
        self, boss_client, formset, row, changes, field, message, action
    ):
        data = page_data(boss_client)
        prefix = fit_prefix(data, row) if formset == "fit" else intent_prefix(data, row)
        put(data, prefix, **changes)
        before = stored_state()
        response = boss_client.post(URL, {**data, "action": action})
        assert response.status_code == 400
        body = response.content.decode()
        assert message in row_html(body, f"{prefix}-{field}")
        assert "Nothing was saved" in body
        assert response.context["preview"] is None
        assert stored_state() == before

    @pytest.mark.parametrize("action", ["preview", "publish"])
    def test_two_default_criteria_are_refused(self, boss_client, action):
        data = page_data(boss_client)
        prefix = new_row(data, "criteria")
        put(data, prefix, name="Enterprise only", is_default=True, min_score=80, within_days=30)
        before = stored_state()
        response = boss_client.post(URL, {**data, "action": action})
        assert response.status_code == 400
        body = response.content.decode()
        assert "Exactly one set of criteria is the default." in row_html(body, f"{prefix}-name", "</fieldset>")
        assert stored_state() == before

    def test_no_default_criteria_is_refused(self, boss_client):
        data = page_data(boss_client)
        put(data, "criteria-0", is_default=False)
        response = boss_client.post(URL, {**data, "action": "publish"})
        assert response.status_code == 400
        assert "Exactly one set of criteria is the default." in response.content.decode()
        assert HotLeadCriteria.objects.filter(is_default=True).count() == 1


class TestPublish:
    def test_publishing_saves_the_rules_makes_a_version_and_rescores_open_leads(
        self, boss_client, manager, recent_leads, django_capture_on_commit_callbacks
    ):
        assert LeadScore.objects.get(lead=recent_leads["director"]).version == 1
        data = page_data(boss_client)
        put(data, fit_prefix(data, "Senior buyer"), points=30)
        put(data, intent_prefix(data, "return_visit"), window_days=10)
        put(data, "settings", grade_a_min=45)
        with django_capture_on_commit_callbacks(execute=True):
            response = boss_client.post(URL, {**data, "action": "publish", "note": "seniority matters more"})
        assert response.status_code == 303 and response["Location"] == URL
        version = RuleSetVersion.objects.get(number=2)
        assert (version.created_by, version.note) == (manager, "seniority matters more")
        assert FitRule.objects.get(name="Senior buyer").points == 30
        assert IntentRule.objects.get(signal="return_visit").window_days == 10
        assert ScoringSettings.load().grade_a_min == 45
        assert next(r for r in version.snapshot["fit"] if r["name"] == "Senior buyer")["points"] == 30
        director = LeadScore.objects.get(lead=recent_leads["director"])
        assert (director.version, director.fit, director.grade) == (2, 30, "B")
        # Rescoring covers open leads only; a closed lead keeps the score it had.
        assert LeadScore.objects.get(lead=recent_leads["head"]).version == 1
        body = boss_client.get(URL).content.decode()
        assert "Published rules v2; rescoring open leads" in body
        assert "v2 live" in body and "seniority matters more" in body

    def test_a_fit_rule_is_added_and_then_deleted_through_the_formset(
        self, boss_client, django_capture_on_commit_callbacks
    ):
        data = page_data(boss_client)
        put(data, new_row(data, "fit"), name="Uses a warehouse", kind="tech_in", values="Snowflake, dbt ,",
            points=5)
        with django_capture_on_commit_callbacks(execute=True):
            assert boss_client.post(URL, {**data, "action": "publish"}).status_code == 303
        rule = FitRule.objects.get(name="Uses a warehouse")
        assert rule.values == ["Snowflake", "dbt"] and rule.is_active
        assert rule.position == FitRule.objects.exclude(pk=rule.pk).order_by("-position").first().position + 1

        data = page_data(boss_client)
        assert data[f"{fit_prefix(data, 'Uses a warehouse')}-values"] == ["Snowflake, dbt"]
        put(data, fit_prefix(data, "Uses a warehouse"), DELETE=True)
        with django_capture_on_commit_callbacks(execute=True):
            assert boss_client.post(URL, {**data, "action": "publish"}).status_code == 303
        assert not FitRule.objects.filter(name="Uses a warehouse").exists()
        latest = RuleSetVersion.objects.order_by("-number").first()
        assert latest.number == 3
        assert "Uses a warehouse" not in [r["name"] for r in latest.snapshot["fit"]]

    def test_a_new_default_criteria_replaces_the_old_one(self, boss_client, django_capture_on_commit_callbacks):
        partner = SourceFactory(name="Partner referrals")
        data = page_data(boss_client)
        put(data, "criteria-0", is_default=False)
        put(data, new_row(data, "criteria"), name="Partners and demos", is_default=True, mode="any",
            form_types=["demo_request"], sources=[partner.pk], within_days=14)
        with django_capture_on_commit_callbacks(execute=True):
            assert boss_client.post(URL, {**data, "action": "publish"}).status_code == 303
        chosen = HotLeadCriteria.objects.get(is_default=True)
        assert chosen.name == "Partners and demos" and list(chosen.sources.all()) == [partner]
        assert chosen.form_types == ["demo_request"]
        snapshot = RuleSetVersion.objects.order_by("-number").first().snapshot
        assert snapshot["default_criteria_id"] == chosen.pk
        assert next(c for c in snapshot["criteria"] if c["id"] == chosen.pk)["source_ids"] == [partner.pk]


class TestPageContent:
    def test_a_rule_failure_is_reported_on_the_page(self, boss_client):
        RuleFailure.objects.create(rule="fit rule 'Broken'", message="ValueError: unknown fit rule kind", count=7)
        body = boss_client.get(URL).content.decode()
        assert "Rules failing when scoring" in body
        assert "fit rule &#x27;Broken&#x27;" in body and "ValueError: unknown fit rule kind" in body

    def test_output_is_escaped(self, boss_client):
        FitRule.objects.create(name="<script>alert(1)</script>", kind="personal_email", points=1)
        RuleFailure.objects.create(rule="<script>boom()</script>", message="<b>bad</b>")
        body = boss_client.get(URL).content.decode()
        assert "<script>alert(1)" not in body and "<script>boom()" not in body and "<b>bad</b>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "&lt;script&gt;boom()" in body

    def test_the_page_takes_a_fixed_number_of_queries_whatever_the_rules_and_versions(self, boss_client, manager):
        boss_client.get(URL)  # warm the session and permission caches
        with CaptureQueriesContext(connection) as few:
            assert boss_client.get(URL).status_code == 200
        FitRule.objects.bulk_create([FitRule(name=f"Industry {i}", kind="industry_in", values=[f"i{i}"], points=1)
                                     for i in range(25)])
        sources = [SourceFactory(name=f"Partner {i}") for i in range(5)]
        for i in range(4):
            criteria = HotLeadCriteria.objects.create(name=f"Team {i}", min_score=60)
            criteria.sources.set(sources[:i + 1])
        from scoring.services import ruleset_publish

        for i in range(12):
            ruleset_publish(user=manager, note=f"tuning {i}")
        RuleFailure.objects.bulk_create([RuleFailure(rule=f"rule {i}", message="boom") for i in range(5)])
        with CaptureQueriesContext(connection) as many:
            assert boss_client.get(URL).status_code == 200
        assert len(many) == len(few) <= 15, [q["sql"][:100] for q in many.captured_queries]


class TestAdmin:
    @pytest.fixture
    def admin_client(self, client):
        client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True, roles=[Role.ADMIN]))
        return client

    def test_saving_a_rule_in_the_admin_publishes_a_version(self, admin_client, django_capture_on_commit_callbacks):
        rule = FitRule.objects.get(name="Personal email")
        form = {"name": rule.name, "kind": rule.kind, "values": "[]", "min_value": "", "max_value": "",
                "points": "-5", "is_active": "on", "position": rule.position}
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(f"/admin/scoring/fitrule/{rule.pk}/change/", form)
        assert response.status_code == 302, response.content.decode()[:2000]
        version = RuleSetVersion.objects.get(number=2)
        assert version.note == "admin: Personal email (-5)" and version.created_by.username == "root"
        assert next(r for r in version.snapshot["fit"] if r["name"] == "Personal email")["points"] == -5

    def test_deleting_a_rule_in_the_admin_publishes_a_version(self, admin_client, django_capture_on_commit_callbacks):
        rule = FitRule.objects.get(name="Competitor")
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(f"/admin/scoring/fitrule/{rule.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        version = RuleSetVersion.objects.get(number=2)
        assert "Competitor" not in [r["name"] for r in version.snapshot["fit"]]
