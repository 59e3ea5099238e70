"""The managers' forms for templates, steps and variants: ModelForms, so each model's ``clean`` gives the
errors by field; the views hand the cleaned instance to ``editing``."""

from __future__ import annotations

from typing import Any

from django import forms

from sdr_desk.sequences.models import SequenceTemplate, Step, StepVariant

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


class TemplateForm(forms.ModelForm):
    class Meta:
        model = SequenceTemplate
        fields = ["name", "team", "tier", "auto_enroll"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        """The team field offers the teams ``user`` may shape sequences for (all, for an admin)."""
        from sdr_desk.sequences.editing import sequence_teams

        super().__init__(*args, **kwargs)
        teams = sequence_teams(user)
        if teams is not None:
            self.fields["team"].queryset = self.fields["team"].queryset.filter(pk__in=teams)


class StepForm(forms.ModelForm):
    weekdays = forms.TypedMultipleChoiceField(choices=WEEKDAYS, coerce=int, required=False,
                                              widget=forms.CheckboxSelectMultiple,
                                              help_text="the days the send window opens, in the lead's time zone")

    class Meta:
        model = Step
        fields = ["channel", "mode", "delay_business_days", "delay_minutes", "window_start", "window_end",
                  "weekdays", "subject", "body"]
        widgets = {"window_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "window_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                   "body": forms.Textarea(attrs={"rows": 8})}
        help_texts = {"subject": "email steps; variables: {first_name} {company} {asset} {rep_name} {rep_signature}"}

    def __init__(self, *args, position: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if position is not None:
            self.instance.position = position  # a new step's place, so "minutes on a later step" is checked


class VariantForm(forms.ModelForm):
    class Meta:
        model = StepVariant
        fields = ["label", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}
