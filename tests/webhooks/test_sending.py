"""Sending to a real local receiver: signed, retried with backoff, dead after the last attempt, once under races."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from inbound.models import Lead, TimelineEntry
from sdr_desk.dispositions.models import Disposition
from sdr_desk.dispositions.services import lead_disposition
from sdr_desk.webhooks.models import Delivery, DeliveryStatus
from sdr_desk.webhooks.sending import backoff_delay, body_of, deliveries_claim, deliveries_sweep, delivery_record
from sdr_desk.webhooks.services import deliveries_replay
from sdr_desk.webhooks.signing import signature_verify
from tests.factories import LeadFactory


def disposition(desk, code: str = "bad-fit", reason: str = "Too small") -> Delivery:
    lead_disposition(desk["lead"].pk, user=desk["ann"], code=code, reason=reason)
    return Delivery.objects.get()


@pytest.mark.django_db
class TestDelivering:
    def test_the_receiver_gets_the_event_signed_with_its_headers(self, desk, receiver):
        receiver.endpoint()
        delivery = disposition(desk)
        assert deliveries_sweep() == {"dead": 0, "delivered": 1}
        [got] = receiver.received
        assert got.signed
        assert got.headers["X-Desk-Event-Id"] == delivery.event_id and got.headers["X-Desk-Event"] == "disposition"
        assert got.headers["Content-Type"] == "application/json"
        assert got.headers["User-Agent"].startswith("sdr-desk-webhooks/")
        assert json.loads(got.body) == delivery.payload and got.body == body_of(delivery.payload)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 1, 200)
        assert delivery.delivered_at is not None and delivery.leased_until is None

    def test_the_signature_is_of_this_body_with_this_secret_and_recent(self, desk, receiver):
        receiver.endpoint()
        disposition(desk)
        deliveries_sweep()
        [got] = receiver.received
        header = got.headers["X-Desk-Signature"]
        t = int(header.split(",")[0].removeprefix("t="))
        assert abs(time.time() - t) < 10
        assert not signature_verify("another-secret", got.body, header)
        assert not signature_verify(receiver.secret, got.body.replace(b"Too small", b"Too big"), header)
        assert not signature_verify(receiver.secret, got.body, header, now=t + 301)  # outside the tolerance
        assert signature_verify(receiver.secret, got.body, header, now=t + 299)

    def test_a_sweep_run_twice_delivers_once(self, desk, receiver):
        receiver.endpoint()
        disposition(desk)
        deliveries_sweep()
        assert deliveries_sweep() == {"dead": 0}
        assert len(receiver.received) == 1

    def test_an_inactive_endpoints_deliveries_wait_and_go_when_it_is_back(self, desk, receiver):
        endpoint = receiver.endpoint()
        disposition(desk)
        endpoint.is_active = False
        endpoint.save()
        deliveries_sweep()
        assert receiver.received == []
        endpoint.is_active = True
        endpoint.save()
        deliveries_sweep()
        assert len(receiver.received) == 1

    def test_a_redirect_is_not_followed_and_counts_as_a_failure(self, desk, receiver):
        receiver.status = 302
        receiver.endpoint()
        delivery = disposition(desk)
        deliveries_sweep()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.last_status_code) == (DeliveryStatus.FAILED, 302)


@pytest.mark.django_db
class TestRetrying:
    def test_a_500_is_retried_after_1_then_2_minutes_and_then_delivered(self, desk, receiver):
        receiver.status = 500
        receiver.endpoint()
        delivery = disposition(desk)
        t0 = timezone.now()
        assert deliveries_sweep(now=t0) == {"dead": 0, "failed": 1}
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.FAILED, 1, 500)
        assert "HTTP 500" in delivery.last_error
        assert timedelta(seconds=60) <= delivery.next_attempt_at - t0 <= timedelta(seconds=72)

        assert deliveries_sweep(now=t0 + timedelta(seconds=30)) == {"dead": 0}  # not due yet
        t1 = delivery.next_attempt_at
        deliveries_sweep(now=t1)
        delivery.refresh_from_db()
        assert delivery.attempts == 2 and timedelta(seconds=120) <= delivery.next_attempt_at - t1 <= timedelta(seconds=144)

        receiver.status = 200
        deliveries_sweep(now=delivery.next_attempt_at)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.DELIVERED, 3, "")
        assert len(receiver.received) == 3 and len(set(receiver.event_ids)) == 1
        assert len({r.body for r in receiver.received}) == 1  # the same body every time
        assert [r.headers["X-Desk-Attempt"] for r in receiver.received] == ["1", "2", "3"]

    def test_a_receiver_slower_than_the_timeout_is_a_failure_to_retry(self, desk, receiver):
        receiver.delay = 2.5
        receiver.endpoint(timeout_seconds=1)
        delivery = disposition(desk)
        started = time.monotonic()
        assert deliveries_sweep() == {"dead": 0, "failed": 1}
        assert time.monotonic() - started < 2.2  # gave up at the timeout, did not wait for the answer
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED and delivery.last_status_code is None
        assert delivery.last_error == "timed out after 1 s"

    def test_a_refused_connection_is_a_failure_to_retry(self, desk, dead_url):
        from sdr_desk.webhooks.models import Endpoint

        Endpoint.objects.create(name="Down", url=dead_url, events=["disposition"])
        delivery = disposition(desk)
        deliveries_sweep()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED and "refused" in delivery.last_error.lower()

    def test_it_is_dead_after_the_last_attempt(self, desk, receiver, settings):
        settings.WEBHOOKS_MAX_ATTEMPTS = 3
        receiver.status = 503
        receiver.endpoint()
        delivery = disposition(desk)
        now = timezone.now()
        for _ in range(3):
            deliveries_sweep(now=now)
            delivery.refresh_from_db()
            now = delivery.next_attempt_at
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 3)
        deliveries_sweep(now=now + timedelta(days=1))
        assert len(receiver.received) == 3

    def test_the_backoff_doubles_up_to_its_cap_with_jitter(self):
        import random

        rng = random.Random(10)
        delays = [backoff_delay(n, rng=rng).total_seconds() for n in range(1, 13)]
        for n, delay in enumerate(delays, start=1):
            expected = min(6 * 3600, 60 * 2 ** (n - 1))
            assert expected <= delay <= expected * 1.2
        assert len({round(d) for d in delays[9:]}) > 1  # capped, but still spread

    def test_a_killed_workers_lease_runs_out_and_the_delivery_is_tried_again(self, desk, receiver):
        receiver.endpoint(timeout_seconds=5)
        delivery = disposition(desk)
        now = timezone.now()
        [claimed] = deliveries_claim(now=now)  # ... and the worker dies before posting
        assert deliveries_sweep(now=now + timedelta(seconds=10)) == {"dead": 0}  # the lease still holds
        assert deliveries_sweep(now=claimed.lease + timedelta(seconds=1)) == {"dead": 0, "delivered": 1}
        delivery.refresh_from_db()
        assert delivery.attempts == 2 and len(receiver.received) == 1

    def test_a_lost_last_attempt_makes_the_delivery_dead(self, desk, receiver, settings):
        settings.WEBHOOKS_MAX_ATTEMPTS = 1
        receiver.endpoint()
        delivery = disposition(desk)
        [claimed] = deliveries_claim(now=timezone.now())
        assert deliveries_sweep(now=claimed.lease + timedelta(seconds=1))["dead"] == 1
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DEAD and "never reported" in delivery.last_error
        assert receiver.received == []


@pytest.mark.django_db
class TestReplaying:
    def test_a_replay_sends_the_same_event_id_and_body_again(self, desk, receiver):
        receiver.endpoint()
        delivery = disposition(desk)
        deliveries_sweep()
        assert deliveries_replay([delivery.pk]) == 1
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.delivered_at) == (DeliveryStatus.PENDING, 0, None)
        deliveries_sweep()
        first, again = receiver.received
        assert first.event_id == again.event_id == delivery.event_id and first.body == again.body
        assert again.signed
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)

    def test_a_dead_delivery_replayed_is_tried_afresh(self, desk, receiver, settings):
        settings.WEBHOOKS_MAX_ATTEMPTS = 1
        receiver.status = 500
        receiver.endpoint()
        delivery = disposition(desk)
        deliveries_sweep()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DEAD
        receiver.status = 204
        deliveries_replay([delivery.pk])
        deliveries_sweep()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED and len(receiver.received) == 2

    def test_an_attempt_in_flight_when_replayed_does_not_overwrite_the_replay(self, desk, receiver):
        from sdr_desk.webhooks.sending import Outcome

        receiver.endpoint()
        delivery = disposition(desk)
        [in_flight] = deliveries_claim(now=timezone.now())
        deliveries_replay([delivery.pk])
        assert delivery_record(in_flight, Outcome(200, ""), now=timezone.now()) == "superseded"
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)


@pytest.mark.django_db(transaction=True)
class TestRaces:
    def test_two_sweeps_at_once_deliver_each_event_once(self, receiver):
        receiver.delay = 0.05
        endpoint = receiver.endpoint()
        leads = [LeadFactory() for _ in range(30)]
        now = timezone.now()
        entries = TimelineEntry.objects.bulk_create(
            [TimelineEntry(lead=lead, kind="note", summary="x", occurred_at=now) for lead in leads])
        Delivery.objects.bulk_create([
            Delivery(endpoint=endpoint, event_id=f"tl-{e.pk}", kind="disposition", payload={"id": f"tl-{e.pk}"})
            for e in entries])
        barrier = threading.Barrier(2)
        results: list[dict] = []

        def sweep() -> None:
            try:
                barrier.wait()
                results.append(deliveries_sweep())
            finally:
                connections.close_all()

        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(receiver.event_ids) == sorted(f"tl-{e.pk}" for e in entries)  # each once
        assert sum(r.get("delivered", 0) for r in results) == 30
        assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED, attempts=1).count() == 30


@pytest.mark.django_db(transaction=True)
class TestTheRepsRequest:
    """No HTTP inside the rep's request: a dead or slow receiver never fails or delays a disposition."""

    def test_a_dead_receiver_does_not_fail_the_disposition(self, desk, client, dead_url):
        from sdr_desk.webhooks.models import Endpoint

        Endpoint.objects.create(name="Down", url=dead_url, events=["disposition"])
        client.force_login(desk["ann"])
        response = client.post(reverse("lead-disposition", args=[desk["lead"].pk]), {"code": "no-response"})
        assert response.status_code == 302
        assert Disposition.objects.filter(lead=desk["lead"]).exists()
        delivery = Delivery.objects.get()
        # The attempt after commit ran (Q is synchronous in the tests) and failed quietly; the sweep retries.
        assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
        assert Lead.objects.get(pk=desk["lead"].pk).status == "closed"

    def test_a_slow_receiver_does_not_delay_it_with_a_real_queue(self, desk, client, receiver, monkeypatch):
        from django_q.conf import Conf
        from django_q.models import OrmQ

        monkeypatch.setattr(Conf, "SYNC", False)  # as in production: the attempt is queued, a worker sends it
        receiver.delay = 3
        receiver.endpoint(timeout_seconds=5)
        client.force_login(desk["ann"])
        started = time.monotonic()
        response = client.post(reverse("lead-disposition", args=[desk["lead"].pk]), {"code": "no-response"})
        assert response.status_code == 302 and time.monotonic() - started < 1.5
        assert receiver.received == [] and OrmQ.objects.count() == 1  # queued, for after the response
        assert Delivery.objects.get().status == DeliveryStatus.PENDING


@pytest.mark.django_db
class TestTheSchedule:
    def test_the_sweep_is_scheduled_every_minute(self):
        from django_q.models import Schedule

        schedule = Schedule.objects.get(name="Webhook deliveries")
        assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
            "sdr_desk.webhooks.tasks.deliveries_sweep", "I", 1)

    def test_the_tasks_send(self, desk, receiver):
        from sdr_desk.webhooks import tasks

        receiver.endpoint()
        delivery = disposition(desk)
        assert tasks.deliveries_send([delivery.event_id]) == {"delivered": 1}
        assert tasks.deliveries_sweep() == {"dead": 0}
        assert len(receiver.received) == 1
