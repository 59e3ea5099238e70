"""The first-touch label says what is true: a deadline counting down, a missed one (overdue), an escalation
and how long it has waited, a touch after so long (no deadline wording), or no target at all (quietly)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from inbound.models import Lead, LeadStatus
from sdr_desk.board.live import card_render
from sdr_desk.board.templatetags.desk_time import duration, sla_label_of
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import LeadAssignment, LeadState
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import touch_log
from tests.desk_fixtures import cold_lead, hot_lead, rep_make, team_make

pytestmark = pytest.mark.django_db
DEADLINE_WORDS = ("left", "due", "Overdue", "SLA", "First touch after")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ann():
    return rep_make("ann", team_make())


def claimed(rep, lead=None) -> Lead:
    lead = lead or hot_lead()
    lead_route(lead.pk)
    lead_claim(lead.pk, user=rep)
    return lead


def assignment_of(lead: Lead) -> LeadAssignment:
    return LeadAssignment.objects.select_related("lead", "lead__score", "lead__source", "owner", "team").get(lead=lead)


class TestTheWords:
    def test_durations_read_like_people_say_them(self):
        assert [duration(s) for s in (0, 37, 60, 420, 3600, 3900, 86400, 93600, None)] == [
            "0 s", "37 s", "1 min", "7 min", "1 h", "1 h 5 min", "1 d", "1 d 2 h", "0 s"]

    def test_a_deadline_ahead_counts_down_and_a_missed_one_says_overdue(self):
        now = timezone.now()
        ahead = LeadAssignment(state=LeadState.ASSIGNED, sla_due_at=now + timedelta(minutes=4, seconds=59))
        behind = LeadAssignment(state=LeadState.ASSIGNED, sla_due_at=now - timedelta(minutes=12, seconds=5))
        assert (sla_label_of(ahead, now=now).kind, sla_label_of(ahead, now=now).text) == ("due", "4:59 left")
        assert (sla_label_of(behind, now=now).kind, sla_label_of(behind, now=now).text) == ("over", "Overdue by 12 min")

    def test_an_escalated_lead_says_so_and_how_long_it_has_waited(self):
        now = timezone.now()
        escalated = LeadAssignment(state=LeadState.ESCALATED, sla_started_at=now - timedelta(minutes=65),
                                   sla_due_at=now - timedelta(minutes=60))
        label = sla_label_of(escalated, now=now)
        assert (label.kind, label.text, label.alarming) == ("escalated", "Escalated · waiting 1 h 5 min", True)
        # Escalated before the deadline was kept (sla_due_at cleared): still escalated, still waiting.
        assert sla_label_of(LeadAssignment(state=LeadState.ESCALATED, sla_started_at=now - timedelta(minutes=7)),
                            now=now).text == "Escalated · waiting 7 min"

    def test_a_touched_lead_says_how_soon_without_deadline_words(self):
        label = sla_label_of(LeadAssignment(state=LeadState.WORKING, first_touch_at=timezone.now(),
                                            response_seconds=190, sla_due_at=timezone.now()))
        assert (label.kind, label.text, label.alarming) == ("touched", "Touched 3 min after arrival", False)

    def test_no_deadline_is_a_quiet_note(self):
        label = sla_label_of(LeadAssignment(state=LeadState.ASSIGNED))
        assert (label.kind, label.text, label.alarming) == ("none", "No first-touch target", False)
        assert sla_label_of(None) is None


class TestTheCard:
    def test_an_untouched_lead_past_its_deadline_is_overdue_and_red(self, ann):
        lead = claimed(ann)
        LeadAssignment.objects.filter(lead=lead).update(sla_due_at=timezone.now() - timedelta(minutes=12, seconds=30))
        html = card_render(assignment_of(lead), for_owner=True)
        assert "Overdue by 12 min" in html and 'class="lead-card is-hot red' in html
        assert "No SLA" not in html

    def test_a_touched_lead_shows_how_soon_in_a_neutral_style(self, ann):
        lead = claimed(ann)
        touch_log(lead.pk, rep=ann, channel="call", outcome="connected")
        html = card_render(assignment_of(lead), for_owner=True)
        assert "after arrival" in html and 'class="sla sla-touched countdown"' in html
        top = html[html.index('class="lead-card-top"'):html.index("lead-card-name")]
        assert not any(word in top for word in DEADLINE_WORDS)

    def test_a_lead_without_a_deadline_says_so_quietly(self, ann):
        lead = claimed(ann, cold_lead())
        LeadAssignment.objects.filter(lead=lead).update(sla_due_at=None)
        html = card_render(assignment_of(lead), for_owner=True)
        assert 'class="sla sla-none countdown"' in html and "No first-touch target" in html and " red" not in html

    def test_an_escalated_card_says_escalated(self, ann):
        lead = claimed(ann)
        LeadAssignment.objects.filter(lead=lead).update(
            state=LeadState.ESCALATED, owner=None, sla_started_at=timezone.now() - timedelta(minutes=20),
            sla_due_at=timezone.now() - timedelta(minutes=15))
        html = card_render(assignment_of(lead), for_owner=False)
        assert "Escalated · waiting 20 min" in html and 'data-sla="escalated"' in html


class TestTheLeadPage:
    def test_the_status_badge_is_the_leads_status_with_its_name(self, ann):
        lead = claimed(ann)
        client = signed_in(ann)
        assert "Status: New" in client.get(f"/leads/{lead.pk}/").content.decode()
        Lead.objects.filter(pk=lead.pk).update(status=LeadStatus.WORKING)
        assert "Status: Working" in client.get(f"/leads/{lead.pk}/").content.decode()

    def test_the_desk_bar_uses_the_same_words_as_the_card(self, ann):
        lead = claimed(ann)
        LeadAssignment.objects.filter(lead=lead).update(sla_due_at=timezone.now() - timedelta(minutes=3, seconds=30))
        client = signed_in(ann)
        assert "Overdue by 3 min" in client.get(f"/leads/{lead.pk}/").content.decode()
        touch_log(lead.pk, rep=ann, channel="email")
        body = client.get(f"/leads/{lead.pk}/").content.decode()
        assert "after arrival" in body and "Overdue by" not in body and "SLA due" not in body
