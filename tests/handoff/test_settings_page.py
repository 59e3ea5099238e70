"""The managers' handoff settings page: AE territories, order and SLA hours; SDR teams' fallback AE team."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sdr_desk.handoff.models import HandoffSettings
from sdr_desk.handoff.services import lead_handoff
from sdr_desk.roles import Role
from tests.factories import UserFactory
from tests.handoff.fixtures import ready_lead

pytestmark = pytest.mark.django_db


def post(client, team, **fields):
    return client.post(reverse("handoff-settings-save", args=[team.pk]),
                       {f"team{team.pk}-{name}": value for name, value in fields.items()})


def row(team):
    return HandoffSettings.objects.get(team=team)


@pytest.mark.parametrize(("who", "status"), [("sdr", 403), ("ae", 403), ("marketing", 403), ("anonymous", 302),
                                             ("ae_boss", 200), ("boss", 200), ("admin", 200)])
def test_who_may_open_it(client, desk, who, status):
    users = {"sdr": desk["ann"], "ae": desk["amy"], "ae_boss": desk["ae_boss"], "boss": desk["boss"],
             "marketing": UserFactory(username="mkt", roles=[Role.MARKETING]),
             "admin": UserFactory(username="root", is_superuser=True)}
    if who != "anonymous":
        client.force_login(users[who])
    assert client.get(reverse("handoff-settings")).status_code == status


@pytest.mark.parametrize(("who", "status"), [("sdr", 403), ("ae", 403), ("marketing", 403), ("anonymous", 302),
                                             ("boss", 403), ("ae_boss", 302), ("admin", 302)])
def test_who_may_save_an_ae_teams_settings(client, desk, who, status):
    users = {"sdr": desk["ann"], "ae": desk["amy"], "ae_boss": desk["ae_boss"], "boss": desk["boss"],
             "marketing": UserFactory(username="mkt", roles=[Role.MARKETING]),
             "admin": UserFactory(username="root", is_superuser=True)}
    if who != "anonymous":
        client.force_login(users[who])
    before = row(desk["americas"]).version
    response = post(client, desk["americas"], countries="US, CA", position=5, acceptance_sla_hours=4)
    assert response.status_code == status
    assert row(desk["americas"]).version == before + (1 if status == 302 and who != "anonymous" else 0)


def test_a_manager_sees_only_the_teams_they_manage(client, desk):
    client.force_login(desk["ae_boss"])
    body = client.get(reverse("handoff-settings")).content.decode()
    assert "Americas AEs" in body and "EMEA AEs" in body and "<strong>Inbound</strong>" not in body
    assert 'value="NA"' in body and 'value="8"' in body  # the saved territory and SLA hours
    client.force_login(desk["boss"])
    body = client.get(reverse("handoff-settings")).content.decode()
    assert "<strong>Inbound</strong>" in body and "Americas AEs" in body  # the fallback's choices name the AE teams
    assert f'name="team{desk["americas"].pk}-countries"' not in body


def test_it_saves_a_territory_upper_case_once_each_and_routing_follows(client, desk):
    client.force_login(desk["ae_boss"])
    response = post(client, desk["emea"], countries="de, dach  DE,us", position=1, acceptance_sla_hours=12)
    assert response.status_code == 302
    saved = row(desk["emea"])
    assert saved.countries == ["DE", "DACH", "US"] and saved.position == 1 and saved.acceptance_sla_hours == 12
    # EMEA now comes first and takes US leads: the next US handoff goes there.
    handoff = lead_handoff(ready_lead(desk["ann"], country="US").pk, sdr=desk["ann"])
    assert handoff.ae_team == desk["emea"] and handoff.rule_set_version == f"territory-{desk['emea'].pk}.v{saved.version}"


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"countries": "US, XX, Narnia", "position": 10, "acceptance_sla_hours": 8}, "countries", "XX, NARNIA"),
    ({"countries": "US", "position": 10, "acceptance_sla_hours": 0}, "acceptance_sla_hours", "at least an hour"),
    ({"countries": "US", "position": 10, "acceptance_sla_hours": -3}, "acceptance_sla_hours", "at least an hour"),
    ({"countries": "US", "position": 10, "acceptance_sla_hours": "soon"}, "acceptance_sla_hours", "whole number"),
    ({"countries": "US", "position": -1, "acceptance_sla_hours": 8}, "position", "greater than or equal to 0"),
])
def test_bad_input_is_a_400_beside_its_field_and_nothing_changes(client, desk, fields, field, says):
    client.force_login(desk["ae_boss"])
    before = row(desk["americas"])
    response = post(client, desk["americas"], **fields)
    assert response.status_code == 400
    form = next(r["form"] for r in response.context["ae_rows"] if r["team"] == desk["americas"])
    assert list(form.errors) == [field] and says in " ".join(form.errors[field])
    assert says.split(",")[0] in response.content.decode()
    after = row(desk["americas"])
    assert (after.countries, after.acceptance_sla_hours, after.version) == (
        before.countries, before.acceptance_sla_hours, before.version)


def test_an_sdr_teams_manager_sets_its_fallback_ae_team(client, desk):
    client.force_login(desk["boss"])
    assert post(client, desk["team"], ae_team=desk["emea"].pk).status_code == 302
    assert row(desk["team"]).ae_team == desk["emea"]
    response = post(client, desk["team"], ae_team=desk["team"].pk)  # not an AE team
    assert response.status_code == 400 and row(desk["team"]).ae_team == desk["emea"]
    assert post(client, desk["team"], ae_team="").status_code == 302 and row(desk["team"]).ae_team is None


def test_a_team_without_settings_gets_its_row_on_first_save(client, desk):
    HandoffSettings.objects.filter(team=desk["emea"]).delete()
    client.force_login(desk["ae_boss"])
    assert post(client, desk["emea"], countries="GB", position=30, acceptance_sla_hours=24).status_code == 302
    assert row(desk["emea"]).countries == ["GB"]


def test_an_unknown_team_is_404_and_a_get_of_the_save_url_405(client, desk):
    client.force_login(desk["ae_boss"])
    assert client.post(reverse("handoff-settings-save", args=[999_999]), {}).status_code == 404
    assert client.get(reverse("handoff-settings-save", args=[desk["emea"].pk])).status_code == 405
