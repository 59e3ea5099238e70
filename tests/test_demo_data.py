"""Demo data: the desk seed_demo builds, the feed simulate_inbound sends, and the generator both share."""

from __future__ import annotations

import io
import random
import re
from collections import Counter
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Count, Min
from django.test import override_settings
from django.utils import timezone

from inbound import demo_data
from inbound.models import (
    Account,
    Activity,
    ApiKey,
    HostedForm,
    Lead,
    Source,
    Submission,
    SubmissionStatus,
    TimelineEntry,
    VisitorLink,
)
from inbound.payloads import clean_event_payload, clean_lead_payload
from sdr_desk.models import Team
from sdr_desk.roles import Role
from tests.factories import SourceFactory, api_key_for

pytestmark = pytest.mark.django_db

DEMO_ROLES = {
    "admin": Role.ADMIN, "manager": Role.MANAGER, "sdr1": Role.SDR, "sdr2": Role.SDR, "sdr3": Role.SDR,
    "ae1": Role.AE, "marketing": Role.MARKETING,
}


def seed(**options: object) -> str:
    out = io.StringIO()
    call_command("seed_demo", leads=40, stdout=out, stderr=out, **options)
    return out.getvalue()


def simulate(**options: object) -> str:
    out = io.StringIO()
    call_command("simulate_inbound", rate=60_000, stdout=out, stderr=out, **options)
    return out.getvalue()


def desk_counts() -> dict[str, int]:
    models = (User, Team, Source, ApiKey, HostedForm, Lead, Account, Submission, Activity, TimelineEntry,
              VisitorLink)
    return {model.__name__: model.objects.count() for model in models}


# --- seed_demo: people --------------------------------------------------------------------------


@override_settings(DEBUG=True)
def test_seed_demo_makes_the_demo_users_with_their_roles():
    output = seed()

    for username, role in DEMO_ROLES.items():
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.first_name and user.last_name
    assert User.objects.get(username="manager").is_staff
    assert User.objects.get(username="admin").is_superuser
    assert not User.objects.get(username="sdr1").is_staff
    assert "Sign in at http://127.0.0.1:8000/ as sdr1 / demo" in output


@override_settings(DEBUG=True)
def test_seed_demo_puts_the_reps_in_their_teams():
    seed()

    americas = Team.objects.get(name="Americas Inbound")
    emea = Team.objects.get(name="EMEA Inbound")
    assert set(americas.reps.values_list("user__username", flat=True)) == {"sdr1", "sdr2"}
    assert set(emea.reps.values_list("user__username", flat=True)) == {"sdr3"}
    assert (americas.visibility, emea.visibility) == ("claim", "owned")
    assert americas.manager.username == "manager"
    assert emea.time_zone == "Europe/London"


@override_settings(DEBUG=True)
def test_demo_users_can_sign_in_with_the_demo_password(client):
    seed()

    for username in DEMO_ROLES:
        assert client.login(username=username, password="demo"), username


@override_settings(DEBUG=False)
def test_seed_demo_makes_no_users_when_debug_is_off():
    output = seed()

    assert not User.objects.exists()
    assert "demo users (password 'demo') are not created" in output
    assert "Sign in at" not in output
    assert Team.objects.count() == 2
    assert not Team.objects.filter(reps__isnull=False).exists()
    assert Lead.objects.count() == 40  # the rest of the desk is still made


# --- seed_demo: configuration ---------------------------------------------------------------------


def test_seed_demo_makes_each_source_with_a_working_api_key():
    output = seed()

    printed = dict(re.findall(r"Source (.+): API key (sdk_\S+)", output))
    assert set(printed) == set(demo_data.SOURCES)
    for name, raw in printed.items():
        source = Source.objects.get(name=name)
        assert source.channel == demo_data.SOURCES[name]
        (key,) = source.api_keys.all()
        assert key.hashed_key == ApiKey.hash(raw)


