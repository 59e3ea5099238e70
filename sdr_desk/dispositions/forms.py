"""The review page's filters: only the teams, reps and sources a manager may look at."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from inbound.models import Source
from sdr_desk.dispositions.models import DispositionCode
from sdr_desk.routing.models import Team


class ReviewFilterForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="All teams")
    rep = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, empty_label="All reps")
    code = forms.ModelChoiceField(queryset=DispositionCode.objects.all(), required=False, empty_label="All codes")
    source = forms.ModelChoiceField(queryset=Source.objects.order_by("name"), required=False,
                                    empty_label="All sources")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    current = forms.BooleanField(required=False, label="Current only")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.order_by("name")
        if not user.is_superuser:
            teams = teams.filter(manager=user)
        self.fields["team"].queryset = teams
        self.fields["rep"].queryset = (get_user_model().objects.filter(rep__team__in=teams)
                                       .order_by("first_name", "username"))
        self.fields["rep"].label_from_instance = lambda u: u.get_full_name() or u.get_username()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end comes before the start.")
        return data


class ReasonsField(forms.CharField):
    """The code's reasons as one per line; the model checks each (unique, at most 200 characters)."""

    widget = forms.Textarea(attrs={"rows": 5, "placeholder": "One reason per line, e.g.\nToo small\nCompetitor"})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        text = (value or "").replace("\r\n", "\n").strip("\n")
        if not text.strip():
            return []
        lines = [line.strip() for line in text.split("\n")]
        if any(not line for line in lines):
            raise forms.ValidationError("One reason per line: remove the empty line.")
        return lines


class DispositionCodeForm(forms.ModelForm):
    """A code as a manager adds or edits it; the slug is fixed once the code exists (the API names it)."""

    reasons = ReasonsField(required=False, help_text="what a rep picks from; leave empty for a free-text reason")

    class Meta:
        model = DispositionCode
        fields = ["name", "slug", "outcome", "reason_required", "reasons", "needs_reengage_date", "requires_answers"]
        help_texts = {"reason_required": "a rep must give a reason", "requires_answers":
                      "refused until the required items of the team's checklist are answered"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["slug"].disabled = True
            self.fields["slug"].help_text = "fixed: the API and past dispositions name it"
