"""The meeting invitation as an iCalendar file (RFC 5545 / iTIP RFC 5546), built with ``icalendar``.

One UID per handoff for its whole life; every change sent (a new time, a cancellation) raises
SEQUENCE, so calendar clients update the event they have instead of adding a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.conf import settings
from icalendar import Calendar, Event, vCalAddress, vText

from sdr_desk.handoff.models import Handoff

MEETING_MINUTES = 30
PRODID = "-//Inbound SDR desk//AE handoff//EN"


def _address(email: str, name: str, *, role: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["cn"] = vText(name or email)
    if role:
        address.params["role"] = vText(role)
        address.params["partstat"] = vText("NEEDS-ACTION")
        address.params["rsvp"] = vText("TRUE")
    return address


def _name(user: object) -> str:
    return user.get_full_name() or user.get_username()  # type: ignore[attr-defined]


def invite_description(handoff: Handoff, answers: list[tuple[str, str]]) -> str:
    lines = [f"Handed off by {_name(handoff.sdr)} for {handoff.lead.full_name or handoff.lead.email}"
             + (f" ({handoff.lead.company})" if handoff.lead.company else "") + "."]
    if answers:
        lines += ["", "Qualification:"] + [f"- {label}: {text}" for label, text in answers]
    if handoff.note:
        lines += ["", "Note from the SDR:", handoff.note]
    return "\n".join(lines)


def invite_ics(handoff: Handoff, *, answers: list[tuple[str, str]], cancel: bool = False,
               now: datetime | None = None, ae: object | None = None, lead_attends: bool = True) -> bytes:
    """The VCALENDAR for the handoff's meeting: METHOD REQUEST, or CANCEL when ``cancel``.

    ``ae`` names another AE than the handoff's (the one a reassignment took it from) and ``lead_attends``
    False leaves the lead out: iTIP (RFC 5546 3.2.5) removes one attendee with a CANCEL to that attendee
    alone, under the same UID and the raised SEQUENCE that the REQUEST to the others carries.
    """
    assert handoff.meeting_at is not None, "an invitation needs a meeting time"
    now = now or datetime.now(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "REQUEST")
    event = Event()
    event.add("uid", handoff.ics_uid)
    event.add("sequence", handoff.ics_sequence)
    event.add("dtstamp", now.astimezone(UTC))
    start = handoff.meeting_at.astimezone(UTC)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=MEETING_MINUTES))
    lead = handoff.lead
    event.add("summary", f"Discovery call: {lead.full_name or lead.email}"
              + (f" ({lead.company})" if lead.company else ""))
    event.add("description", invite_description(handoff, answers))
    event.add("organizer", _address(handoff.sdr.email or settings.DEFAULT_FROM_EMAIL, _name(handoff.sdr)))
    attendee = ae or handoff.ae
    event.add("attendee", _address(attendee.email, _name(attendee), role="REQ-PARTICIPANT"))  # type: ignore[attr-defined]
    if lead_attends:
        event.add("attendee", _address(lead.email, lead.full_name, role="REQ-PARTICIPANT"))
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()