def test_seed_demo_makes_the_hosted_forms():
    seed()

    forms = {form.slug: form for form in HostedForm.objects.select_related("source")}
    assert set(forms) == {"demo", "ebook-revops", "webinar", "newsletter"}
    assert forms["demo"].form_type == "demo_request"
    assert forms["demo"].fields == ["first_name", "last_name", "company", "job_title", "phone", "country"]
    assert forms["demo"].required_fields == ["first_name", "company"]
    assert forms["ebook-revops"].form_type == "content_download"
    assert forms["ebook-revops"].asset == "State of RevOps 2026"
    assert forms["ebook-revops"].progressive_fields == ["job_title", "employee_count"]
    assert forms["webinar"].form_type == "webinar"
    assert forms["newsletter"].form_type == "newsletter"
    assert forms["newsletter"].fields == []
    assert {form.source.name for form in forms.values()} == {"Website"}


@override_settings(DEBUG=True)
def test_seed_demo_run_twice_adds_nothing():
    seed()
    first = desk_counts()

    output = seed()

    assert desk_counts() == first
    assert "0 made, 40 already there" in output


def test_seed_demo_with_another_seed_adds_other_leads():
    seed(seed=1)

    seed(seed=2)

    # Two plans may share the odd namesake at one company; that lead is kept once.
    assert 70 <= Lead.objects.count() <= 80


# --- seed_demo: leads ------------------------------------------------------------------------------


def test_seed_demo_makes_the_requested_leads_each_with_history():
    seed()

    assert Lead.objects.count() == 40
    assert not Lead.objects.filter(activities__isnull=True).exists()
    assert not Lead.objects.filter(timeline__isnull=True).exists()
    assert set(Submission.objects.values_list("status", flat=True)) == {SubmissionStatus.PROCESSED}
    assert not Activity.objects.filter(lead__isnull=True).exists()  # every anonymous visit was identified


def test_seed_demo_spreads_leads_over_the_last_30_days():
    now = timezone.now()

    seed()

    oldest, newest = (Lead.objects.order_by(order).values_list("created_at", flat=True)[0]
                      for order in ("created_at", "-created_at"))
    assert now - timedelta(days=31) < oldest < now - timedelta(days=20)
    assert newest < now
    assert Submission.objects.filter(received_at__lt=now - timedelta(days=10)).exists()


def test_seed_demo_dates_each_lead_by_its_first_conversion():
    seed()

    first_form = {row["lead"]: row["first"] for row in Activity.objects.filter(type="form_submit")
                  .values("lead").annotate(first=Min("occurred_at"))}
    for lead in Lead.objects.all():
        assert lead.created_at == first_form[lead.pk]
        assert lead.last_converted_at >= lead.created_at
        assert lead.updated_at <= timezone.now()


def test_seed_demo_leads_look_like_inbound_traffic():
    seed()

    assert Lead.objects.filter(conversion_count__gt=1).exists()  # repeat conversions
    assert Lead.objects.filter(is_personal_email=True, account__isnull=True).exists()  # free mail
    assert Account.objects.annotate(people=Count("leads")).filter(people__gte=2).exists()  # colleagues
    assert TimelineEntry.objects.filter(summary__endswith="(before identification)").exists()  # stitched visits
    assert Activity.objects.filter(type="pricing_page_view").exists()
    assert Submission.objects.filter(channel="form", hosted_form__isnull=False).exists()
    assert Lead.objects.exclude(utm_source="").exists()
    assert Lead.objects.values("country").distinct().count() >= 4


# --- simulate_inbound --------------------------------------------------------------------------------


def test_simulate_inbound_sends_through_the_intake_path():
    output = simulate(count=5, seed=3)

    submissions = Submission.objects.filter(channel="api")
    assert submissions.count() == 5
    assert set(submissions.values_list("status", flat=True)) == {SubmissionStatus.PROCESSED}
    assert set(submissions.values_list("source__name", flat=True)) == {"Website"}
    assert set(submissions.values_list("api_key__name", flat=True)) == {"simulate_inbound"}
    assert Lead.objects.exists()
    assert len([line for line in output.splitlines() if " -> " in line]) == 5
    assert "Stopped after 5 sends." in output


