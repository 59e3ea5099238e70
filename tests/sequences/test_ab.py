"""A/B variants of a step: spread evenly over the leads (even when they are enrolled at once), recorded on
the run, sent as the variant's text, and compared on the sequences page: rates computed as a person would,
no winner under the minimum sample, a winner only past a two-proportion z-test at 95%."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.sequences.ab import two_proportion_z, variant_results, winner
from sdr_desk.sequences.models import Enrollment, StepRun, StepVariant
from sdr_desk.sequences.sending import step_send
from sdr_desk.sequences.services import enrollment_start
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.sequences.helpers import template_make

EMAIL = {"channel": "email", "mode": "automatic", "delay_minutes": 0, "subject": "Hello {first_name}",
         "body": "The step's own body"}


def variants_make(step, *labels: str) -> list[StepVariant]:
    return [StepVariant.objects.create(step=step, label=label, subject=f"{label}: {{first_name}}, a question",
                                       body=f"Variant {label} for {{company}}.\n{{rep_signature}}")
            for label in labels]


def desk_make(leads: int, labels: tuple[str, ...]) -> dict:
    team = team_make("Inbound", visibility="claim")
    ann = rep_make("ann", team)
    template = template_make("A/B", team=team, steps=[EMAIL, {"channel": "call", "delay_business_days": 1}])
    variants = variants_make(template.steps.get(position=0), *labels)
    made = []
    for _ in range(leads):
        lead = hot_lead()
        lead_route(lead.pk)
        lead_claim(lead.pk, user=ann)
        made.append(lead)
    return {"team": team, "ann": ann, "template": template, "variants": variants, "leads": made}


def spread(template) -> dict[str, int]:
    return dict(Counter(StepRun.objects.filter(step__template=template).values_list("variant__label", flat=True)))


@pytest.mark.django_db
class TestBalance:
    def test_ten_leads_over_two_variants_are_five_and_five(self):
        desk = desk_make(10, ("A", "B"))
        for lead in desk["leads"]:
            enrollment_start(lead.pk, desk["template"], by=desk["ann"])
        assert spread(desk["template"]) == {"A": 5, "B": 5}

    def test_ten_over_three_gives_the_extra_one_to_the_variant_made_first(self):
        desk = desk_make(10, ("A", "B", "C"))
        picks = []
        for lead in desk["leads"]:
            enrollment_start(lead.pk, desk["template"], by=desk["ann"])
            picks.append(StepRun.objects.get(enrollment__lead=lead).variant.label)
        assert picks == ["A", "B", "C"] * 3 + ["A"]
        assert spread(desk["template"]) == {"A": 4, "B": 3, "C": 3}

    def test_a_step_without_variants_leaves_the_run_without_one(self):
        desk = desk_make(1, ())
        enrollment_start(desk["leads"][0].pk, desk["template"], by=desk["ann"])
        assert StepRun.objects.get().variant is None

    def test_the_email_goes_out_as_the_variant_the_lead_got(self, mailoutbox):
        desk = desk_make(2, ("A", "B"))
        for lead in desk["leads"]:
            enrollment_start(lead.pk, desk["template"], by=desk["ann"])
        StepRun.objects.update(status="due")
        with override_settings(SEQUENCES_MIN_SPACING_SECONDS=0):
            for run in StepRun.objects.order_by("id"):
                assert step_send(run.pk) == "sent"
        assert [m.subject.split(":")[0] for m in mailoutbox] == ["A", "B"]
        assert mailoutbox[0].body.startswith(f"Variant A for {desk['leads'][0].company}.\nAnn\nann@desk.test")

    def test_the_lead_page_shows_the_variant_and_its_script_to_the_rep(self, client):
        desk = desk_make(1, ("A",))
        template = template_make("Scripts", steps=[{"channel": "call", "delay_minutes": 0}])
        StepVariant.objects.create(step=template.steps.get(), label="Pain first", body="Ask about {company}'s <pain>")
        Enrollment.objects.all().delete()
        enrollment_start(desk["leads"][0].pk, template, by=desk["ann"])
        StepRun.objects.update(status="due")
        client.force_login(desk["ann"])
        page = client.get(f"/leads/{desk['leads'][0].pk}/").content.decode()
        assert "Call (Pain first) · Due" in page
        assert "Ask about {company}&#x27;s &lt;pain&gt;" in page  # the script as written, escaped


@pytest.mark.django_db(transaction=True)
def test_leads_enrolled_at_the_same_moment_are_still_spread_evenly():
    desk = desk_make(6, ("A", "B"))
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def enrol(lead_id: int) -> None:
        try:
            barrier.wait()
            enrollment_start(lead_id, desk["template"], by=desk["ann"])
        except BaseException as error:  # noqa: BLE001  reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=enrol, args=(lead.pk,)) for lead in desk["leads"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert spread(desk["template"]) == {"A": 3, "B": 3}


def outcomes_make(template, variant, *, sent: int, replies: int = 0, connects: int = 0, meetings: int = 0,
                  pending: int = 0) -> None:
    """``sent`` leads got the variant and did the step; so many of their sequences ended in each outcome."""
    lead = hot_lead()
    reasons = ["reply"] * replies + ["connected call"] * connects + ["meeting set"] * meetings
    reasons += ["completed"] * (sent - len(reasons))
    for reason in reasons + ["pending"] * pending:
        enrollment = Enrollment.objects.create(lead=lead, template=template, status="stopped",
                                               stop_reason="" if reason in ("completed", "pending") else reason)
        StepRun.objects.create(enrollment=enrollment, step=variant.step, variant=variant, due_at=timezone.now(),
                               status="pending" if reason == "pending" else "done")


@pytest.mark.django_db
class TestRates:
    def test_the_rates_are_the_outcomes_over_the_leads_sent_that_variant(self):
        template = template_make("A/B", steps=[EMAIL])
        a, b = variants_make(template.steps.get(), "A", "B")
        outcomes_make(template, a, sent=8, replies=2, connects=1, meetings=1, pending=5)
        outcomes_make(template, b, sent=4, replies=1)
        result = variant_results([template.pk])[template.steps.get().pk]
        rates = {v.variant.label: (v.sent, v.rates) for v in result.variants}
        assert rates == {"A": (8, {"reply": 2 / 8, "connect": 1 / 8, "meeting": 1 / 8}),
                         "B": (4, {"reply": 1 / 4, "connect": 0.0, "meeting": 0.0})}
        assert result.winners["reply"] == "no winner yet: under 30 sent for A, B"

    def test_the_z_test_is_the_pooled_two_proportion_one(self):
        # p = 18/60 = 0.3; se = sqrt(0.3 * 0.7 * (1/30 + 1/30)) = 0.118322; z = (0.5 - 0.1) / se = 3.3806
        assert two_proportion_z(15, 30, 3, 30) == pytest.approx(3.3806, abs=1e-4)
        assert two_proportion_z(0, 30, 0, 30) is None and two_proportion_z(1, 0, 1, 30) is None

    def test_no_winner_below_the_minimum_sample_however_large_the_gap(self):
        template = template_make("A/B", steps=[EMAIL])
        a, b = variants_make(template.steps.get(), "A", "B")
        outcomes_make(template, a, sent=29, replies=29)
        outcomes_make(template, b, sent=30, replies=0)
        result = variant_results([template.pk])[template.steps.get().pk]
        assert result.won["reply"] is None and result.winners["reply"] == "no winner yet: under 30 sent for A"
        with override_settings(SEQUENCES_AB_MIN_SAMPLE=29):
            assert variant_results([template.pk])[template.steps.get().pk].won["reply"] == a.pk

    def test_past_the_sample_a_winner_needs_significance_at_95_percent(self):
        template = template_make("A/B", steps=[EMAIL])
        a, b, c = variants_make(template.steps.get(), "A", "B", "C")
        outcomes_make(template, a, sent=30, replies=15, meetings=4)
        outcomes_make(template, b, sent=30, replies=3, meetings=3)
        outcomes_make(template, c, sent=30, replies=4, meetings=2)
        result = variant_results([template.pk])[template.steps.get().pk]
        assert result.won["reply"] == a.pk and result.winners["reply"] == "A wins (95%)"
        assert result.won["meeting"] is None and "not significant at 95%" in result.winners["meeting"]

    def test_a_close_race_names_no_winner(self):
        template = template_make("A/B", steps=[EMAIL])
        a, b = variants_make(template.steps.get(), "A", "B")
        outcomes_make(template, a, sent=30, replies=10)  # z = 0.55 against B's 8 of 30
        outcomes_make(template, b, sent=30, replies=8)
        variants = variant_results([template.pk])[template.steps.get().pk].variants
        assert winner(variants, "reply") == (None, "no winner: A vs B is not significant at 95%")


@pytest.mark.django_db
class TestPage:
    def test_the_manager_sees_each_variants_rates_and_the_verdict(self, client, manager):
        template = template_make("Nurture", steps=[EMAIL])
        a, b = variants_make(template.steps.get(), "A", "B")
        outcomes_make(template, a, sent=4, replies=2)
        outcomes_make(template, b, sent=0)
        client.force_login(manager)
        text = client.get("/sequences/").content.decode()
        section = text[text.index('id="ab-step-'):]
        row = section[section.index('data-variant="A"'):]
        cells = row[:row.index("</tr>")]
        assert cells.count('<td class="num">') == 4
        assert '<td class="num">4</td>' in cells and '<td class="num">50.0%</td>' in cells
        row_b = section[section.index('data-variant="B"'):]
        assert "\u2014" in row_b[:row_b.index("</tr>")]  # nothing sent: no rate
        assert "no winner yet: under 30 sent for A, B" in section

    def test_the_page_costs_the_same_queries_with_more_variants(self, client, manager):
        template = template_make("Nurture", steps=[EMAIL, dict(EMAIL, delay_minutes=None, delay_business_days=1)])
        variants_make(template.steps.get(position=0), "A", "B")
        client.force_login(manager)
        with CaptureQueriesContext(connection) as few:
            client.get("/sequences/")
        variants_make(template.steps.get(position=1), "C", "D", "E")
        outcomes_make(template, StepVariant.objects.get(label="C"), sent=3, replies=1)
        with CaptureQueriesContext(connection) as many:
            client.get("/sequences/")
        assert len(many) == len(few)


@pytest.mark.django_db
class TestVariantErrors:
    def test_each_bad_field_is_named(self):
        template = template_make("A/B", steps=[EMAIL, {"channel": "call", "delay_business_days": 1}])
        email, call = template.steps.get(position=0), template.steps.get(position=1)
        with pytest.raises(ValidationError) as bad:
            StepVariant(step=email, label=" ", subject="", body="{nope}").full_clean()
        assert set(bad.value.message_dict) == {"label", "subject", "body"}
        assert "Unknown variable {nope}" in bad.value.message_dict["body"][0]
        with pytest.raises(ValidationError) as bad:
            StepVariant(step=call, label="A", subject="A subject", body="").full_clean()
        assert bad.value.message_dict == {"subject": ["Only email variants have a subject."],
                                          "body": ["Give the variant its script."]}
        StepVariant(step=call, label="A", body="Ask about {company}").full_clean()
