"""Sequences offered to outbound webhooks (the timeline kind ``sequence``), and the managers' nav link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import touch_log
from sdr_desk.sequences.models import StepRun
from sdr_desk.sequences.sending import step_send
from sdr_desk.sequences.services import enrollment_start, steps_due_sweep
from sdr_desk.webhooks.events import webhook_events
from sdr_desk.webhooks.models import Delivery, Endpoint
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.sequences.helpers import template_make

pytestmark = pytest.mark.django_db

STEPS = [{"channel": "email", "mode": "automatic", "delay_minutes": 0, "subject": "Hi", "body": "{rep_signature}"},
         {"channel": "call", "delay_business_days": 0}]


def test_sequence_is_a_webhook_event_kind():
    assert "sequence" in webhook_events()


def test_an_endpoint_subscribed_gets_started_email_sent_step_done_and_completed(mailoutbox):
    Endpoint.objects.create(name="CRM", url="https://crm.example/hook", events=["sequence"])
    ann = rep_make("ann", team_make("Inbound", visibility="claim"))
    lead = hot_lead()
    lead_route(lead.pk)
    lead_claim(lead.pk, user=ann)
    enrollment_start(lead.pk, template_make("Mail then call", steps=STEPS), by=ann)
    steps_due_sweep(now=timezone.now() + timedelta(seconds=1))
    with override_settings(SEQUENCES_MIN_SPACING_SECONDS=0):
        assert step_send(StepRun.objects.get(step__position=0).pk) == "sent"
    touch_log(lead.pk, rep=ann, channel="call", outcome="no_answer")
    changes = [d.payload["data"]["change"] for d in Delivery.objects.filter(kind="sequence").order_by("id")]
    assert changes == ["started", "email_sent", "step_done", "completed"]
    assert all(d.payload["lead"]["id"] == lead.pk for d in Delivery.objects.all())


def test_a_stop_is_delivered_with_its_reason():
    Endpoint.objects.create(name="CRM", url="https://crm.example/hook", events=["sequence"])
    ann = rep_make("ann", team_make("Inbound", visibility="claim"))
    lead = hot_lead()
    lead_route(lead.pk)
    lead_claim(lead.pk, user=ann)
    enrollment_start(lead.pk, template_make("Calls", steps=[STEPS[1], STEPS[1]]), by=ann)
    touch_log(lead.pk, rep=ann, channel="call", outcome="connected")
    stopped = Delivery.objects.get(kind="sequence", payload__data__change="stopped")
    assert stopped.payload["data"]["reason"] == "connected call"


def test_an_endpoint_not_subscribed_gets_nothing():
    Endpoint.objects.create(name="CRM", url="https://crm.example/hook", events=["disposition"])
    ann = rep_make("ann", team_make("Inbound", visibility="claim"))
    lead = hot_lead()
    lead_route(lead.pk)
    lead_claim(lead.pk, user=ann)
    enrollment_start(lead.pk, template_make("Calls", steps=[STEPS[1]]), by=ann)
    assert not Delivery.objects.filter(kind="sequence").exists()


def test_the_nav_links_to_sequences_for_managers_only(client, manager, sdr, marketing):
    for user, shown in ((manager, True), (sdr, False), (marketing, False)):
        client.force_login(user)
        page = client.get("/leads/" if user is not marketing else "/api/docs/")
        assert ('href="/sequences/"' in page.content.decode()) is shown, user
