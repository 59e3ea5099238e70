"""The sweep over the speed-to-lead clock (``clock``): warnings and escalations when a first-touch
deadline runs out, and claims returned to the team when the claimer did not work the lead.

``sla_sweep`` is safe to run twice, late, or on two workers at once: each row
is claimed with ``FOR UPDATE SKIP LOCKED`` and its condition checked again
under the lock, so an escalation happens once; it looks only at the
database's state, so a restart after downtime escalates each overdue lead one
step, not once per missed run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from inbound.models import Lead
from inbound.timeline import timeline_record
from sdr_desk.routing.clock import deadline_renew
from sdr_desk.routing.models import (
    EscalationPath,
    LeadAssignment,
    LeadState,
    Rep,
    RepStatus,
    Team,
)
from sdr_desk.routing.ownership import lead_owner_change
from sdr_desk.routing.signals import assignment_changed_send

logger = logging.getLogger(__name__)

SLA_KIND = "sla"


# --- the sweep --------------------------------------------------------------------------------


def _each_due(query: Q, order: str, action: Callable[[LeadAssignment], None], *, limit: int) -> int:
    """Apply ``action`` to each due row, one short transaction apiece.

    ``SKIP LOCKED`` lets sweeps on several workers share the work; the filter
    runs again under the lock, so a row another sweep already handled is gone.
    """
    done = 0
    for _ in range(limit):
        with transaction.atomic():
            assignment = (LeadAssignment.objects.select_for_update(skip_locked=True, of=("self",))
                          .select_related("team", "owner").filter(query).order_by(order).first())
            if assignment is None:
                break
            action(assignment)
            done += 1
    return done


def sla_sweep(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Escalate, warn and release what is due, in that order."""
    now = now or timezone.now()
    unworked = [LeadState.OFFERED, LeadState.ASSIGNED, LeadState.QUEUED]
    escalate_due = Q(first_touch_at__isnull=True, sla_due_at__lte=now, state__in=unworked)
    warn_due = Q(first_touch_at__isnull=True, sla_warned=False, sla_warn_at__lte=now, state__in=unworked)
    return {
        "escalated": _each_due(escalate_due, "sla_due_at", lambda a: lead_escalate(a, now=now), limit=limit),
        "warned": _each_due(warn_due, "sla_warn_at", lambda a: _warn(a, now=now), limit=limit),
        "released": _each_due(_release_due(now), "claim_expires_at", lambda a: _release(a, now=now), limit=limit),
    }


def _release(assignment: LeadAssignment, *, now: datetime) -> None:
    lead_owner_change(assignment, owner=None, team=assignment.team, state=LeadState.OFFERED, kind="released",
                      now=now, reason=f"claimed {assignment.team.claim_touch_minutes} minutes ago with no touch "
                                      f"and no next step planned")


def _release_due(now: datetime) -> Q:
    # A claim not followed in the team's claim window by a touch on any channel or a planned next step
    # returns to the board (both clear ``claim_expires_at``).
    return Q(first_touch_at__isnull=True, state=LeadState.ASSIGNED, claim_expires_at__lte=now)


def _warn(assignment: LeadAssignment, *, now: datetime) -> None:
    assignment.sla_warned = True
    assignment.version += 1
    assignment.updated_at = now
    assignment.save(update_fields=["sla_warned", "version", "updated_at"])
    assignment_changed_send(assignment)
    left = max(int((assignment.sla_due_at - now).total_seconds()), 0) if assignment.sla_due_at else 0
    timeline_record(lead=Lead(pk=assignment.lead_id), kind=SLA_KIND, actor_label="SLA clock", occurred_at=now,
                    summary=f"SLA warning: {left // 60} min {left % 60} s left for the first touch",
                    data={"due": assignment.sla_due_at.isoformat() if assignment.sla_due_at else None})


def lead_escalate(assignment: LeadAssignment, *, now: datetime) -> None:
    """One step up the team's escalation path, for a lead whose deadline passed untouched."""
    team = assignment.team
    previous_owner = assignment.owner
    if previous_owner is not None:
        _streak_bump(previous_owner, team, now=now)
    backup = team.backup_rep if team else None
    use_backup = (team is not None and team.escalation_path == EscalationPath.BACKUP_THEN_MANAGER
                  and assignment.escalation_level == 0 and backup is not None and backup.pk != getattr(
                      previous_owner, "pk", None))
    late = "unclaimed" if previous_owner is None else f"untouched by {previous_owner.get_username()}"
    if use_backup:
        assignment.escalation_level = 1
        deadline_renew(assignment, now=now)
        lead_owner_change(assignment, owner=backup, team=team, state=LeadState.ASSIGNED, kind="escalated",
                          reason=f"SLA missed ({late}); to the backup rep", now=now)
        return
    assignment.escalation_level = 2
    # The missed deadline stays on the row, so the lead shows as overdue; an escalated lead is not swept again.
    lead_owner_change(assignment, owner=None, team=team, state=LeadState.ESCALATED, kind="escalated",
                      reason=f"SLA missed ({late}); to the manager queue", now=now)


def _streak_bump(user: Any, team: Team | None, *, now: datetime) -> None:
    """Several escalations in a row: the rep is set away so routing stops sending them leads, and the manager is told."""
    Rep.objects.filter(user=user).update(escalation_streak=F("escalation_streak") + 1)
    rep = Rep.objects.filter(user=user).select_related("team__manager").first()
    if rep is None or team is None or rep.status == RepStatus.AWAY:
        return
    if rep.escalation_streak >= team.escalation_streak_limit:
        rep.status = RepStatus.AWAY
        rep.save(update_fields=["status"])
        manager = team.manager
        logger.warning("rep %s set away after %d escalations in a row", user, rep.escalation_streak)
        if manager is not None and manager.email:
            transaction.on_commit(lambda: send_mail(
                subject=f"{rep} was set to away after {rep.escalation_streak} missed SLAs",
                message=(f"{rep} let {rep.escalation_streak} leads in a row pass their first-touch deadline, "
                         f"so the desk set them to away and stopped routing to them. Set them available again "
                         f"from the team page when they are back."),
                from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[manager.email], fail_silently=True,
            ))
