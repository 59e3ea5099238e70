"""Roles are groups with permissions, kept in step with this table on every migrate."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission


class Role:
    SDR = "SDR"
    AE = "AE"
    MANAGER = "Manager"
    MARKETING = "Marketing"
    ADMIN = "Admin"


_READ_LEADS = ["inbound.view_lead", "inbound.view_account", "inbound.view_activity", "inbound.view_timelineentry"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.SDR: _READ_LEADS + ["inbound.change_lead", "scoring.view_leadscore", "routing.view_leadassignment"],
    Role.AE: _READ_LEADS + ["scoring.view_leadscore", "routing.view_leadassignment"],
    # Marketing runs the campaigns the hosted forms serve: it makes and edits them (/forms/new/).
    Role.MARKETING: _READ_LEADS + ["inbound.view_source", "inbound.view_submission", "inbound.view_hostedform",
                                   "inbound.add_hostedform", "inbound.change_hostedform",
                                   "scoring.view_leadscore", "routing.view_leadassignment"],
    Role.MANAGER: _READ_LEADS + [
        "inbound.change_lead", "inbound.view_source", "inbound.view_submission", "inbound.change_submission",
        "inbound.view_hostedform", "inbound.add_hostedform", "inbound.change_hostedform", "inbound.add_importjob", "inbound.view_importjob", "routing.view_team",
        "routing.change_team",
        # Scoring: the rules page edits and publishes every kind of rule.
        "scoring.view_fitrule", "scoring.change_fitrule", "scoring.add_fitrule", "scoring.delete_fitrule",
        "scoring.view_intentrule", "scoring.change_intentrule", "scoring.view_scoringsettings",
        "scoring.change_scoringsettings", "scoring.view_hotleadcriteria", "scoring.change_hotleadcriteria",
        "scoring.add_hotleadcriteria", "scoring.delete_hotleadcriteria", "scoring.view_rulesetversion",
        "scoring.view_rulefailure", "scoring.view_leadscore",
        # The desk: team settings and reps, routing rules and their tester, the team queue.
        "routing.view_rep", "routing.change_rep", "routing.view_routingrule", "routing.change_routingrule",
        "routing.add_routingrule", "routing.delete_routingrule", "routing.view_teamholiday",
        "routing.add_teamholiday", "routing.delete_teamholiday", "routing.view_leadassignment",
        "routing.change_leadassignment",  # hand out and reassign leads of the teams they manage
    ],
    Role.ADMIN: ["*"],
}


def role_permissions() -> dict[str, list[str]]:
    """This table plus what each app adds (``role_permissions`` on its AppConfig: role -> codes)."""
    from django.apps import apps

    merged = {role: list(codes) for role, codes in ROLE_PERMISSIONS.items()}
    for config in apps.get_app_configs():
        for role, codes in getattr(config, "role_permissions", {}).items():
            if merged[role] != ["*"]:
                merged[role] += [code for code in codes if code not in merged[role]]
    return merged


def roles_sync(**kwargs: Any) -> None:
    """Create the role groups and give each exactly its permissions (post_migrate receiver)."""
    for role, codes in role_permissions().items():
        group, _ = Group.objects.get_or_create(name=role)
        if codes == ["*"]:
            group.permissions.set(Permission.objects.all())
            continue
        wanted = []
        for code in codes:
            app_label, codename = code.split(".")
            wanted += list(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


def user_roles(user: Any) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(user.groups.values_list("name", flat=True))
