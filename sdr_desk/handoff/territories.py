"""The managers' handoff settings: each AE team's territory, order and acceptance SLA, each SDR team's fallback.

The rows are ``HandoffSettings`` (one per team, made on first save). A manager sees and changes only the teams
they manage; a superuser every team. Each save bumps the row's ``version``, which the handoffs it routes record.
"""

from __future__ import annotations

from typing import Any

import pycountry
from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from scoring.models import REGIONS
from sdr_desk.handoff.models import HandoffSettings
from sdr_desk.handoff.routing import ae_teams
from sdr_desk.routing.models import Team
from sdr_desk.routing.ownership import NotAllowed


def country_or_region(value: str) -> bool:
    """An ISO 3166 alpha-2 country code (``DE``) or one of routing's regions (``EMEA``, ``DACH``...)."""
    value = value.upper()
    return value in REGIONS or (len(value) == 2 and pycountry.countries.get(alpha_2=value) is not None)


class CountriesField(forms.CharField):
    """Countries and regions, comma- or space-separated, stored upper-case and each once."""

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        parts = (value or "").replace(",", " ").split()
        return list(dict.fromkeys(part.strip().upper() for part in parts))

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def validate(self, value: list[str]) -> None:
        unknown = [code for code in value if not country_or_region(code)]
        if unknown:
            raise forms.ValidationError(
                f"Not an ISO country code or a region: {', '.join(unknown)}. Use codes like US, DE, GB or "
                f"regions like {', '.join(sorted(REGIONS)[:4])}.")


class AeTeamSettingsForm(forms.ModelForm):
    countries = CountriesField(required=False, help_text="empty: every lead no other territory takes",
                               widget=forms.TextInput(attrs={"placeholder": "e.g. US, CA or NA"}))
    acceptance_sla_hours = forms.IntegerField(label="Acceptance SLA (business hours)",
                                              error_messages={"min_value": "Give the AE at least an hour."},
                                              min_value=1, max_value=24 * 30)

    class Meta:
        model = HandoffSettings
        fields = ["countries", "position", "acceptance_sla_hours"]
        labels = {"position": "Order tried"}


class SdrTeamSettingsForm(forms.ModelForm):
    class Meta:
        model = HandoffSettings
        fields = ["ae_team"]
        labels = {"ae_team": "Fallback AE team"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ae_team"].queryset = Team.objects.filter(pk__in=[t.pk for t in ae_teams()]).order_by("name")
        self.fields["ae_team"].empty_label = "None: the territories, then the only AE team"


def teams_managed(user: AbstractBaseUser) -> list[Team]:
    teams = Team.objects.order_by("name")
    if not getattr(user, "is_superuser", False):
        teams = teams.filter(manager=user)
    return list(teams)


def settings_form(team: Team, *, is_ae: bool, data: Any = None) -> forms.ModelForm:
    row = HandoffSettings.objects.filter(team=team).first() or HandoffSettings(team=team)
    form_class = AeTeamSettingsForm if is_ae else SdrTeamSettingsForm
    form = form_class(data, instance=row, prefix=f"team{team.pk}")
    for name, field in form.fields.items():
        # Each team's row is a table row; its inputs belong to that row's form (the HTML ``form`` attribute).
        field.widget.attrs.update({"form": f"settings-{team.pk}", "aria-label": f"{team.name}: {field.label or name}"})
    return form


@transaction.atomic
def territory_save(team_id: int, *, user: AbstractBaseUser, data: Any) -> tuple[HandoffSettings | None,
                                                                                   forms.ModelForm]:
    """Save one team's handoff settings from the posted form; (None, the bound form) when it has field errors.

    Only the team's manager (or a superuser) may (NotAllowed). The row is locked while it is changed, so
    two managers' saves each bump the version once.
    """
    team = Team.objects.filter(pk=team_id).first()
    if team is None or team not in teams_managed(user):
        raise NotAllowed("Only the team's manager may change its handoff settings.")
    HandoffSettings.objects.select_for_update().filter(team=team).first()
    form = settings_form(team, is_ae=team in ae_teams(), data=data)
    if not form.is_valid():
        return None, form
    return form.save(), form
