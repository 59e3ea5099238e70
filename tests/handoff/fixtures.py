"""An SDR team with a qualified-ready lead, and two AE teams with territories, for the handoff's tests."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from sdr_desk.roles import Role
from sdr_desk.routing.engine import lead_route
from sdr_desk.routing.models import Rep, RepRole
from sdr_desk.routing.ownership import lead_claim
from sdr_desk.routing.touches import touch_log
from tests.desk_fixtures import ALWAYS, answers_give, hot_lead
from tests.factories import UserFactory


def ae_make(username: str, team, **fields):
    user = UserFactory(username=username, first_name=username.title(), last_name="Closer", roles=[Role.AE])
    fields.setdefault("working_hours", ALWAYS)
    Rep.objects.create(user=user, team=team, role=RepRole.AE, **fields)
    return user


def ready_lead(owner, **fields):
    """A hot lead routed, claimed by ``owner``, touched and with the checklist's required answers."""
    lead = hot_lead(**fields)
    lead_route(lead.pk)
    lead_claim(lead.pk, user=owner)
    touch_log(lead.pk, rep=owner, channel="call", outcome="connected", notes="Great call")
    answers_give(lead.pk, owner)
    return lead


def soon(hours: int = 48):
    return (timezone.now() + timedelta(hours=hours)).replace(microsecond=0)
