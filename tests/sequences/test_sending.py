"""Automatic sequence email against a real SMTP server (aiosmtpd in the test): sent once per step however
often and however concurrently the send runs, with a plain-text body, List-Unsubscribe (RFC 8058 one-click)
and a Message-ID from the outbox; capped per mailbox, waiting visibly; no stale burst after downtime."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.db import connections
from django.test import override_settings
from django.utils import timezone

from inbound.models import TimelineEntry
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.sequences.models import Enrollment, Outbox, StepRun, Unsubscribe
from sdr_desk.sequences.sending import step_send, unsubscribe_token
from sdr_desk.sequences.services import STALE_NOTE, SequenceInvalid, enrollment_start, steps_due_sweep
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.sequences.helpers import template_make

EMAIL_STEP = {"channel": "email", "mode": "automatic", "delay_minutes": 0,
              "subject": "{first_name}, the {asset} you took", "body": "Hi {first_name},\n\nAbout {company}.\n\n{rep_signature}"}
STEPS = [EMAIL_STEP, {"channel": "call", "delay_business_days": 1}]


class Collector:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802  aiosmtpd's hook name
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class EphemeralController(Controller):
    """aiosmtpd on port 0: the port the OS chose is read back before the readiness check connects."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp():
    collector = Collector()
    controller = EphemeralController(collector, hostname="127.0.0.1", port=0)
    controller.start()
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1",
                           EMAIL_PORT=controller.port, EMAIL_USE_TLS=False, EMAIL_USE_SSL=False,
                           EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD="", SEQUENCES_MIN_SPACING_SECONDS=0,
                           SEQUENCES_BASE_URL="https://desk.example"):
        yield collector
    controller.stop()


def desk_make(**lead_fields) -> dict:
    team = team_make("Inbound", visibility="claim")
    ann = rep_make("ann", team, )
    ann.first_name, ann.last_name = "Ann", "Lee"
    ann.save()
    lead = hot_lead(first_name="Kim", company="Acme", **lead_fields)
    lead_route(lead.pk)
    tier = LeadAssignment.objects.get(lead=lead).tier
    template_make("Researchers", team=team, tier=tier, auto_enroll=True, steps=STEPS)
    lead_claim(lead.pk, user=ann)
    return {"team": team, "ann": ann, "lead": lead}


def due_run(lead) -> StepRun:
    steps_due_sweep(now=timezone.now() + timedelta(seconds=1))
    return StepRun.objects.get(enrollment__lead=lead, step__position=0)


