"""The managers' writes to sequence templates, their steps and A/B variants (the pages in ``views_manage``).

Each saves one row after ``full_clean`` (the models' ``clean`` gives the field errors), in a transaction.
A change applies to what is scheduled from then on: a run already scheduled keeps its due time, and an
enrolment moves on to whatever step follows its current one in the new order.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max

from sdr_desk.ordering import neighbour_swap
from sdr_desk.sequences.models import SequenceTemplate, Step, StepVariant


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
    # Two passes: the unique (template, position) holds at every row of the UPDATE.
    offset = len(steps) + 1000
    Step.objects.filter(template_id=step.template_id).update(position=F("position") + offset)
    Step.objects.bulk_update(steps, ["position"])
    return next(row for row in steps if row.pk == step.pk)


@transaction.atomic
def variant_save(variant: StepVariant) -> StepVariant:
    variant.full_clean()
    variant.save()
    return variant
