"""POST /api/v1/events/: behaviour in, attached to its lead now or when the visitor converts."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from inbound.models import Activity, Lead, Submission, TimelineEntry

pytestmark = pytest.mark.django_db

URL = "/api/v1/events/"


def send(client, body, url=URL):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_an_event_for_a_known_email_is_attached(keyed):
    send(keyed, {"email": "ada@corp.io"}, url="/api/v1/leads/")
    response = send(keyed, {"type": "pricing_page_view", "email": "ADA@corp.io", "url": "https://x.io/pricing",
                            "title": "Pricing"})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "attached"
    lead = Lead.objects.get()
    assert body["lead_id"] == lead.pk
    activity = Activity.objects.get(type="pricing_page_view")
    assert activity.lead == lead
    assert TimelineEntry.objects.filter(lead=lead, kind="activity", summary__contains="Pricing").exists()
    assert Submission.objects.filter(kind="event", lead=lead).count() == 1


def test_events_of_an_unknown_visitor_wait_and_attach_when_the_visitor_converts(keyed):
    earlier = timezone.now() - timedelta(hours=2)
    first = send(keyed, {"type": "page_view", "visitor_id": "v-9", "url": "https://x.io/",
                         "occurred_at": earlier.isoformat()})
    send(keyed, {"type": "content_download", "visitor_id": "v-9", "name": "RevOps guide"})
    assert first.json()["status"] == "pending"
    assert first.json()["lead_id"] is None
    assert Activity.objects.filter(lead__isnull=True).count() == 2

    send(keyed, {"email": "new@corp.io", "visitor_id": "v-9", "form_type": "demo_request"}, url="/api/v1/leads/")
    lead = Lead.objects.get()
    assert Activity.objects.filter(lead=lead).count() == 3
    assert Activity.objects.filter(lead__isnull=True).count() == 0
    pre = lead.timeline.filter(kind="activity")
    assert pre.count() == 2
    assert pre.order_by("occurred_at").first().occurred_at == earlier

    later = send(keyed, {"type": "page_view", "visitor_id": "v-9", "url": "https://x.io/blog"})
    assert later.json()["status"] == "attached"
    assert later.json()["lead_id"] == lead.pk


def test_events_of_an_unknown_email_attach_when_that_email_converts(keyed):
    send(keyed, {"type": "webinar_attended", "email": "later@corp.io", "name": "Speed to lead"})
    send(keyed, {"email": "later@corp.io"}, url="/api/v1/leads/")
    lead = Lead.objects.get()
    assert lead.activities.filter(type="webinar_attended").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "page_view", "url": "https://x.io"}, "email"),
        ({"type": "teleport", "email": "a@b.io"}, "type"),
        ({"email": "a@b.io"}, "type"),
        ({"type": "page_view", "email": "a@b.io"}, "url"),
        ({"type": "trial_milestone", "email": "a@b.io"}, "name"),
        ({"type": "page_view", "email": "not-an-email", "url": "u"}, "email"),
        ({"type": "page_view", "email": "a@b.io", "url": "u", "occurred_at": "last tuesday"}, "occurred_at"),
        ({"type": "page_view", "email": "a@b.io", "url": "u", "color": "red"}, "color"),
    ],
)
def test_bad_events_get_field_errors_and_store_nothing(keyed, body, field):
    response = send(keyed, body)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Submission.objects.count() == 0
    assert Activity.objects.count() == 0


def test_an_event_in_the_future_is_refused(keyed):
    future = (timezone.now() + timedelta(days=1)).isoformat()
    response = send(keyed, {"type": "page_view", "email": "a@b.io", "url": "u", "occurred_at": future})
    assert response.status_code == 400
    assert "future" in json.dumps(response.json())


def test_events_need_a_key(client, as_user, sdr):
    body = {"type": "page_view", "email": "a@b.io", "url": "u"}
    assert send(client, body).status_code in (401, 403)
    assert send(as_user(sdr), body).status_code == 403
    assert Submission.objects.count() == 0


def test_events_waiting_by_visitor_and_by_email_attach_together_in_time_order(keyed):
    now = timezone.now()
    send(keyed, {"type": "page_view", "visitor_id": "v-both", "url": "https://x.io/a",
                 "occurred_at": (now - timedelta(hours=3)).isoformat()})
    send(keyed, {"type": "webinar_attended", "email": "both@corp.io", "name": "Speed to lead",
                 "occurred_at": (now - timedelta(hours=1)).isoformat()})
    send(keyed, {"type": "page_view", "visitor_id": "someone-else", "url": "https://x.io/b"})

    response = send(keyed, {"email": "both@corp.io", "visitor_id": "v-both"}, url="/api/v1/leads/")
    assert response.status_code == 201
    lead = Lead.objects.get()
    assert Activity.objects.filter(lead=lead).count() == 3
    waiting = Activity.objects.get(lead__isnull=True)
    assert waiting.pending_visitor_id == "someone-else"
    attached = lead.activities.exclude(type="form_submit")
    assert {(a.pending_visitor_id, a.pending_email) for a in attached} == {("", "")}
    entries = list(lead.timeline.filter(kind="activity").order_by("occurred_at"))
    assert [e.data["activity"] for e in entries] == [a.pk for a in attached.order_by("occurred_at")]
    assert "(before identification)" in entries[0].summary


def test_a_repeat_attaches_what_its_visitor_did_before_the_link(keyed):
    send(keyed, {"email": "rep@corp.io"}, url="/api/v1/leads/")
    send(keyed, {"type": "pricing_page_view", "visitor_id": "v-rep", "url": "https://x.io/pricing"})
    assert Activity.objects.filter(lead__isnull=True).count() == 1
    assert send(keyed, {"email": "rep@corp.io", "visitor_id": "v-rep"}, url="/api/v1/leads/").status_code == 200
    assert Activity.objects.filter(lead__isnull=True).count() == 0
    assert Lead.objects.get().timeline.filter(kind="activity").count() == 1