@pytest.mark.django_db
class TestOneEmail:
    def test_it_is_sent_in_the_reps_name_with_a_plain_text_body_and_one_click_unsubscribe(self, smtp):
        desk = desk_make()
        run = due_run(desk["lead"])
        assert step_send(run.pk) == "sent"
        assert len(smtp.messages) == 1
        message = smtp.messages[0]
        outbox = Outbox.objects.get()
        assert message["Message-ID"] == f"<sequence-{outbox.pk}@sdr-desk.local>" == outbox.message_id
        assert message["From"].addresses[0].addr_spec == "ann@desk.test"
        assert message["From"].addresses[0].display_name == "Ann Lee"
        assert message["To"] == desk["lead"].email
        assert message["Subject"] == "Kim, the Demo request you took"
        assert message.get_content_type() == "text/plain"
        body = message.get_content().replace("\r\n", "\n")
        assert body.startswith("Hi Kim,\n\nAbout Acme.\n\nAnn Lee\nann@desk.test")
        link = f"https://desk.example/sequences/unsubscribe/{unsubscribe_token(desk['lead'].pk)}/"
        assert message["List-Unsubscribe"].strip() == f"<{link}>"  # a long header is folded on the wire
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert link in body

    def test_the_step_is_done_the_next_scheduled_and_the_timeline_says_so(self, smtp):
        desk = desk_make()
        step_send(due_run(desk["lead"]).pk)
        assert StepRun.objects.get(enrollment__lead=desk["lead"], step__position=0).status == "done"
        assert StepRun.objects.get(enrollment__lead=desk["lead"], step__position=1).status == "pending"
        assert TimelineEntry.objects.filter(lead=desk["lead"], kind="sequence",
                                            summary__startswith="Sequence email sent from ann@desk.test").exists()

    def test_the_task_run_twice_sends_once(self, smtp):
        desk = desk_make()
        run = due_run(desk["lead"])
        assert step_send(run.pk) == "sent"
        assert step_send(run.pk) == "skipped"
        assert len(smtp.messages) == 1

    def test_the_sweep_hands_the_due_email_to_the_queue_and_a_second_sweep_sends_nothing(
            self, smtp, django_capture_on_commit_callbacks):
        desk = desk_make()
        later = timezone.now() + timedelta(seconds=1)
        with django_capture_on_commit_callbacks(execute=True):
            assert steps_due_sweep(now=later)["sends"] == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert steps_due_sweep(now=later)["sends"] == 0
        assert len(smtp.messages) == 1
        assert Outbox.objects.get(enrollment__lead=desk["lead"]).status == "sent"

    def test_a_worker_killed_after_its_claim_leaves_a_step_that_is_never_sent_again(self, smtp):
        desk = desk_make()
        run = due_run(desk["lead"])
        enrollment = Enrollment.objects.get(lead=desk["lead"])
        Outbox.objects.create(enrollment=enrollment, step=run.step, mailbox="ann@desk.test", to=desk["lead"].email,
                              subject="claimed by a worker that died")
        assert step_send(run.pk) == "duplicate"
        assert smtp.messages == []

    def test_an_smtp_failure_is_recorded_and_not_retried_automatically(self, smtp):
        desk = desk_make()
        run = due_run(desk["lead"])
        with override_settings(EMAIL_PORT=1):
            assert step_send(run.pk) == "failed"
        assert Outbox.objects.get().status == "failed"
        run.refresh_from_db()
        assert run.note.startswith("Not sent") and run.status == "due"
        assert steps_due_sweep(now=timezone.now())["sends"] == 0
        assert step_send(run.pk) == "duplicate" and smtp.messages == []


@pytest.mark.django_db
class TestCaps:
    def test_a_capped_step_waits_visibly_and_goes_out_when_the_hour_has_passed(self, smtp):
        desk = desk_make()
        other = hot_lead(first_name="Lou")
        lead_route(other.pk)
        lead_claim(other.pk, user=desk["ann"])
        runs = [due_run(desk["lead"]), due_run(other)]
        now = timezone.now()
        with override_settings(SEQUENCES_MAILBOX_HOURLY_CAP=1):
            assert step_send(runs[0].pk, now=now) == "sent"
            assert step_send(runs[1].pk, now=now) == "capped"
            runs[1].refresh_from_db()
            assert runs[1].status == "due" and runs[1].note == (
                "Waiting: the hourly cap of 1 emails from ann@desk.test is reached")
            assert len(smtp.messages) == 1
            assert step_send(runs[1].pk, now=now + timedelta(minutes=61)) == "sent"
        assert len(smtp.messages) == 2

    def test_the_daily_cap_and_the_spacing_hold_too(self, smtp):
        desk = desk_make()
        other = hot_lead(first_name="Lou")
        lead_route(other.pk)
        lead_claim(other.pk, user=desk["ann"])
        runs = [due_run(desk["lead"]), due_run(other)]
        now = timezone.now()
        with override_settings(SEQUENCES_MAILBOX_DAILY_CAP=1):
            step_send(runs[0].pk, now=now)
            assert step_send(runs[1].pk, now=now + timedelta(hours=2)) == "capped"
            runs[1].refresh_from_db()
            assert "daily cap of 1" in runs[1].note
        with override_settings(SEQUENCES_MIN_SPACING_SECONDS=600):
            assert step_send(runs[1].pk, now=now + timedelta(days=1, seconds=1)) == "sent"
        assert len(smtp.messages) == 2

    def test_the_weekly_cap_holds(self, smtp):
        desk = desk_make()
        other = hot_lead(first_name="Lou")
        lead_route(other.pk)
        lead_claim(other.pk, user=desk["ann"])
        runs = [due_run(desk["lead"]), due_run(other)]
        now = timezone.now()
        with override_settings(SEQUENCES_MAILBOX_WEEKLY_CAP=1):
            step_send(runs[0].pk, now=now)
            assert step_send(runs[1].pk, now=now + timedelta(days=6)) == "capped"
            runs[1].refresh_from_db()
            assert "weekly cap of 1" in runs[1].note
            assert step_send(runs[1].pk, now=now + timedelta(days=7, seconds=1)) == "sent"


