"""The filters every report takes, in the URL: a date range (the viewer's days), a team and a source."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from inbound.models import Source
from sdr_desk.routing.models import Team

DEFAULT_DAYS = 30
MAX_DAYS = 366 * 3


class ReportFilterForm(forms.Form):
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="All teams")
    source = forms.ModelChoiceField(queryset=Source.objects.order_by("name"), required=False,
                                    empty_label="All sources")

    def __init__(self, *args: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        today = timezone.localdate()
        until = data.get("until") or today
        since = data.get("since") or until - timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            self.add_error("until", "The end comes before the start.")
        elif (until - since).days > MAX_DAYS:
            self.add_error("since", f"At most {MAX_DAYS} days at a time.")
        data["since"], data["until"] = since, until
        return data


def default_range() -> tuple[date, date]:
    today = timezone.localdate()
    return today - timedelta(days=DEFAULT_DAYS - 1), today
