"""Where each role starts: apps declare it (``role_homes`` on their AppConfig), the highest priority wins.

An entry maps a role (``sdr_desk.roles.Role``) to ``(URL name, priority)``. The
project declares today's homes (SDRs and managers on the board, everyone else
on the lead list); an app that gives a role a page made for its job (the AE
handoff inbox, marketing's reports) declares it with a higher priority and
``/`` sends that role there, with nothing here changed.

A user's roles are their groups (``sdr_desk.roles``), plus Admin for a
superuser, plus the desk role their seat gives them: a rep of a team works the
board as an SDR, a team's manager as a manager, whatever their groups say (an
admin who also manages a team starts on the board).
"""

from __future__ import annotations

from typing import Any

from sdr_desk.roles import Role, user_roles

# (URL name, priority): a higher priority takes a role's home over.
Home = tuple[str, int]

# The roles whose home the board is, and who may open it.
BOARD_ROLES = frozenset({Role.SDR, Role.MANAGER})


def declared_homes() -> dict[str, list[Home]]:
    """Every home each app declares for each role, in app order."""
    from django.apps import apps

    homes: dict[str, list[Home]] = {}
    for config in apps.get_app_configs():
        for role, home in getattr(config, "role_homes", {}).items():
            homes.setdefault(role, []).append(home)
    return homes


def home_for_roles(roles: set[str]) -> str | None:
    """The URL name of the best home any of ``roles`` has (ties: the app listed first), or None."""
    best: Home | None = None
    for role, homes in declared_homes().items():
        if role not in roles:
            continue
        for home in homes:
            if best is None or home[1] > best[1]:
                best = home
    return best[0] if best else None


def seat_roles(user: Any) -> set[str]:
    """The desk roles the user's seat gives them: SDR for a rep (role SDR), Manager for a rep (role manager)
    or a team's manager. One query."""
    if not getattr(user, "is_authenticated", False):
        return set()
    from django.contrib.auth import get_user_model
    from django.db.models import Exists, OuterRef

    from sdr_desk.routing.models import Rep, RepRole, Team

    row = get_user_model().objects.filter(pk=user.pk).values_list(
        Exists(Rep.objects.filter(user=OuterRef("pk"), role=RepRole.SDR)),
        Exists(Rep.objects.filter(user=OuterRef("pk"), role=RepRole.MANAGER)),
        Exists(Team.objects.filter(manager=OuterRef("pk"))),
    ).first() or (False, False, False)
    rep, manager_seat, manages = row
    return ({Role.SDR} if rep else set()) | ({Role.MANAGER} if manager_seat or manages else set())


def desk_roles(user: Any) -> set[str]:
    """Groups, Admin for a superuser, and the seat's roles; kept on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_desk_roles", None)
    if cached is None:
        cached = user_roles(user) | seat_roles(user) | ({Role.ADMIN} if user.is_superuser else set())
        user._desk_roles = cached
    return set(cached)


def home_of(user: Any) -> str | None:
    """The URL name of the user's home, or None for a user with no role at all."""
    return home_for_roles(desk_roles(user))


def has_board(user: Any) -> bool:
    """The board shows what is offered to a rep's team and what they own: it is for SDRs and managers."""
    return bool(desk_roles(user) & BOARD_ROLES)


def nav(request: Any) -> dict[str, Any]:
    """Context processor for the layout's nav: ``has_board``, queried only when a page shows the nav."""
    from django.utils.functional import SimpleLazyObject

    user = getattr(request, "user", None)
    return {"has_board": SimpleLazyObject(lambda: has_board(user))}
