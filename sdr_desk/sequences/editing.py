"""The managers' writes to sequence templates, their steps and A/B variants (the pages in ``views_manage``).

Each saves one row after ``full_clean`` (the models' ``clean`` gives the field errors), in a transaction.
A change applies to what is scheduled from then on: a run already scheduled keeps its due time, and an
enrolment moves on to whatever step follows its current one in the new order.
"""

from __future__ import annotations

from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max

from sdr_desk.ordering import neighbour_swap
from sdr_desk.roles import Role
from sdr_desk.sequences.models import Outbox, SequenceTemplate, Step, StepRun, StepVariant

MANAGE = "sequences.change_sequencetemplate"


def sequence_teams(user: AbstractBaseUser) -> set[int] | None:
    """The teams whose sequences ``user`` may shape: None for every team (admins), else the teams they manage
    (empty for someone without the managers' permission). A sequence of no team ("any team") is shared by the
    managers: anyone with the permission may shape it."""
    from sdr_desk.homes import desk_roles
    from sdr_desk.routing.models import Team

    if not user.has_perm(MANAGE):
        return set()
    if Role.ADMIN in desk_roles(user):
        return None
    return set(Team.objects.filter(manager=user).values_list("pk", flat=True))


def may_edit_sequence(user: AbstractBaseUser, template: SequenceTemplate, *, teams: set[int] | None) -> bool:
    """Whether ``user`` may change ``template``, its steps and variants: its team's manager, an admin, or, for a
    sequence of no team, any manager. ``teams``: ``sequence_teams(user)``, read once by the caller."""
    if not user.has_perm(MANAGE):
        return False
    return template.team_id is None or teams is None or template.team_id in teams


@transaction.atomic
def template_save(template: SequenceTemplate) -> SequenceTemplate:
    template.full_clean()
    template.save()
    return template


@transaction.atomic
def template_active_set(template: SequenceTemplate, *, active: bool) -> SequenceTemplate:
    """Deactivated, it enrols nobody new (by hand or on assignment); the leads in it go on to the end."""
    template.is_active = active
    template.save(update_fields=["is_active"])
    return template


def step_next_position(template: SequenceTemplate) -> int:
    last = template.steps.aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


@transaction.atomic
def step_save(step: Step) -> Step:
    """A new step goes last (its position is set before validation, so a delay in minutes is checked)."""
    SequenceTemplate.objects.select_for_update().filter(pk=step.template_id).values_list("pk", flat=True).get()
    if step.pk is None:
        step.position = step_next_position(step.template)
    step.full_clean()
    step.save()
    return step


class StepMoveRefused(ValidationError):
    pass


@transaction.atomic
def step_move(step: Step, *, up: bool) -> Step:
    """Swap the step with its neighbour (``neighbour_swap``) and number the template's steps 0, 1, 2... again.

    Refused when the step delayed in minutes (only the first may be) would no longer be first.
    """
    SequenceTemplate.objects.select_for_update().filter(pk=step.template_id).values_list("pk", flat=True).get()
    steps = list(Step.objects.select_for_update().filter(template_id=step.template_id).order_by("position", "id"))
    neighbour_swap(steps, step.pk, up=up, step=1)
    for row in steps:
        row.position -= 1  # neighbour_swap counts from 1; the first step is position 0
    later_in_minutes = [row for row in steps if row.position != 0 and row.delay_minutes is not None]
    if later_in_minutes:
        raise StepMoveRefused({"position": (f"Step {later_in_minutes[0].get_channel_display()} is delayed in minutes, "
                                            "which only the first step may be: give it a delay in business days "
                                            "first.")})
    _positions_save(step.template_id, steps)
    return next(row for row in steps if row.pk == step.pk)


def _positions_save(template_id: int, steps: list[Step]) -> None:
    """Save the steps' new positions in two passes: the unique (template, position) holds at every row."""
    offset = len(steps) + 1000
    Step.objects.filter(template_id=template_id).update(position=F("position") + offset)
    Step.objects.bulk_update(steps, ["position"])


