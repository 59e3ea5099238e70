"""The people and configuration of a bulk data set (``seed_bulk``): teams, reps, AEs, sources, rules.

Small, so made through the ORM and found again by natural key (usernames, team and source names):
running ``seed_bulk`` twice reuses them. The names differ from ``seed_demo``'s, so both can share a
database. The leads themselves are made set-based in SQL (``sdr_desk.bulk``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractUser, Group
from django.core.management.base import CommandError

from inbound.models import Channel, Source
from sdr_desk.handoff.models import HandoffSettings
from sdr_desk.roles import Role
from sdr_desk.routing.models import (
    EscalationPath,
    Rep,
    RepRole,
    RepStatus,
    RoutingRule,
    Team,
    TeamHoliday,
    Visibility,
)

PASSWORD = "demo"  # only under DEBUG, as seed_demo; otherwise the users have no usable password

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _weekdays(*intervals: tuple[str, str]) -> dict[str, list[list[str]]]:
    return {day: [list(interval) for interval in intervals] for day in WEEKDAYS}


@dataclass(frozen=True)
class TeamSpec:
    key: str  # the region/team code the SQL uses
    name: str
    time_zone: str
    visibility: str
    hours: dict[str, list[list[str]]]
    reps: int
    manager: str
    escalation_path: str = EscalationPath.BACKUP_THEN_MANAGER
    holidays: tuple[str, ...] = ("01-01", "12-25")  # MM-DD, every year of the data set


SDR_TEAMS: tuple[TeamSpec, ...] = (
    TeamSpec("nae", "North America East", "America/New_York", Visibility.CLAIM, _weekdays(("08:00", "18:00")), 12,
             "bulk-manager-americas", holidays=("01-01", "07-04", "11-27", "12-25")),
    TeamSpec("naw", "North America West", "America/Los_Angeles", Visibility.OWNED, _weekdays(("08:00", "17:00")), 8,
             "bulk-manager-americas", holidays=("01-01", "07-04", "11-27", "12-25")),
    TeamSpec("emea", "EMEA", "Europe/London", Visibility.OWNED, _weekdays(("09:00", "17:30")), 9,
             "bulk-manager-emea", EscalationPath.MANAGER, holidays=("01-01", "12-25", "12-26")),
    # A lunch break: two intervals a day, so business time has gaps inside the day too.
    TeamSpec("dach", "DACH", "Europe/Berlin", Visibility.CLAIM, _weekdays(("08:30", "12:30"), ("13:30", "18:00")), 5,
             "bulk-manager-emea", holidays=("01-01", "10-03", "12-25", "12-26")),
    TeamSpec("apac", "APAC", "Australia/Sydney", Visibility.OWNED, _weekdays(("09:00", "17:00")), 6,
             "bulk-manager-apac", EscalationPath.MANAGER, holidays=("01-01", "01-26", "12-25")),
)


@dataclass(frozen=True)
class AeTeamSpec:
    key: str
    name: str
    time_zone: str
    aes: int
    countries: tuple[str, ...]  # the territory; empty: every lead no other territory takes
    position: int


AE_TEAMS: tuple[AeTeamSpec, ...] = (
    AeTeamSpec("ae_emea", "AE EMEA", "Europe/London", 2, ("EMEA",), 10),
    AeTeamSpec("ae_americas", "AE Americas", "America/New_York", 3, (), 20),
)
# Which AE team each SDR team's handoffs go to (the territories say the same for these leads).
AE_TEAM_OF = {"nae": "ae_americas", "naw": "ae_americas", "emea": "ae_emea", "dach": "ae_emea",
              "apac": "ae_americas"}

US_WEST_STATES = ("CA", "WA", "OR", "CO", "AZ", "UT", "NV")

# Routing rules that send each lead where seed_bulk puts it, so a lead routed live lands alike.
# Positions 1-5: ahead of seed_demo's rule (10) when both share a database.
ROUTING_RULES = (
    ("Bulk: DACH", {"countries": ["DACH"]}, "dach", 1),
    ("Bulk: EMEA", {"countries": ["EMEA"]}, "emea", 2),
    ("Bulk: APAC", {"countries": ["APAC"]}, "apac", 3),
    ("Bulk: US West", {"countries": ["US"], "states": list(US_WEST_STATES)}, "naw", 4),
    ("Bulk: Americas", {"countries": ["NORAM", "LATAM"]}, "nae", 5),
)

# 11 sources across channels: name -> channel.
SOURCES: dict[str, str] = {
    "Website": Channel.WEB_FORM,
    "Google Ads": Channel.WEB_FORM,
    "LinkedIn Ads": Channel.WEB_FORM,
    "Live chat": Channel.CHAT,
    "Free trial": Channel.TRIAL_SIGNUP,
    "G2 Reviews": Channel.REVIEW_SITE,
    "Capterra": Channel.REVIEW_SITE,
    "Partner: Northwind": Channel.PARTNER,
    "Customer referral": Channel.REFERRAL,
    "Webinar platform": Channel.WEBINAR,
    "Trade show import": Channel.IMPORT,
}

SDR_NAMES = (
    ("Jordan", "Ellis"), ("Maya", "Chen"), ("Oliver", "Hughes"), ("Ava", "Patel"), ("Liam", "Walsh"),
    ("Sofia", "Rossi"), ("Noah", "Kim"), ("Emma", "Dubois"), ("Lucas", "Silva"), ("Mia", "Novak"),
    ("Ethan", "Okafor"), ("Chloe", "Martin"), ("Mason", "Reed"), ("Grace", "Murphy"), ("Tyler", "Brooks"),
    ("Hannah", "Weber"), ("Jonas", "Fischer"), ("Lea", "Schmidt"), ("Felix", "Braun"), ("Ingrid", "Berg"),
    ("Conor", "Byrne"), ("Niamh", "Kelly"), ("Amara", "Mensah"), ("Omar", "Haddad"), ("Leila", "Nasser"),
    ("Ravi", "Iyer"), ("Ananya", "Rao"), ("Wei", "Zhang"), ("Yuki", "Sato"), ("Isla", "Campbell"),
    ("Jack", "Taylor"), ("Charlotte", "Evans"), ("Harry", "Wright"), ("Amelia", "Clarke"), ("Ben", "Cohen"),
    ("Laura", "Costa"), ("Diego", "Ferreira"), ("Elena", "Horvat"), ("Sam", "Lindqvist"), ("Alex", "Brennan"),
)
AE_NAMES = (("Marcus", "Reid"), ("Dana", "Whitfield"), ("Victor", "Lange"), ("Rachel", "Stone"), ("Kwame", "Asante"))
PEOPLE = {
    "bulk-manager-americas": ("Priya", "Raman", Role.MANAGER),
    "bulk-manager-emea": ("Henrik", "Dahl", Role.MANAGER),
    "bulk-manager-apac": ("Grace", "Lim", Role.MANAGER),
    "bulk-manager-ae": ("Tom", "Becker", Role.MANAGER),
    "bulk-marketing": ("Sofia", "Alvarez", Role.MARKETING),
}


@dataclass
class TeamRow:
    key: str
    team: Team
    reps: list[int] = field(default_factory=list)  # user ids, in username order


@dataclass
class Setup:
    teams: dict[str, TeamRow]  # SDR teams by key
    ae_teams: dict[str, TeamRow]  # AE teams by key; reps are the AEs
    sources: dict[str, int]  # name -> id
    marketing: int
    managers: dict[str, int]


_PASSWORD_HASH: list[str] = []


def _password() -> str:
    """One hash for every bulk user: hashing the demo password fifty times costs seconds for nothing."""
    if not _PASSWORD_HASH:
        _PASSWORD_HASH.append(make_password(PASSWORD) if settings.DEBUG else make_password(None))
    return _PASSWORD_HASH[0]


def _user(username: str, first: str, last: str, role: str, *, staff: bool = False) -> AbstractUser:
    try:
        group = Group.objects.get(name=role)
    except Group.DoesNotExist:
        raise CommandError(f"Role group {role!r} is missing: run manage.py migrate first.") from None
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"first_name": first, "last_name": last, "is_staff": staff,
                                     "email": f"{username}@desk.example.com"})
    if created:
        user.password = _password()
        user.save(update_fields=["password"])
    user.groups.add(group)
    return user


def desk_setup(*, first_year: int, last_year: int) -> Setup:
    """Find or make everything the leads point at; holidays for every year the data set spans."""
    managers = {username: _user(username, first, last, role, staff=role == Role.MANAGER).pk
                for username, (first, last, role) in PEOPLE.items()}
    for username in managers:
        if PEOPLE[username][2] == Role.MANAGER:
            Rep.objects.get_or_create(user_id=managers[username], defaults={"role": RepRole.MANAGER})
    has_default = Team.objects.filter(is_default=True).exists()
    teams: dict[str, TeamRow] = {}
    names = iter(SDR_NAMES)
    number = 0
    for spec in SDR_TEAMS:
        team, _ = Team.objects.get_or_create(name=spec.name, defaults={
            "time_zone": spec.time_zone, "visibility": spec.visibility, "business_hours": spec.hours,
            "escalation_path": spec.escalation_path, "is_default": spec.key == "nae" and not has_default,
            "manager_id": managers[spec.manager]})
        row = TeamRow(spec.key, team)
        for _ in range(spec.reps):
            number += 1
            first, last = next(names)
            user = _user(f"bulk-sdr-{number:02d}", first, last, Role.SDR)
            Rep.objects.update_or_create(user=user, defaults={
                "role": RepRole.SDR, "team": team, "time_zone": spec.time_zone, "working_hours": spec.hours,
                "status": RepStatus.AVAILABLE, "capacity": 25})
            row.reps.append(user.pk)
        if team.backup_rep_id is None and spec.escalation_path == EscalationPath.BACKUP_THEN_MANAGER:
            team.backup_rep_id = row.reps[0]
            team.save(update_fields=["backup_rep"])
        for year in range(first_year, last_year + 1):
            for day in spec.holidays:
                TeamHoliday.objects.get_or_create(team=team, date=date.fromisoformat(f"{year}-{day}"))
        teams[spec.key] = row
    ae_teams: dict[str, TeamRow] = {}
    ae_names = iter(AE_NAMES)
    number = 0
    for spec in AE_TEAMS:
        team, _ = Team.objects.get_or_create(name=spec.name, defaults={
            "time_zone": spec.time_zone, "visibility": Visibility.OWNED, "business_hours": _weekdays(("09:00", "17:00")),
            "manager_id": managers["bulk-manager-ae"]})
        HandoffSettings.objects.get_or_create(team=team, defaults={
            "acceptance_sla_hours": 24, "countries": list(spec.countries), "position": spec.position})
        row = TeamRow(spec.key, team)
        for _ in range(spec.aes):
            number += 1
            first, last = next(ae_names)
            user = _user(f"bulk-ae-{number}", first, last, Role.AE)
            Rep.objects.update_or_create(user=user, defaults={
                "role": RepRole.AE, "team": team, "time_zone": spec.time_zone,
                "working_hours": _weekdays(("09:00", "17:00"))})
            row.reps.append(user.pk)
        for year in range(first_year, last_year + 1):
            for day in ("01-01", "12-25"):
                TeamHoliday.objects.get_or_create(team=team, date=date.fromisoformat(f"{year}-{day}"))
        ae_teams[spec.key] = row
    for key, row in teams.items():
        HandoffSettings.objects.get_or_create(team=row.team, defaults={"ae_team": ae_teams[AE_TEAM_OF[key]].team})
    for name, conditions, key, position in ROUTING_RULES:
        RoutingRule.objects.get_or_create(name=name, defaults={**conditions, "target_team": teams[key].team,
                                                               "position": position})
    sources = {name: Source.objects.get_or_create(name=name, defaults={"channel": channel})[0].pk
               for name, channel in SOURCES.items()}
    return Setup(teams=teams, ae_teams=ae_teams, sources=sources, marketing=managers["bulk-marketing"],
                 managers=managers)
