"""The handoff's desk: an SDR team with a qualified-ready lead, and two AE teams with territories."""

from __future__ import annotations

import pytest

from sdr_desk.handoff.models import HandoffSettings
from sdr_desk.roles import Role
from tests.desk_fixtures import rep_make, team_make
from tests.factories import UserFactory
from tests.handoff.fixtures import ae_make, ready_lead


@pytest.fixture
def desk(db):
    boss = UserFactory(username="boss", first_name="Priya", roles=[Role.MANAGER])
    ae_boss = UserFactory(username="ae-boss", first_name="Alex", roles=[Role.MANAGER])
    team = team_make("Inbound", visibility="claim", manager=boss)
    ann = rep_make("ann", team, time_zone="America/New_York")
    bob = rep_make("bob", team)
    americas = team_make("Americas AEs", visibility="owned", is_default=False, manager=ae_boss,
                         time_zone="America/New_York")
    emea = team_make("EMEA AEs", visibility="owned", is_default=False, manager=ae_boss, time_zone="Europe/London")
    HandoffSettings.objects.create(team=americas, countries=["NA"], position=10, acceptance_sla_hours=8)
    HandoffSettings.objects.create(team=emea, countries=["EMEA"], position=20)
    HandoffSettings.objects.create(team=team, ae_team=americas)
    amy = ae_make("amy", americas, weight=1)
    carl = ae_make("carl", americas, weight=2)
    eve = ae_make("eve", emea, time_zone="Europe/London")
    lead = ready_lead(ann, country="US", first_name="Ada", last_name="Lovelace", company="Engines",
                      email="ada@engines.example")
    return {"team": team, "ann": ann, "bob": bob, "boss": boss, "ae_boss": ae_boss, "americas": americas,
            "emea": emea, "amy": amy, "carl": carl, "eve": eve, "lead": lead}

