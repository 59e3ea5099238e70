"""The managers' pages to create and edit sequence templates, their steps and A/B variants.

Managers (and admins) only: ``sequences.change_sequencetemplate``, and of a team's sequence only its manager
or an admin (``editing.may_edit_sequence``; a sequence of no team is shared by the managers): another team's
manager gets a 403 on every page and action, and the team field offers only the teams they manage. A bad form is shown again with its
errors by field and a 400; nothing is saved. A step or variant is deleted only while no lead has run it
(``editing.step_delete`` / ``variant_delete``); a refusal comes back as a message on the sequence's page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from sdr_desk.sequences.editing import (
    MANAGE,
    DeleteRefused,
    StepMoveRefused,
    may_edit_sequence,
    sequence_teams,
    step_delete,
    step_move,
    step_next_position,
    step_save,
    template_active_set,
    template_save,
    variant_delete,
    variant_save,
)
from sdr_desk.sequences.forms import StepForm, TemplateForm, VariantForm
from sdr_desk.sequences.models import SequenceTemplate, Step, StepVariant


def _editable(request: HttpRequest, template: SequenceTemplate) -> SequenceTemplate:
    if not may_edit_sequence(request.user, template, teams=sequence_teams(request.user)):
        raise PermissionDenied(f"{template.name} belongs to {template.team}: only its manager or an admin may change it.")
    return template


def _form_page(request: HttpRequest, form, *, title: str, back: str, template: SequenceTemplate | None = None,
               step: Step | None = None) -> HttpResponse:
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "sequences/edit_form.html", {"form": form, "title": title, "back": back,
                                                        "template": template, "step": step}, status=status)


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE, raise_exception=True)
def template_add_view(request: HttpRequest) -> HttpResponse:
    form = TemplateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        template = template_save(form.instance)
        messages.success(request, f"Sequence {template.name} created: add its steps.")
        return redirect("sequence-template-edit", pk=template.pk)
    return _form_page(request, form, title="New sequence", back="/sequences/")


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE, raise_exception=True)
def template_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    template = _editable(request, get_object_or_404(SequenceTemplate.objects.select_related("team"), pk=pk))
    form = TemplateForm(request.POST or None, instance=template, user=request.user)
    if request.method == "POST" and form.is_valid():
        template_save(form.instance)
        messages.success(request, "Saved.")
        return redirect("sequence-template-edit", pk=template.pk)
    steps = list(template.steps.prefetch_related("variants").order_by("position"))
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "sequences/template_edit.html", {"template": template, "form": form, "steps": steps},
                  status=status)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def template_active_view(request: HttpRequest, pk: int) -> HttpResponse:
    template = _editable(request, get_object_or_404(SequenceTemplate.objects.select_related("team"), pk=pk))
    active = request.POST.get("active") == "1"
    template_active_set(template, active=active)
    messages.success(request, f"{template.name} is {'active' if active else 'inactive: it enrols nobody new'}.")
    return redirect("sequence-template-edit", pk=template.pk)


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE, raise_exception=True)
def step_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    template = _editable(request, get_object_or_404(SequenceTemplate.objects.select_related("team"), pk=pk))
    form = StepForm(request.POST or None, instance=Step(template=template), position=step_next_position(template))
    if request.method == "POST" and form.is_valid():
        step_save(form.instance)
        messages.success(request, f"Step {form.instance.position + 1} added.")
        return redirect("sequence-template-edit", pk=template.pk)
    return _form_page(request, form, title=f"{template.name}: new step", back=f"/sequences/{template.pk}/",
                      template=template)


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE, raise_exception=True)
def step_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(Step.objects.select_related("template__team"), pk=pk)
    _editable(request, step.template)
    form = StepForm(request.POST or None, instance=step)
    if request.method == "POST" and form.is_valid():
        step_save(form.instance)
        messages.success(request, f"Step {step.position + 1} saved.")
        return redirect("sequence-template-edit", pk=step.template_id)
    return _form_page(request, form, title=f"{step.template.name}: step {step.position + 1}",
                      back=f"/sequences/{step.template_id}/", template=step.template, step=step)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def step_move_view(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(Step.objects.select_related("template__team"), pk=pk)
    _editable(request, step.template)
    try:
        step_move(step, up=request.POST.get("direction") == "up")
    except StepMoveRefused as refused:
        messages.error(request, " ".join(refused.message_dict["position"]))
    return redirect("sequence-template-edit", pk=step.template_id)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def step_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a step no lead has run; one that has is kept, and the page says why."""
    step = get_object_or_404(Step.objects.select_related("template__team"), pk=pk)
    _editable(request, step.template)
    number = f"Step {step.position + 1} ({step.get_channel_display()})"
    try:
        step_delete(step=step, by=request.user)
    except DeleteRefused as refused:
        messages.error(request, refused.message)
    else:
        after = "; the steps after it moved up" if Step.objects.filter(template_id=step.template_id,
                                                                      position__gte=step.position).exists() else ""
        messages.success(request, f"{number} deleted{after}.")
    return redirect("sequence-template-edit", pk=step.template_id)


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE, raise_exception=True)
def variant_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    step = get_object_or_404(Step.objects.select_related("template__team"), pk=pk)
    _editable(request, step.template)
    form = VariantForm(request.POST or None, instance=StepVariant(step=step))
    if request.method == "POST" and form.is_valid():
        variant_save(form.instance)
        messages.success(request, f"Variant {form.instance.label} added to step {step.position + 1}.")
        return redirect("sequence-template-edit", pk=step.template_id)
    return _form_page(request, form, title=f"{step.template.name}: step {step.position + 1}, new A/B variant",
                      back=f"/sequences/{step.template_id}/", template=step.template, step=step)


@require_http_methods(["GET", "POST"])
@permission_required(MANAGE, raise_exception=True)
def variant_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    variant = get_object_or_404(StepVariant.objects.select_related("step__template__team"), pk=pk)
    step = variant.step
    _editable(request, step.template)
    form = VariantForm(request.POST or None, instance=variant)
    if request.method == "POST" and form.is_valid():
        variant_save(form.instance)
        messages.success(request, f"Variant {variant.label} saved.")
        return redirect("sequence-template-edit", pk=step.template_id)
    return _form_page(request, form, title=f"{step.template.name}: step {step.position + 1}, variant {variant.label}",
                      back=f"/sequences/{step.template_id}/", template=step.template, step=step)


@require_POST
@permission_required(MANAGE, raise_exception=True)
def variant_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an A/B variant no lead got; one that a lead got is kept, and the page says why."""
    variant = get_object_or_404(StepVariant.objects.select_related("step__template__team"), pk=pk)
    step = variant.step
    _editable(request, step.template)
    try:
        variant_delete(variant=variant, by=request.user)
    except DeleteRefused as refused:
        messages.error(request, refused.message)
    else:
        left = step.variants.count()
        after = {0: "it uses its own text again", 1: "its one variant goes to every lead"}.get(
            left, f"its {left} variants share its leads")
        messages.success(request, f"Variant {variant.label} of step {step.position + 1} deleted: {after}.")
    return redirect("sequence-template-edit", pk=step.template_id)
