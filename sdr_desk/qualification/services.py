"""The one way to answer a checklist item, the check a disposition runs, and managing a team's checklist."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from inbound.models import Lead, TimelineEntry
from inbound.timeline import timeline_record
from sdr_desk.ordering import neighbour_swap
from sdr_desk.qualification.models import ANSWER_MAX, Answer, ChecklistItem
from sdr_desk.routing.models import LeadAssignment, LeadState, Team
from sdr_desk.routing.ownership import FieldsInvalid, NotAllowed, assignment_locked

QUALIFICATION_KIND = "qualification"
# Typing saves every pause; one person's edits of one answer within this window are one timeline entry.
BURST = timedelta(minutes=10)


class AnswerInvalid(FieldsInvalid):
    pass


def may_answer(user: AbstractBaseUser, assignment: LeadAssignment | None) -> bool:
    """The lead's owner while it is open; the manager of its team at any time."""
    if assignment is None or assignment.team_id is None:
        return False
    if assignment.team.manager_id == user.pk or getattr(user, "is_superuser", False):
        return True
    return assignment.owner_id == user.pk and assignment.state != LeadState.CLOSED


def checklist(team_id: int | None) -> list[ChecklistItem]:
    """The team's active items, in order."""
    if team_id is None:
        return []
    return list(ChecklistItem.objects.filter(team_id=team_id, is_active=True).order_by("position", "id"))


def lead_checklist(lead_id: int, team_id: int | None) -> list[tuple[ChecklistItem, Answer | None]]:
    """Each active item of the lead's team with the lead's answer to it (two queries)."""
    items = checklist(team_id)
    answers = {a.item_id: a for a in Answer.objects.filter(lead_id=lead_id, item__in=items)
               .select_related("answered_by")} if items else {}
    return [(item, answers.get(item.pk)) for item in items]


def missing_required(lead_id: int, team_id: int | None) -> list[str]:
    """The labels of the team's required items the lead has no answer to yet (one query)."""
    if team_id is None:
        return []
    answered = Answer.objects.filter(lead_id=lead_id).exclude(text="").values("item_id")
    return list(ChecklistItem.objects.filter(team_id=team_id, is_active=True, required=True)
                .exclude(pk__in=answered).order_by("position", "id").values_list("label", flat=True))


def answers_check(lead_id: int, assignment: LeadAssignment, code: Any) -> dict[str, list[str]]:
    """A disposition check (``disposition_checks``): a code that requires the checklist needs its required answers."""
    if not getattr(code, "requires_answers", False):
        return {}
    missing = missing_required(lead_id, assignment.team_id)
    if not missing:
        return {}
    return {"answers": [f"“{code.name}” needs the required checklist answers first: {', '.join(missing)}."]}


def _item_of(team_id: int, item: int | str) -> ChecklistItem | None:
    items = ChecklistItem.objects.filter(team_id=team_id, is_active=True)
    if isinstance(item, int) or (isinstance(item, str) and item.isdigit()):
        return items.filter(pk=int(item)).first()
    return items.filter(key=item).first()


@transaction.atomic
def answer_record(lead_id: int, *, user: AbstractBaseUser, item: int | str, text: str,
                  now: datetime | None = None) -> Answer:
    """Save the answer to one item (the owner as they type, or their manager); the change lands in the timeline.

    An unchanged answer writes nothing. Edits by one person of one answer within ``BURST`` update that
    burst's timeline entry (its ``before`` stays the answer the burst started from), so a rep typing
    a paragraph leaves one entry, not forty.
    """
    now = now or timezone.now()
    text = text.strip()
    if len(text) > ANSWER_MAX:
        raise AnswerInvalid({"text": [f"An answer is at most {ANSWER_MAX:,} characters."]})
    if not Lead.objects.filter(pk=lead_id).exists():
        raise NotAllowed("No such lead.")
    assignment = assignment_locked(lead_id)
    if not may_answer(user, assignment):
        raise NotAllowed("Only the lead's owner or their manager answers its checklist.")
    found = _item_of(assignment.team_id, item)
    if found is None:
        raise AnswerInvalid({"item": ["No such item on this team's checklist."]})
    answer = Answer.objects.select_for_update().filter(lead_id=lead_id, item=found).first()
    before = answer.text if answer else ""
    if before == text:
        return answer or Answer(lead_id=lead_id, item=found, text="", answered_at=now)
    if answer is None:
        answer = Answer(lead_id=lead_id, item=found)
    answer.text, answer.answered_by, answer.answered_at = text, user, now
    answer.save()
    summary = (f"Qualification: {found.label}: “{text[:160]}{'…' if len(text) > 160 else ''}”" if text
               else f"Qualification: {found.label} cleared")
    last = (TimelineEntry.objects.filter(lead_id=lead_id, kind=QUALIFICATION_KIND, data__item=found.key)
            .order_by("-occurred_at", "-id").first())
    if last is not None and last.actor_id == user.pk and last.occurred_at >= now - BURST:
        last.summary, last.occurred_at = summary[:500], now
        last.data = {**last.data, "after": text}
        last.save(update_fields=["summary", "occurred_at", "data"])
    else:
        timeline_record(lead=Lead(pk=lead_id), kind=QUALIFICATION_KIND, summary=summary, actor=user,
                        occurred_at=now, data={"item": found.key, "label": found.label, "before": before,
                                               "after": text})
    return answer


