"""An event becomes deliveries: one per subscribed active endpoint, in the change's own transaction."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inbound.models import Lead, TimelineEntry
from inbound.timeline import timeline_entry, timeline_record, timeline_record_many, timeline_recorded
from sdr_desk.dispositions.services import disposition_change, disposition_reopen, lead_disposition
from sdr_desk.webhooks.events import webhook_events
from sdr_desk.webhooks.models import Delivery, DeliveryStatus, Endpoint
from sdr_desk.webhooks.services import deliveries_record
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

URL = "https://crm.example.com/hooks/desk"


def endpoint(name: str, events: list[str], **fields) -> Endpoint:
    return Endpoint.objects.create(name=name, url=URL, events=events, **fields)


class TestTheTimelineSignal:
    def test_one_entry_is_sent_saved(self):
        heard: list[list[TimelineEntry]] = []

        def hear(*, entries, **kwargs):
            heard.append(entries)

        timeline_recorded.connect(hear)
        try:
            entry = timeline_record(lead=LeadFactory(), kind="note", summary="Hello")
        finally:
            timeline_recorded.disconnect(hear)
        assert heard == [[entry]] and entry.pk is not None

    def test_a_bulk_write_is_sent_once_with_every_id_postgresql_returned(self):
        heard: list[list[TimelineEntry]] = []

        def hear(*, entries, **kwargs):
            heard.append(entries)

        lead = LeadFactory()
        timeline_recorded.connect(hear)
        try:
            timeline_record_many([timeline_entry(lead=lead, kind="note", summary=str(i)) for i in range(3)])
            timeline_record_many([])
        finally:
            timeline_recorded.disconnect(hear)
        assert len(heard) == 1 and len(heard[0]) == 3
        assert {e.pk for e in heard[0]} == set(TimelineEntry.objects.filter(lead=lead).values_list("pk", flat=True))


class TestEventKinds:
    def test_dispositions_and_the_handoffs_kinds_are_offered(self):
        assert {"disposition", "handoff", "handoff_verdict", "meeting"} <= set(webhook_events())

    def test_an_app_adds_its_own_through_its_app_config(self):
        from django.apps import apps

        config = apps.get_app_config("scoring")
        config.webhook_events = {"score": "A lead rescored"}
        try:
            assert webhook_events()["score"] == "A lead rescored"
        finally:
            del config.webhook_events
        assert "score" not in webhook_events()


class TestADisposition:
    def test_makes_one_delivery_per_subscribed_active_endpoint(self, desk):
        crm = endpoint("CRM", ["disposition"])
        warehouse = endpoint("Warehouse", ["disposition", "handoff"])
        endpoint("Handoffs only", ["handoff", "meeting"])
        endpoint("Switched off", ["disposition"], is_active=False)
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="bad-fit", reason="Too small")
        entry = TimelineEntry.objects.get(lead=desk["lead"], kind="disposition")
        deliveries = Delivery.objects.order_by("endpoint__name")
        assert [d.endpoint for d in deliveries] == [crm, warehouse]
        assert {d.event_id for d in deliveries} == {f"tl-{entry.pk}"}
        assert all(d.status == DeliveryStatus.PENDING and d.attempts == 0 for d in deliveries)

    def test_the_payload_is_what_the_timeline_says_about_whom(self, desk):
        endpoint("CRM", ["disposition"])
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="bad-fit", reason="Too small", note="8 people")
        entry = TimelineEntry.objects.get(lead=desk["lead"], kind="disposition")
        payload = Delivery.objects.get().payload
        assert payload == {
            "id": f"tl-{entry.pk}",
            "type": "disposition",
            "occurred_at": entry.occurred_at.isoformat(),
            "lead": {"id": desk["lead"].pk, "email": "ada@analytical.io", "url": f"/api/v1/leads/{desk['lead'].pk}/",
                     "page": f"/leads/{desk['lead'].pk}/"},
            "summary": "Disposition: Bad fit (Too small)",
            "data": entry.data,
        }
        assert payload["data"]["code"] == "bad-fit" and payload["data"]["note"] == "8 people"
        assert "secret" not in str(payload)

    def test_the_leads_url_is_absolute_when_the_desk_knows_its_address(self, desk, settings):
        settings.DESK_BASE_URL = "https://desk.example.com/"
        endpoint("CRM", ["disposition"])
        lead_disposition(desk["lead"].pk, user=desk["ann"], code="duplicate")
        lead = Delivery.objects.get().payload["lead"]
        assert lead["url"] == f"https://desk.example.com/api/v1/leads/{desk['lead'].pk}/"
        assert lead["page"] == f"https://desk.example.com/leads/{desk['lead'].pk}/"

    def test_a_change_and_a_reopen_are_events_of_their_own(self, desk):
        endpoint("CRM", ["disposition"])
        first = lead_disposition(desk["lead"].pk, user=desk["ann"], code="bad-fit", reason="Too small")
        second = disposition_change(first.pk, user=desk["boss"], code="no-response", why="They never answered")
        disposition_reopen(second.pk, user=desk["boss"], why="They wrote back")
        assert Delivery.objects.count() == 3 and Delivery.objects.values("event_id").distinct().count() == 3
        assert [d.payload["summary"].split(":")[0] for d in Delivery.objects.order_by("id")] == [
            "Disposition", "Disposition changed", "Disposition reopened"]

    def test_a_rolled_back_disposition_sends_nothing(self, desk):
        endpoint("CRM", ["disposition"])
        with pytest.raises(RuntimeError), transaction.atomic():
            lead_disposition(desk["lead"].pk, user=desk["ann"], code="duplicate")
            assert Delivery.objects.count() == 1  # recorded inside the change's transaction ...
            raise RuntimeError("the request failed after the service")
        assert not Delivery.objects.exists()  # ... and gone with it

    def test_other_timeline_kinds_make_no_delivery_and_cost_no_query(self, desk):
        endpoint("CRM", ["disposition", "handoff", "handoff_verdict", "meeting"])
        entry = timeline_entry(lead=desk["lead"], kind="touch", summary="Called")
        entry.save()
        with CaptureQueriesContext(connection) as queries:
            assert deliveries_record(entries=[entry]) == 0
        assert len(queries) == 0 and not Delivery.objects.exists()

    def test_subscribers_add_two_statements_to_a_disposition_however_many_there_are(self, desk):
        other = LeadFactory()
        from sdr_desk.routing.engine import lead_route
        from sdr_desk.routing.ownership import lead_claim

        lead_route(other.pk)
        lead_claim(other.pk, user=desk["ann"])
        with CaptureQueriesContext(connection) as without:
            lead_disposition(other.pk, user=desk["ann"], code="duplicate")
        for name in ("A", "B", "C"):
            endpoint(name, ["disposition"])
        with CaptureQueriesContext(connection) as with_three:
            lead_disposition(desk["lead"].pk, user=desk["ann"], code="duplicate")
        assert len(with_three) == len(without) + 2, [q["sql"] for q in with_three]
        assert Delivery.objects.count() == 3

    def test_a_second_signal_for_the_same_entry_makes_no_second_delivery(self, desk):
        endpoint("CRM", ["disposition"])
        entry = timeline_record(lead=Lead(pk=desk["lead"].pk), kind="disposition", summary="Disposition: Duplicate")
        assert Delivery.objects.count() == 1
        deliveries_record(entries=[entry])
        assert Delivery.objects.count() == 1
