"""The managers' pages for sequence templates, steps and A/B variants: what they do, field errors with
nothing saved, reordering, deactivating, and every URL for every role."""

from __future__ import annotations

import pytest
from django.test import Client

from sdr_desk.roles import Role
from sdr_desk.sequences.models import SequenceTemplate, Step, StepVariant
from tests.factories import UserFactory
from tests.sequences.helpers import template_make

pytestmark = pytest.mark.django_db

EMAIL = {"channel": "email", "mode": "manual", "delay_business_days": 1, "subject": "Hi {first_name}", "body": "Hello"}
STEP_POST = {"channel": "call", "mode": "manual", "delay_business_days": "1", "delay_minutes": "",
             "window_start": "09:00", "window_end": "17:00", "weekdays": ["0", "1", "2", "3", "4"],
             "subject": "", "body": ""}


@pytest.fixture
def boss(client: Client):
    user = UserFactory(username="boss", roles=[Role.MANAGER])
    client.force_login(user)
    return user


@pytest.fixture
def made():
    template = template_make("Hand-raisers", steps=[{"channel": "call", "delay_minutes": 0},
                                                    {"channel": "sms", "delay_business_days": 0}, EMAIL])
    steps = list(template.steps.order_by("position"))
    variant = StepVariant.objects.create(step=steps[2], label="A", subject="Hi", body="Hello")
    return {"template": template, "steps": steps, "variant": variant}


def positions(template) -> list[tuple[str, int]]:
    return list(template.steps.order_by("position").values_list("channel", "position"))


class TestTemplates:
    def test_a_manager_creates_a_sequence_and_lands_on_its_page(self, boss, client):
        response = client.post("/sequences/new/", {"name": "Webinar follow-up", "team": "", "tier": "researcher"})
        template = SequenceTemplate.objects.get(name="Webinar follow-up")
        assert response.status_code == 302 and response["Location"] == f"/sequences/{template.pk}/"
        assert template.tier == "researcher" and template.is_active and not template.auto_enroll
        page = client.get(f"/sequences/{template.pk}/")
        assert page.status_code == 200 and b"No steps yet" in page.content

    def test_auto_enrol_without_a_tier_is_refused_by_field_and_nothing_is_saved(self, boss, client):
        response = client.post("/sequences/new/", {"name": "No tier", "auto_enroll": "on", "tier": ""})
        assert response.status_code == 400
        assert response.context["form"].errors["tier"] == ["Auto-enrolment needs the tier it enrols."]
        assert b"Auto-enrolment needs the tier it enrols." in response.content
        assert not SequenceTemplate.objects.filter(name="No tier").exists()

    def test_a_manager_renames_and_deactivates_and_activates_again(self, boss, client, made):
        template = made["template"]
        assert client.post(f"/sequences/{template.pk}/", {"name": "Hot: call first", "tier": ""}).status_code == 302
        client.post(f"/sequences/{template.pk}/active/", {"active": "0"})
        template.refresh_from_db()
        assert template.name == "Hot: call first" and not template.is_active
        client.post(f"/sequences/{template.pk}/active/", {"active": "1"})
        template.refresh_from_db()
        assert template.is_active

    def test_the_list_links_each_sequence_and_a_new_one(self, boss, client, made):
        content = client.get("/sequences/").content.decode()
        assert f'href="/sequences/{made["template"].pk}/"' in content and 'href="/sequences/new/"' in content

    def test_names_are_escaped(self, boss, client):
        template = SequenceTemplate.objects.create(name="<script>x</script>")
        content = client.get(f"/sequences/{template.pk}/").content.decode()
        assert "<script>x</script>" not in content and "&lt;script&gt;" in content