@transaction.atomic
def variant_save(variant: StepVariant) -> StepVariant:
    variant.full_clean()
    variant.save()
    return variant


class DeleteRefused(ValidationError):
    """A step or variant that must stay: it has run for leads (their history points at it), or removing it
    would leave its step invalid. The message says why and what to do instead."""


def _leads(count: int) -> str:
    return f"{count} lead{'' if count == 1 else 's'}"


def _deletion_logged(row: Step | StepVariant, *, by: AbstractBaseUser, message: str) -> None:
    """The admin's history keeps who deleted what (the row itself is gone), as for a delete in the admin."""
    LogEntry.objects.log_actions(by.pk, [row], DELETION, change_message=message, single_object=True)


@transaction.atomic
def step_delete(*, step: Step, by: AbstractBaseUser) -> None:
    """Delete a step that never ran, and number the template's other steps 0, 1, 2... again.

    Refused (``DeleteRefused``) once it has run for any lead (a ``StepRun`` or an ``Outbox`` row): deleting it
    would cascade their history away. The template's row is locked as for the other step writes, then the
    step's own row: an enrolment scheduling a run of it at the same moment waits, so it is counted or fails.
    """
    SequenceTemplate.objects.select_for_update().filter(pk=step.template_id).values_list("pk", flat=True).get()
    step = Step.objects.select_for_update().get(pk=step.pk)
    runs = StepRun.objects.filter(step=step).values("enrollment__lead_id")
    sent = Outbox.objects.filter(step=step).values("enrollment__lead_id")
    leads = runs.union(sent).count()
    number = f"Step {step.position + 1} ({step.get_channel_display()})"
    if leads:
        raise DeleteRefused(f"{number} was not deleted: it has run for {_leads(leads)}, whose history points at it. "
                            "To stop using it, deactivate this sequence and make a new one without it.")
    steps = list(Step.objects.select_for_update().filter(template_id=step.template_id).exclude(pk=step.pk)
                 .order_by("position", "id"))
    later_in_minutes = [row for row in steps[1:] if row.delay_minutes is not None]
    if later_in_minutes:  # cannot happen through clean(); kept so a bad row never becomes a later minutes step
        raise DeleteRefused(f"{number} was not deleted: step {later_in_minutes[0].get_channel_display()} would "
                            "follow it delayed in minutes, which only the first step may be.")
    _deletion_logged(step, by=by, message=f"{number} deleted from the sequence page")
    step.delete()
    for position, row in enumerate(steps):
        row.position = position
    _positions_save(step.template_id, steps)


@transaction.atomic
def variant_delete(*, variant: StepVariant, by: AbstractBaseUser) -> None:
    """Delete an A/B variant no lead got. The step's other variants share its runs from then on; with none
    left, the step's own subject and body are used again, so they must pass ``Step.clean()`` first.

    The step's row is locked, as ``services.variant_pick`` does before it gives a run a variant: a run being
    given this variant at the same moment is either counted here or given another one.
    """
    step = Step.objects.select_for_update().get(pk=variant.step_id)
    variant = StepVariant.objects.select_for_update().get(pk=variant.pk)
    name = f"Variant {variant.label} of step {step.position + 1} ({step.get_channel_display()})"
    leads = StepRun.objects.filter(variant=variant).values("enrollment__lead_id").distinct().count()
    if leads:
        raise DeleteRefused(f"{name} was not deleted: {_leads(leads)} got it, and their history and the A/B rates "
                            "point at it. To stop using it, deactivate this sequence and make a new one.")
    if not step.variants.exclude(pk=variant.pk).exists():
        try:
            step.full_clean()
        except ValidationError as error:
            problems = "; ".join(" ".join(texts) for texts in error.message_dict.values())
            raise DeleteRefused(f"{name} was not deleted: it is the step's last variant, and the step's own text, "
                                f"used again without it, is not valid ({problems}). Edit the step first.") from error
    _deletion_logged(variant, by=by, message=f"{name} deleted from the sequence page")
    variant.delete()
