"""A database migrated on the old one-app layout (every desk model in ``sdr_desk``) moves to the apps intact.

The desk's models moved to ``routing`` and ``board`` without moving a table: the
apps' first migrations only take over Django's state, and the content types move
with the models, so role groups keep their permissions. The test builds the old
layout with rows in every table, migrates forward, and reads the rows back
through today's models.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

OLD_LAYOUT = [("sdr_desk", "0005_next_step_and_board_preference"), ("routing", None), ("board", None)]


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader: the graph's applied set changed


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def old_layout(transactional_db):
    """The schema as it was before the desk became apps; back to the newest one afterwards, whatever happens."""
    executor = _migrate(OLD_LAYOUT)
    try:
        yield executor.loader.project_state(OLD_LAYOUT[:1]).apps
    finally:
        _migrate(_latest())


def _old_rows(apps) -> dict[str, int]:
    """One of everything in the old layout, through the historical models of app ``sdr_desk``."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("auth", "User")
    Source = apps.get_model("inbound", "Source")
    Account = apps.get_model("inbound", "Account")
    Lead = apps.get_model("inbound", "Lead")
    Team = apps.get_model("sdr_desk", "Team")

    team_type, _ = ContentType.objects.get_or_create(app_label="sdr_desk", model="team")
    change_team, _ = Permission.objects.get_or_create(content_type=team_type, codename="change_team",
                                                      defaults={"name": "Can change team"})
    managers = Group.objects.create(name="Old managers")
    managers.permissions.add(change_team)

    boss = User.objects.create(username="old-boss")
    ann = User.objects.create(username="old-ann")
    source = Source.objects.create(name="Old website", channel="web_form")
    account = Account.objects.create(domain="old.example", name="Old Co")
    lead = Lead.objects.create(email="buyer@old.example", account=account, source=source)

    team = Team.objects.create(name="Old Americas", manager=boss, backup_rep=boss)
    apps.get_model("sdr_desk", "TeamHoliday").objects.create(team=team, date=date(2026, 12, 25), name="Christmas")
    apps.get_model("sdr_desk", "Rep").objects.create(user=ann, team=team, time_zone="America/New_York")
    rule = apps.get_model("sdr_desk", "RoutingRule").objects.create(name="Web to Americas", target_team=team)
    rule.sources.add(source)
    apps.get_model("sdr_desk", "AccountOwner").objects.create(account=account, owner=ann)
    now = timezone.now()
    apps.get_model("sdr_desk", "LeadAssignment").objects.create(
        lead=lead, team=team, owner=ann, state="claimed", is_hot=True, first_touch_at=now,
        next_step_at=now + timedelta(hours=2), next_step="call back")
    apps.get_model("sdr_desk", "Touch").objects.create(lead=lead, rep=ann, channel="call", outcome="connected",
                                                       notes="talked budget", occurred_at=now)
    apps.get_model("sdr_desk", "BoardEvent").objects.create(lead=lead)
    apps.get_model("sdr_desk", "BoardPreference").objects.create(user=ann, sound=True)
    return {"lead": lead.pk, "team": team.pk, "ann": ann.pk, "source": source.pk, "group": managers.pk}


def test_an_old_layout_database_migrates_to_the_apps_with_every_row(old_layout):
    ids = _old_rows(old_layout)

    _migrate(_latest())

    from django.contrib.auth.models import Group

    from sdr_desk.board.models import BoardEvent, BoardPreference
    from sdr_desk.routing.models import AccountOwner, LeadAssignment, Rep, RoutingRule, Team, TeamHoliday, Touch

    team = Team.objects.get(pk=ids["team"])
    assert (team.name, team.manager.username, team.backup_rep.username) == ("Old Americas", "old-boss", "old-boss")
    assert list(TeamHoliday.objects.filter(team=team).values_list("name", flat=True)) == ["Christmas"]
    assert Rep.objects.get(user_id=ids["ann"]).time_zone == "America/New_York"
    assert list(RoutingRule.objects.get(name="Web to Americas").sources.values_list("pk", flat=True)) == [ids["source"]]
    assert AccountOwner.objects.get(owner_id=ids["ann"]).account.domain == "old.example"
    assignment = LeadAssignment.objects.get(lead_id=ids["lead"])
    assert (assignment.owner_id, assignment.state, assignment.is_hot, assignment.next_step) == (
        ids["ann"], "claimed", True, "call back")
    assert Touch.objects.get(lead_id=ids["lead"]).notes == "talked budget"
    assert BoardEvent.objects.filter(lead_id=ids["lead"]).count() == 1
    assert BoardPreference.objects.get(user_id=ids["ann"]).sound is True
    # The role group granted sdr_desk.change_team before now holds routing.change_team: the same row, moved.
    codes = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(pk=ids["group"]).permissions.all()}
    assert codes == {"routing.change_team"}


def test_the_apps_take_over_the_tables_without_renaming_them(db):
    from sdr_desk.board.models import BoardEvent
    from sdr_desk.routing.models import LeadAssignment, RoutingRule, Team

    assert [m._meta.db_table for m in (Team, LeadAssignment, BoardEvent)] == [
        "sdr_desk_team", "sdr_desk_leadassignment", "sdr_desk_boardevent"]
    assert RoutingRule.sources.through._meta.db_table == "sdr_desk_routingrule_sources"
    tables = set(connection.introspection.table_names())
    assert {"sdr_desk_team", "sdr_desk_touch", "sdr_desk_boardpreference", "sdr_desk_routingrule_sources"} <= tables
    assert not {t for t in tables if t.startswith(("routing_", "board_"))}