class TestSteps:
    def test_a_new_step_goes_last(self, boss, client, made):
        response = client.post(f"/sequences/{made['template'].pk}/steps/new/", STEP_POST)
        assert response.status_code == 302
        step = made["template"].steps.order_by("position").last()
        assert (step.channel, step.position, step.weekdays) == ("call", 3, [0, 1, 2, 3, 4])

    @pytest.mark.parametrize(("change", "field", "says"), [
        ({"delay_business_days": "-1"}, "delay_business_days", "cannot be negative"),
        ({"delay_minutes": "5"}, "delay_minutes", "Only the first step is delayed in minutes"),
        ({"window_start": "17:00", "window_end": "09:00"}, "window_end", "never opens"),
        ({"weekdays": []}, "weekdays", "choose at least one weekday"),
        ({"channel": "email", "subject": "", "body": "Hi"}, "subject", "needs a subject"),
        ({"channel": "email", "subject": "Hi {nickname}", "body": "Hi"}, "subject", "nickname"),
        ({"mode": "automatic"}, "mode", "Only email steps are sent automatically"),
    ])
    def test_a_bad_step_is_refused_by_field_with_a_400_and_nothing_saved(self, boss, client, made, change, field,
                                                                          says):
        before = positions(made["template"])
        response = client.post(f"/sequences/{made['template'].pk}/steps/new/", {**STEP_POST, **change})
        assert response.status_code == 400
        assert says in " ".join(response.context["form"].errors[field])
        assert says in response.content.decode().replace("&#x27;", "'")
        assert positions(made["template"]) == before

    def test_editing_a_step_keeps_its_place_and_a_bad_edit_changes_nothing(self, boss, client, made):
        sms = made["steps"][1]
        response = client.post(f"/sequences/steps/{sms.pk}/", {**STEP_POST, "channel": "sms",
                                                                "delay_business_days": "2"})
        assert response.status_code == 302
        sms.refresh_from_db()
        assert (sms.position, sms.delay_business_days) == (1, 2)
        assert client.post(f"/sequences/steps/{sms.pk}/", {**STEP_POST, "delay_minutes": "3"}).status_code == 400
        sms.refresh_from_db()
        assert sms.delay_minutes is None and sms.delay_business_days == 2

    def test_moving_a_step_swaps_it_with_its_neighbour_and_numbers_from_zero(self, boss, client, made):
        sms, email = made["steps"][1], made["steps"][2]
        client.post(f"/sequences/steps/{email.pk}/move/", {"direction": "up"})
        assert positions(made["template"]) == [("call", 0), ("email", 1), ("sms", 2)]
        client.post(f"/sequences/steps/{sms.pk}/move/", {"direction": "down"})  # last already: nothing moves
        assert positions(made["template"]) == [("call", 0), ("email", 1), ("sms", 2)]

    def test_a_move_that_would_put_the_minutes_step_later_is_refused(self, boss, client, made):
        call = made["steps"][0]
        response = client.post(f"/sequences/steps/{call.pk}/move/", {"direction": "down"}, follow=True)
        assert positions(made["template"]) == [("call", 0), ("sms", 1), ("email", 2)]
        assert "delayed in minutes" in response.content.decode()


class TestVariants:
    def test_a_manager_adds_and_edits_a_variant(self, boss, client, made):
        email = made["steps"][2]
        response = client.post(f"/sequences/steps/{email.pk}/variants/new/",
                               {"label": "B", "subject": "A question about {company}", "body": "Hi {first_name}"})
        assert response.status_code == 302
        assert list(email.variants.values_list("label", flat=True)) == ["A", "B"]
        variant = made["variant"]
        client.post(f"/sequences/variants/{variant.pk}/", {"label": "A: short", "subject": "Hi", "body": "Hey"})
        variant.refresh_from_db()
        assert (variant.label, variant.body) == ("A: short", "Hey")

    def test_a_subject_on_a_call_variant_is_refused_by_field(self, boss, client, made):
        call = made["steps"][0]
        response = client.post(f"/sequences/steps/{call.pk}/variants/new/",
                               {"label": "B", "subject": "Hi", "body": "Ask about {company}"})
        assert response.status_code == 400
        assert response.context["form"].errors["subject"] == ["Only email variants have a subject."]
        assert not StepVariant.objects.filter(step=call).exists()

    def test_an_unknown_variable_is_refused(self, boss, client, made):
        variant = made["variant"]
        response = client.post(f"/sequences/variants/{variant.pk}/", {"label": "A", "subject": "Hi {nope}",
                                                                     "body": "Hello"})
        assert response.status_code == 400 and "nope" in " ".join(response.context["form"].errors["subject"])
        variant.refresh_from_db()
        assert variant.subject == "Hi"


ROLES = [(Role.MANAGER, True), ("admin", True), (Role.SDR, False), (Role.AE, False), (Role.MARKETING, False),
         (None, False)]


def urls(made) -> list[tuple[str, str, dict]]:
    template, step, variant = made["template"], made["steps"][1], made["variant"]
    return [
        ("get", "/sequences/new/", {}),
        ("post", "/sequences/new/", {"name": "Made by someone", "tier": ""}),
        ("get", f"/sequences/{template.pk}/", {}),
        ("post", f"/sequences/{template.pk}/", {"name": "Renamed by someone", "tier": ""}),
        ("post", f"/sequences/{template.pk}/active/", {"active": "0"}),
        ("get", f"/sequences/{template.pk}/steps/new/", {}),
        ("post", f"/sequences/{template.pk}/steps/new/", STEP_POST),
        ("get", f"/sequences/steps/{step.pk}/", {}),
        ("post", f"/sequences/steps/{step.pk}/", {**STEP_POST, "channel": "sms", "delay_business_days": "3"}),
        ("post", f"/sequences/steps/{step.pk}/move/", {"direction": "up"}),
        ("get", f"/sequences/steps/{step.pk}/variants/new/", {}),
        ("post", f"/sequences/steps/{step.pk}/variants/new/", {"label": "Z", "body": "script"}),
        ("get", f"/sequences/variants/{variant.pk}/", {}),
        ("post", f"/sequences/variants/{variant.pk}/", {"label": "Changed", "subject": "Hi", "body": "Hello"}),
    ]