def test_simulate_inbound_converts_the_desks_leads_again():
    seed()
    before = Submission.objects.filter(kind="lead", created_lead=False).count()

    output = simulate(count=30, seed=4)

    assert Submission.objects.filter(channel="api", api_key__name="simulate_inbound").count() == 30
    assert Submission.objects.filter(kind="lead", created_lead=False).count() > before
    assert "converted lead" in output and "created lead" in output


def test_simulate_inbound_makes_its_key_once():
    simulate(count=1, seed=1)
    simulate(count=1, seed=2)

    assert ApiKey.objects.filter(name="simulate_inbound").count() == 1


def test_simulate_inbound_survives_a_failing_send(monkeypatch):
    def broken(**kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("inbound.management.commands.simulate_inbound.lead_submission_accept", broken)
    monkeypatch.setattr("inbound.management.commands.simulate_inbound.event_submission_accept", broken)

    output = simulate(count=3, seed=7)

    assert output.count("failed: RuntimeError: database went away") == 3
    assert "Stopped after 3 sends." in output


def test_simulate_inbound_wants_url_and_key_together():
    with pytest.raises(CommandError, match="--url and --key go together"):
        simulate(count=1, url="http://127.0.0.1:8000")


@pytest.mark.django_db(transaction=True)
def test_simulate_inbound_posts_to_the_api_with_a_key(live_server):
    source = SourceFactory(name="Partner: Northwind", channel="partner")
    raw = api_key_for(source)

    output = simulate(count=4, seed=5, url=live_server.url, key=raw)

    assert Submission.objects.filter(channel="api", source=source).count() == 4
    assert "HTTP" not in output


@pytest.mark.django_db(transaction=True)
def test_simulate_inbound_keeps_going_when_sends_fail(live_server):
    output = simulate(count=3, seed=6, url=live_server.url, key="sdk_00000000_not-a-key")

    assert output.count("HTTP 401") == 3
    assert "Stopped after 3 sends." in output
    assert not Submission.objects.exists()


# --- the generator ----------------------------------------------------------------------------------


def test_generated_payloads_all_pass_the_intake_contract():
    rng = random.Random(11)
    known: list[str] = []
    anonymous: list[str] = []
    for _ in range(500):
        send = demo_data.traffic_next(rng, known=known, anonymous=anonymous)
        clean = clean_lead_payload if send.kind == "lead" else clean_event_payload
        cleaned, errors = clean(send.payload)
        assert not errors, (send.payload, errors)
        if send.kind == "lead":
            known.append(cleaned["email"])
        elif not send.payload.get("email"):
            anonymous.append(send.payload["visitor_id"])

    for story in demo_data.stories_plan(rng, count=100, now=timezone.now()):
        for step in story.steps:
            clean = clean_lead_payload if step.kind == "lead" else clean_event_payload
            assert not clean(step.payload)[1], step.payload


def test_the_same_seed_plans_the_same_leads():
    now = datetime(2026, 5, 1, 12, tzinfo=dt_timezone.utc)

    first = demo_data.stories_plan(random.Random(7), count=20, now=now)
    again = demo_data.stories_plan(random.Random(7), count=20, now=now)

    assert first == again
    assert len({story.email for story in first}) == 20


def test_the_mix_of_first_conversions_is_an_inbound_mix():
    rng = random.Random(12)

    mix = Counter(demo_data.form_type_pick(rng) for _ in range(2000))

    share = {form_type: count / 2000 for form_type, count in mix.items()}
    assert 0.30 < share["content_download"] < 0.40
    assert 0.11 < share["demo_request"] < 0.19
    assert 0.02 < share["contact"] < 0.08
