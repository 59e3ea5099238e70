"""A logged touch stays on the lead page: its channel, outcome, notes in full, who and when, in the timeline."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import Touch
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import touch_log
from tests.desk_fixtures import hot_lead, rep_make, team_make
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ann():
    return rep_make("ann", team_make())


def owned_lead(rep):
    lead = hot_lead()
    lead_route(lead.pk)
    lead_claim(lead.pk, user=rep)
    return lead


def timeline_of(body: str) -> str:
    start = body.index('<ol class="timeline">')
    return body[start:body.index("</ol>", start)]


def test_a_logged_calls_outcome_notes_and_rep_are_in_the_timeline(ann):
    lead = owned_lead(ann)
    notes = "Wants a demo Thursday; 40 reps. " + "Budget is approved for Q3. " * 30  # beyond the entry's 500 characters
    touch_log(lead.pk, rep=ann, channel="call", outcome="connected", notes=notes)
    timeline = timeline_of(signed_in(ann).get(f"/leads/{lead.pk}/").content.decode())
    assert "Connected" in timeline and ">Call<" in timeline and "<b>Ann</b>" in timeline
    assert notes.strip()[-40:] in timeline  # the whole note, from the touch row
    touch = Touch.objects.get(lead=lead)
    assert f'datetime="{touch.occurred_at.isoformat()}"'[:30] in timeline


def test_notes_are_text_not_markup(ann):
    lead = owned_lead(ann)
    touch_log(lead.pk, rep=ann, channel="email", notes="<script>alert(1)</script>\nline two")
    timeline = timeline_of(signed_in(ann).get(f"/leads/{lead.pk}/").content.decode())
    assert "<script>alert(1)</script>" not in timeline
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>line two" in timeline


def test_a_teammate_reads_the_touches_too_and_someone_without_a_role_does_not(ann):
    lead = owned_lead(ann)
    touch_log(lead.pk, rep=ann, channel="call", outcome="voicemail", notes="Left a voicemail.")
    bob = rep_make("bob", ann.rep.team)
    assert "Left a voicemail." in signed_in(bob).get(f"/leads/{lead.pk}/").content.decode()
    assert signed_in(UserFactory(username="nobody")).get(f"/leads/{lead.pk}/").status_code == 403


def test_the_lead_page_takes_the_same_queries_for_one_touch_or_ten(ann):
    lead = owned_lead(ann)
    client = signed_in(ann)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/leads/{lead.pk}/").status_code == 200
        return len(captured)

    touch_log(lead.pk, rep=ann, channel="call", outcome="no_answer", notes="first")
    one = queries()
    for n in range(9):
        touch_log(lead.pk, rep=ann, channel="email", notes=f"follow-up {n}")
    assert queries() == one