def snapshot() -> tuple:
    return (list(SequenceTemplate.objects.order_by("pk").values_list("name", "is_active")),
            list(Step.objects.order_by("pk").values_list("position", "channel", "delay_business_days")),
            list(StepVariant.objects.order_by("pk").values_list("label", "subject", "body")))


@pytest.mark.parametrize(("role", "allowed"), ROLES)
def test_every_url_for_every_role(client, made, role, allowed):
    if role == "admin":
        user = UserFactory(username="root", is_superuser=True, is_staff=True)
    else:
        user = UserFactory(username="someone", roles=[role] if role else [])
    client.force_login(user)
    for method, url, data in urls(made):
        before = snapshot()
        response = getattr(client, method)(url, data)
        if allowed:
            assert response.status_code == (200 if method == "get" else 302), (method, url, response.status_code)
        else:
            assert response.status_code == 403, (method, url)
            assert snapshot() == before, (method, url)


def test_anonymous_users_are_sent_to_sign_in_for_every_url(client, made):
    for method, url, data in urls(made):
        before = snapshot()
        response = getattr(client, method)(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], (method, url)
        assert snapshot() == before


def test_the_forms_refuse_other_methods(boss, client, made):
    assert client.get(f"/sequences/{made['template'].pk}/active/").status_code == 405
    assert client.get(f"/sequences/steps/{made['steps'][0].pk}/move/").status_code == 405
    assert client.delete(f"/sequences/{made['template'].pk}/").status_code == 405


def test_an_unknown_row_is_a_404(boss, client):
    for url in ("/sequences/999999/", "/sequences/steps/999999/", "/sequences/variants/999999/",
                "/sequences/999999/steps/new/", "/sequences/steps/999999/variants/new/"):
        assert client.get(url).status_code == 404, url


def test_the_edit_page_costs_a_fixed_number_of_queries(boss, client, made, django_assert_max_num_queries):
    for n in range(4):
        StepVariant.objects.create(step=made["steps"][0], label=f"V{n}", body="script")
    with django_assert_max_num_queries(12):
        assert client.get(f"/sequences/{made['template'].pk}/").status_code == 200


class TestATeamsSequence:
    """A team's sequence is its manager's (and an admin's) to shape; another team's manager may read the list
    but changes nothing, by any URL."""

    @pytest.fixture
    def teams(self):
        from tests.desk_fixtures import team_make

        mine = UserFactory(username="mine", roles=[Role.MANAGER])
        theirs = UserFactory(username="theirs", roles=[Role.MANAGER])
        team = team_make("Americas", manager=mine)
        other = team_make("EMEA", is_default=False, manager=theirs)
        template = template_make("Americas: call first", team=team,
                                 steps=[{"channel": "call", "delay_minutes": 0}, {"channel": "sms"}, EMAIL])
        steps = list(template.steps.order_by("position"))
        variant = StepVariant.objects.create(step=steps[2], label="A", subject="Hi", body="Hello")
        return {"mine": mine, "theirs": theirs, "team": team, "other": other,
                "made": {"template": template, "steps": steps, "variant": variant}}

    def test_another_teams_manager_is_refused_every_change_and_nothing_changes(self, client, teams):
        client.force_login(teams["theirs"])
        for method, url, data in urls(teams["made"])[2:]:  # the first two make a new sequence
            before = snapshot()
            response = getattr(client, method)(url, data)
            assert response.status_code == 403 and "403.html" in [t.name for t in response.templates], (method, url)
            assert snapshot() == before, (method, url)

    def test_its_own_manager_may_make_every_change(self, client, teams):
        client.force_login(teams["mine"])
        for method, url, data in urls(teams["made"])[2:]:
            if url.endswith(f"/sequences/{teams['made']['template'].pk}/") and method == "post":
                data = {**data, "team": str(teams["team"].pk)}
            response = getattr(client, method)(url, data)
            assert response.status_code == (200 if method == "get" else 302), (method, url, response.status_code)

    def test_a_manager_may_not_give_a_sequence_to_a_team_they_do_not_manage(self, client, teams):
        client.force_login(teams["theirs"])
        response = client.post("/sequences/new/", {"name": "Poached", "team": str(teams["team"].pk), "tier": ""})
        assert response.status_code == 400 and "team" in response.context["form"].errors
        assert not SequenceTemplate.objects.filter(name="Poached").exists()
        form = client.get("/sequences/new/").context["form"]
        assert list(form.fields["team"].queryset) == [teams["other"]]

    def test_the_list_links_only_the_sequences_they_may_shape(self, client, teams):
        client.force_login(teams["theirs"])
        content = client.get("/sequences/").content.decode()
        template = teams["made"]["template"]
        assert f'href="/sequences/{template.pk}/"' not in content and "its team's manager shapes it" in content
        client.force_login(teams["mine"])
        assert f'href="/sequences/{template.pk}/"' in client.get("/sequences/").content.decode()