# --- a manager shapes the team's checklist ------------------------------------------------------------


def may_edit_checklist(user: AbstractBaseUser, team: Team) -> bool:
    return user.has_perm("qualification.change_checklistitem") and (
        team.manager_id == user.pk or bool(getattr(user, "is_superuser", False)))


def _item_errors(label: str, help_text: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not label:
        errors["label"] = ["Name the data point, e.g. “Timeline”."]
    elif len(label) > 100:
        errors["label"] = ["At most 100 characters."]
    if len(help_text) > 300:
        errors["help_text"] = ["At most 300 characters."]
    return errors


def _editable(team: Team, user: AbstractBaseUser) -> None:
    if not may_edit_checklist(user, team):
        raise NotAllowed("Only the team's manager shapes its checklist.")


@transaction.atomic
def item_add(team: Team, *, user: AbstractBaseUser, label: str, help_text: str = "",
             required: bool = False) -> ChecklistItem:
    """A new item at the end; a retired item of the same name comes back, with its answers."""
    _editable(team, user)
    label, help_text = label.strip(), help_text.strip()
    errors = _item_errors(label, help_text)
    key = slugify(label).replace("-", "_")[:50] or "item"
    if not errors and ChecklistItem.objects.filter(team=team, is_active=True, key=key).exists():
        errors["label"] = [f"“{label}” is on the checklist already."]
    if errors:
        raise FieldsInvalid(errors)
    end = (ChecklistItem.objects.filter(team=team, is_active=True).aggregate(m=Max("position"))["m"] or 0) + 10
    item, _ = ChecklistItem.objects.update_or_create(
        team=team, key=key, defaults={"label": label, "help_text": help_text, "required": required, "position": end,
                                      "is_active": True})
    return item


def _team_item(team: Team, item_id: int) -> ChecklistItem:
    item = ChecklistItem.objects.select_for_update().filter(team=team, pk=item_id, is_active=True).first()
    if item is None:
        raise FieldsInvalid({"item": ["No such item on this team's checklist."]})
    return item


@transaction.atomic
def item_update(team: Team, item_id: int, *, user: AbstractBaseUser, label: str, help_text: str = "",
                required: bool = False) -> ChecklistItem:
    _editable(team, user)
    item = _team_item(team, item_id)
    label, help_text = label.strip(), help_text.strip()
    errors = _item_errors(label, help_text)
    if errors:
        raise FieldsInvalid(errors)
    item.label, item.help_text, item.required = label, help_text, required  # the key stays: answers keep it
    item.save(update_fields=["label", "help_text", "required"])
    return item


@transaction.atomic
def item_move(team: Team, item_id: int, *, user: AbstractBaseUser, up: bool) -> None:
    """Swap the item with its neighbour above (``up``) or below; renumbered, so ties cannot stick."""
    _editable(team, user)
    items = list(ChecklistItem.objects.select_for_update().filter(team=team, is_active=True)
                 .order_by("position", "id"))
    if neighbour_swap(items, item_id, up=up) is None:
        raise FieldsInvalid({"item": ["No such item on this team's checklist."]})
    ChecklistItem.objects.bulk_update(items, ["position"])


@transaction.atomic
def item_remove(team: Team, item_id: int, *, user: AbstractBaseUser) -> ChecklistItem:
    """Retire the item: it leaves the checklist; answers given to it stay in the leads' history."""
    _editable(team, user)
    item = _team_item(team, item_id)
    item.is_active = False
    item.save(update_fields=["is_active"])
    return item
