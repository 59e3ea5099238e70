"""The lead page's sequence panel and its enrol form, the manager's list of sequences, the default sequences."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import touch_log
from sdr_desk.sequences.defaults import DEFAULTS, templates_ensure
from sdr_desk.sequences.models import Enrollment, SequenceTemplate
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.sequences.helpers import template_make

pytestmark = pytest.mark.django_db

STEPS = [{"channel": "call", "delay_minutes": 0}, {"channel": "sms", "delay_business_days": 1}]


@pytest.fixture
def desk(manager):
    team = team_make("Inbound", visibility="claim", manager=manager)
    ann, bob = rep_make("ann", team), rep_make("bob", team)
    lead = hot_lead()
    lead_route(lead.pk)
    lead_claim(lead.pk, user=ann)
    template = template_make("Follow-up", team=team, steps=STEPS)
    return {"team": team, "ann": ann, "bob": bob, "lead": lead, "template": template, "manager": manager}


class TestLeadPanel:
    def test_the_owner_enrols_from_the_lead_page_and_sees_past_and_next_steps(self, desk, client):
        client.force_login(desk["ann"])
        page = client.get(f"/leads/{desk['lead'].pk}/")
        assert b'id="sequence"' in page.content and b"Enrol in" in page.content
        response = client.post(f"/leads/{desk['lead'].pk}/sequence/", {"template": desk["template"].pk})
        assert response.status_code == 302
        assert Enrollment.objects.get(lead=desk["lead"]).template == desk["template"]
        touch_log(desk["lead"].pk, rep=desk["ann"], channel="call", outcome="no_answer")
        page = client.get(f"/leads/{desk['lead'].pk}/").content.decode()
        assert "Follow-up" in page and "Call · Done" in page and "SMS · Scheduled" in page and "Next: SMS" in page
        assert "Enrol in" not in page

    def test_a_refused_enrolment_is_shown_beside_the_form_with_a_400(self, desk, client):
        client.force_login(desk["ann"])
        template_make("Other", team=desk["team"])
        client.post(f"/leads/{desk['lead'].pk}/sequence/", {"template": desk["template"].pk})
        Enrollment.objects.all().update(status="stopped")
        enrollment_again = client.post(f"/leads/{desk['lead'].pk}/sequence/", {"template": "nope"})
        assert enrollment_again.status_code == 400 and b"Choose a sequence." in enrollment_again.content

    def test_a_second_sequence_is_refused_by_field(self, desk, client):
        client.force_login(desk["ann"])
        client.post(f"/leads/{desk['lead'].pk}/sequence/", {"template": desk["template"].pk})
        again = client.post(f"/leads/{desk['lead'].pk}/sequence/", {"template": desk["template"].pk})
        assert again.status_code == 400 and b"already" in again.content
        assert Enrollment.objects.count() == 1

    def test_a_teammate_who_does_not_own_the_lead_may_not_enrol_it(self, desk, client):
        client.force_login(desk["bob"])
        page = client.get(f"/leads/{desk['lead'].pk}/")
        assert b"Enrol in" not in page.content
        response = client.post(f"/leads/{desk['lead'].pk}/sequence/", {"template": desk["template"].pk})
        assert response.status_code == 403 and not Enrollment.objects.exists()

    def test_a_user_without_a_role_may_not_enrol(self, desk, client, outsider):
        client.force_login(outsider)
        response = client.post(f"/leads/{desk['lead'].pk}/sequence/", {"template": desk["template"].pk})
        assert response.status_code == 403 and not Enrollment.objects.exists()

    def test_enrolling_is_post_only(self, desk, client):
        client.force_login(desk["ann"])
        assert client.get(f"/leads/{desk['lead'].pk}/sequence/").status_code == 405


class TestTemplatesPage:
    def test_a_manager_sees_the_sequences_with_their_steps_and_counts(self, desk, client):
        client.force_login(desk["manager"])
        client.post(f"/leads/{desk['lead'].pk}/sequence/", {"template": desk["template"].pk})
        Enrollment.objects.create(lead=desk["lead"], template=desk["template"], status="completed")
        page = client.get("/sequences/")
        assert page.status_code == 200
        text = page.content.decode()
        assert "Follow-up" in text and "1. Call +0 min · 2. SMS +1 d" in text
        row = text[text.index(">Follow-up</a>"):]  # the name links to its edit page
        assert '<td class="num">1</td>' in row[:row.index("</tr>")]  # the ongoing one, not the completed one

    def test_the_page_costs_the_same_queries_for_one_or_many_sequences(self, desk, client):
        client.force_login(desk["manager"])
        with CaptureQueriesContext(connection) as few:
            client.get("/sequences/")
        for n in range(5):
            template_make(f"More {n}", steps=STEPS)
        with CaptureQueriesContext(connection) as many:
            client.get("/sequences/")
        assert len(many) == len(few)

    def test_a_rep_may_not_see_the_managers_page(self, desk, client):
        client.force_login(desk["ann"])
        assert client.get("/sequences/").status_code == 403

    def test_an_anonymous_visitor_is_sent_to_sign_in(self, client):
        assert client.get("/sequences/").status_code == 302


class TestDefaults:
    def test_the_seeds_sequences_exist_call_first_and_email_first_and_enrol_nobody_by_themselves(self):
        SequenceTemplate.objects.filter(name__in=DEFAULTS).delete()
        templates_ensure()
        templates_ensure()  # twice: still one of each
        hand = SequenceTemplate.objects.get(name="Hand-raisers: call first")
        research = SequenceTemplate.objects.get(name="Researchers: email first")
        assert [s.channel for s in hand.steps.all()][:3] == ["call", "voicemail", "email"]
        assert research.steps.first().channel == "email" and research.steps.first().is_automatic
        assert hand.steps.count() >= 6 and research.steps.count() >= 6
        assert not hand.auto_enroll and not research.auto_enroll
