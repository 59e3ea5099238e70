"""Merging a duplicate lead into the lead that survives: its history moves, it closes as "Duplicate".

What moves to the survivor (set-based, one ``UPDATE`` per table): the timeline (which holds the score
history), submissions, activities, touches, visitor links, and the qualification answers the survivor
has not given itself (where both answered an item, the survivor's answer stays and the duplicate keeps
its own). What stays with the duplicate: its assignment (closed by the disposition), its dispositions,
its current score row (the survivor is rescored from everything it now has) and its board log.
The duplicate's email resolves to the survivor on later intake (``inbound.services``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from inbound.models import Activity, Lead, Submission, TimelineEntry, VisitorLink
from inbound.timeline import timeline_record
from scoring.services import lead_rescore
from sdr_desk.dispositions.models import LEAD_STATUS_OF, Disposition, DispositionCode
from sdr_desk.dispositions.services import (
    DUPLICATE_CODE,
    AlreadyDispositioned,
    DispositionInvalid,
    lead_disposition,
    may_disposition,
)
from sdr_desk.qualification.models import Answer
from sdr_desk.routing.models import LeadState, Touch
from sdr_desk.routing.ownership import NotAllowed, OwnershipError, assignment_locked

MERGE_KIND = "merge"
__all__ = ["DUPLICATE_CODE", "MERGE_KIND", "lead_merge"]

# What moves, by the name the timeline and the report use. Answers are handled apart (the survivor's win).
MOVED: dict[str, type[Model]] = {
    "timeline": TimelineEntry,
    "submissions": Submission,
    "activities": Activity,
    "touches": Touch,
    "visitor_links": VisitorLink,
}


class MergeInvalid(DispositionInvalid):
    """The survivor named is unknown, the duplicate itself, or merged already (400, field ``into``)."""


class AlreadyMerged(OwnershipError):
    status = 409
    code = "already_merged"


@dataclass
class Merge:
    duplicate_id: int
    survivor_id: int
    moved: dict[str, int]
    disposition: Disposition


def _label(lead: Lead) -> str:
    return f"{lead.full_name} <{lead.email}>" if lead.full_name else lead.email


def merge_target(text: str) -> int | None:
    """The lead a person typed as the survivor: its id (``123`` or ``#123``) or its email; None if unknown."""
    text = (text or "").strip()
    if text.lstrip("#").isdigit():
        return Lead.objects.filter(pk=int(text.lstrip("#"))).values_list("pk", flat=True).first()
    if "@" in text:
        return Lead.objects.filter(email=text.lower()).values_list("pk", flat=True).first()
    return None


@transaction.atomic
def lead_merge(duplicate_id: int, *, into_id: int | None, user: AbstractBaseUser, reason: str = "", note: str = "",
               now: datetime | None = None) -> Merge:
    """Merge lead ``duplicate_id`` into ``into_id``; one transaction, both assignments locked in id order.

    Refused, changing nothing: not the duplicate's owner or their manager (403), a duplicate already
    merged (409) or already dispositioned (409), a survivor that is missing, the duplicate itself, or
    merged into another lead (400, field ``into``); a Duplicate code that is inactive or wants a reason
    from its list (400, as ``lead_disposition`` says).
    """
    now = now or timezone.now()
    if not Lead.objects.filter(pk=duplicate_id).exists():
        raise NotAllowed("No such lead.")
    survivor_exists = into_id is not None and into_id != duplicate_id and Lead.objects.filter(pk=into_id).exists()
    # Every desk service locks the assignment first; two leads' rows in id order, so two merges never deadlock.
    ids = sorted({duplicate_id, into_id} if survivor_exists else {duplicate_id})
    assignments = {lead_id: assignment_locked(lead_id) for lead_id in ids}
    if not may_disposition(user, assignments[duplicate_id]):
        raise NotAllowed("Only the lead's owner or their manager may merge it.")
    if into_id is None:
        raise MergeInvalid({"into": ["Name the lead this one duplicates (its id or email)."]})
    if into_id == duplicate_id:
        raise MergeInvalid({"into": ["A lead cannot be merged into itself."]})
    if not survivor_exists:
        raise MergeInvalid({"into": [f"No lead #{into_id}."]})
    leads = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    duplicate, survivor = leads[duplicate_id], leads[into_id]
    if duplicate.merged_into_id is not None:
        raise AlreadyMerged(f"This lead is already merged into lead #{duplicate.merged_into_id}.")
    if survivor.merged_into_id is not None:
        raise MergeInvalid({"into": [f"Lead #{survivor.pk} is itself merged into lead #{survivor.merged_into_id}; "
                                     f"merge into that one."]})
    if assignments[duplicate_id].state == LeadState.CLOSED:
        raise AlreadyDispositioned("This lead already has a disposition; reopen it before merging.")
    code = DispositionCode.objects.filter(slug=DUPLICATE_CODE, is_active=True).first()
    if code is None:
        raise MergeInvalid({"code": ["The “Duplicate” disposition code is missing or inactive."]})

    moved = {name: model.objects.filter(lead_id=duplicate_id).update(lead_id=into_id)  # type: ignore[attr-defined]
             for name, model in MOVED.items()}
    moved["answers"] = (Answer.objects.filter(lead_id=duplicate_id)
                        .exclude(item_id__in=Answer.objects.filter(lead_id=into_id).values("item_id"))
                        .update(lead_id=into_id))
    # Leads merged into the duplicate earlier now point at the survivor: a merged email is always one hop away.
    moved["merged_leads"] = Lead.objects.filter(merged_into_id=duplicate_id).update(merged_into_id=into_id)

    before = {"conversion_count": survivor.conversion_count,
              "last_converted_at": survivor.last_converted_at.isoformat() if survivor.last_converted_at else None}
    survivor.conversion_count += duplicate.conversion_count
    if duplicate.last_converted_at and (not survivor.last_converted_at
                                        or duplicate.last_converted_at > survivor.last_converted_at):
        survivor.last_converted_at = duplicate.last_converted_at
        survivor.last_form_type = duplicate.last_form_type or survivor.last_form_type
        survivor.last_asset = duplicate.last_asset or survivor.last_asset
    survivor.updated_at = now
    survivor.save(update_fields=["conversion_count", "last_converted_at", "last_form_type", "last_asset",
                                 "updated_at"])
    status_before = duplicate.status
    Lead.objects.filter(pk=duplicate_id).update(merged_into_id=into_id, updated_at=now)

    default_reason = f"Merged into lead #{into_id}"
    disposition = lead_disposition(
        duplicate_id, user=user, code=code, reason=reason or ("" if code.reasons else default_reason),
        note=(f"Duplicate of {_label(survivor)} (lead #{into_id}); its history moved there."
              + (f"\n{note.strip()}" if note.strip() else ""))[:2000],
        now=now)
    counts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in moved.items() if n)
    timeline_record(lead=Lead(pk=duplicate_id), kind=MERGE_KIND, actor=user, occurred_at=now,
                    summary=f"Merged into {_label(survivor)} (lead #{into_id})" + (f": moved {counts}" if counts else ""),
                    data={"into": into_id, "moved": moved, "disposition": disposition.pk,
                          "before": {"merged_into": None, "status": status_before},
                          "after": {"merged_into": into_id, "status": LEAD_STATUS_OF[code.outcome]}})
    timeline_record(lead=survivor, kind=MERGE_KIND, actor=user, occurred_at=now,
                    summary=f"Merged in the duplicate {_label(duplicate)} (lead #{duplicate_id})"
                    + (f": {counts} moved here" if counts else ""),
                    data={"from": duplicate_id, "moved": moved, "before": before,
                          "after": {"conversion_count": survivor.conversion_count,
                                    "last_converted_at": survivor.last_converted_at.isoformat()
                                    if survivor.last_converted_at else None}})
    lead_rescore(into_id, trigger="merge", now=now)
    return Merge(duplicate_id=duplicate_id, survivor_id=into_id, moved=moved, disposition=disposition)