@pytest.mark.django_db
class TestDowntime:
    def test_an_email_that_came_due_hours_ago_is_not_sent_in_a_burst_but_left_to_the_rep(self, smtp):
        desk = desk_make()
        after_downtime = timezone.now() + timedelta(hours=3)
        totals = steps_due_sweep(now=after_downtime)
        assert totals["due"] == 1 and totals["sends"] == 0
        run = StepRun.objects.get(enrollment__lead=desk["lead"], step__position=0)
        assert run.status == "due" and run.note == STALE_NOTE
        assignment = LeadAssignment.objects.get(lead=desk["lead"])
        assert assignment.next_step_at == run.due_at  # on the rep's Due today, as overdue
        assert smtp.messages == []


@pytest.mark.django_db
class TestUnsubscribe:
    def test_a_get_shows_a_confirm_page_and_unsubscribes_nobody(self, client, smtp):
        desk = desk_make()
        response = client.get(f"/sequences/unsubscribe/{unsubscribe_token(desk['lead'].pk)}/")
        assert response.status_code == 200 and b'<form method="post">' in response.content
        assert not Unsubscribe.objects.exists()
        assert Enrollment.objects.get(lead=desk["lead"]).status == "active"

    def test_the_one_click_post_unsubscribes_and_stops_the_sequence(self, client, smtp):
        desk = desk_make()
        response = client.post(f"/sequences/unsubscribe/{unsubscribe_token(desk['lead'].pk)}/",
                               {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200 and b"You are unsubscribed" in response.content
        assert Unsubscribe.objects.filter(email=desk["lead"].email).exists()
        enrollment = Enrollment.objects.get(lead=desk["lead"])
        assert enrollment.status == "stopped" and enrollment.stop_reason == "unsubscribed"
        assert step_send(StepRun.objects.get(enrollment=enrollment, step__position=0).pk) == "skipped"
        assert smtp.messages == []

    def test_a_tampered_token_is_a_404_and_changes_nothing(self, client, smtp):
        desk = desk_make()
        token = unsubscribe_token(desk["lead"].pk)
        response = client.post(f"/sequences/unsubscribe/{re.sub('.$', 'x', token)}/")
        assert response.status_code == 404 and not Unsubscribe.objects.exists()

    def test_an_unsubscribed_lead_cannot_be_enrolled_again(self, client, smtp):
        desk = desk_make()
        client.post(f"/sequences/unsubscribe/{unsubscribe_token(desk['lead'].pk)}/")
        with pytest.raises(SequenceInvalid) as refused:
            enrollment_start(desk["lead"].pk, template_make("Again"), by=desk["ann"])
        assert "unsubscribed" in refused.value.errors["lead"][0]


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_step_at_once_send_one_message(smtp):
    desk = desk_make()
    # Due as the sweep leaves it, but not handed to a worker (here the queue would run it after commit at once).
    run = StepRun.objects.get(enrollment__lead=desk["lead"], step__position=0)
    StepRun.objects.filter(pk=run.pk).update(status="due")
    barrier = threading.Barrier(2)
    results: list[str] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(step_send(run.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) in (["duplicate", "sent"], ["sent", "skipped"]), results
    assert len(smtp.messages) == 1
    assert Outbox.objects.filter(status="sent").count() == 1
