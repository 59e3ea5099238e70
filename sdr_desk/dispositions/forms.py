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
