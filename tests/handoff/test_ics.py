"""The meeting invitation: parsed back with icalendar, every field checked, as mailed to the AE and the lead."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.core import mail
from icalendar import Calendar

from sdr_desk.handoff.services import lead_handoff, meeting_outcome
from tests.handoff.fixtures import soon

pytestmark = pytest.mark.django_db


def invitations():
    """(message, parsed calendar, content type) of every mail with an invitation, in order."""
    sent = []
    for message in mail.outbox:
        for name, content, mimetype in message.attachments:
            assert name == "invite.ics"
            sent.append((message, Calendar.from_ical(content), mimetype))
    return sent


def event_of(calendar):
    (event,) = calendar.walk("VEVENT")
    return event


def test_the_invitation_is_a_request_with_every_field(desk, django_capture_on_commit_callbacks):
    at = soon()
    with django_capture_on_commit_callbacks(execute=True):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], note="Bring the pricing deck",
                               meeting_at=at)
    ((message, calendar, mimetype),) = invitations()
    assert sorted(message.to) == sorted([desk["amy"].email, "ada@engines.example"])
    assert mimetype == "text/calendar; method=REQUEST"
    assert str(calendar["method"]) == "REQUEST" and str(calendar["version"]) == "2.0"
    assert "Inbound SDR desk" in str(calendar["prodid"])
    event = event_of(calendar)
    assert str(event["uid"]) == handoff.ics_uid and handoff.ics_uid.endswith("@localhost")
    assert int(event["sequence"]) == 0
    assert event["dtstart"].dt == at.astimezone(UTC) and event["dtstart"].dt.tzinfo is not None
    assert event["dtend"].dt == at.astimezone(UTC) + timedelta(minutes=30)
    assert event["dtstamp"].dt.utcoffset() == timedelta(0)
    assert str(event["summary"]) == "Discovery call: Ada Lovelace (Engines)"
    description = str(event["description"])
    assert "Bring the pricing deck" in description and "Role and authority: Role and authority: answered" in \
        description
    assert str(event["organizer"]) == f"mailto:{desk['ann'].email}"
    attendees = sorted(str(a) for a in event["attendee"])
    assert attendees == sorted([f"mailto:{desk['amy'].email}", "mailto:ada@engines.example"])
    assert str(event["status"]) == "CONFIRMED"


def test_a_reschedule_keeps_the_uid_and_raises_the_sequence(desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], meeting_at=soon())
    later = soon(72)
    with django_capture_on_commit_callbacks(execute=True):
        meeting_outcome(handoff.pk, user=desk["amy"], outcome="rescheduled", new_time=later)
    first, second = (event_of(calendar) for _, calendar, _ in invitations())
    assert str(first["uid"]) == str(second["uid"]) == handoff.ics_uid
    assert (int(first["sequence"]), int(second["sequence"])) == (0, 1)
    assert second["dtstart"].dt == later.astimezone(UTC)
    handoff.refresh_from_db()
    assert (handoff.meeting_status, handoff.ics_sequence, handoff.meeting_at) == ("rescheduled", 1, later)


def test_a_cancel_sends_method_cancel_with_a_higher_sequence(desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        handoff = lead_handoff(desk["lead"].pk, sdr=desk["ann"], ae=desk["amy"], meeting_at=soon())
        meeting_outcome(handoff.pk, user=desk["amy"], outcome="cancelled")
    (_, request, _), (message, cancel, mimetype) = invitations()
    assert mimetype == "text/calendar; method=CANCEL" and str(cancel["method"]) == "CANCEL"
    event = event_of(cancel)
    assert str(event["uid"]) == handoff.ics_uid and int(event["sequence"]) == 1
    assert str(event["status"]) == "CANCELLED"
    assert message.subject.startswith("Cancelled:")
