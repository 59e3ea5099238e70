"""The manager's desk forms: routing rules, the routing tester's sample lead, team settings and reps.

Stored shapes stay what the desk's services read (hours as JSON, SLAs in
seconds, the warning as a fraction); these forms only translate them into
what a manager types (hours as "09:00-17:00" per weekday, minutes, percent)
and refuse anything the business-hours calendar would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.forms import BaseModelFormSet, modelformset_factory

from inbound.models import Account, FormType, Lead, Source
from scoring.forms import CommaSeparatedField, LabelledInputsMixin, SourceChoiceField
from scoring.models import Grade, HotLeadCriteria, LeadScore, Tier
from sdr_desk.routing.business_hours import WEEKDAYS, Calendar
from sdr_desk.routing.models import Rep, RoutingRule, Team, TeamHoliday

User = get_user_model()

DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday",
             "sat": "Saturday", "sun": "Sunday"}
HOURS_HINT = "write hours as 09:00-17:00, several separated by commas; leave blank for closed"
_INTERVAL = re.compile(r"\s*(\d{1,2}:\d{2})\s*[-–—]\s*(\d{1,2}:\d{2})\s*")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


def user_label(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()  # type: ignore[attr-defined]


class RowChoiceField(forms.TypedChoiceField):
    """A foreign key picked from rows loaded once for a whole page.

    A ``ModelChoiceField`` queries its rows again for every form of a formset,
    on display and on validation; here the formset loads them once and hands
    them to each form with ``set_rows``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(empty_value=None, required=False, **kwargs)
        self.rows: dict[int, models.Model] = {}

    def set_rows(self, rows: Iterable[models.Model], label: Callable[[Any], str] = str) -> None:
        self.rows = {row.pk: row for row in rows}
        self.choices = [("", "—"), *((pk, label(row)) for pk, row in self.rows.items())]

    def _coerce(self, value: Any) -> Any:
        if value == self.empty_value or value in self.empty_values:
            return self.empty_value
        try:
            return self.rows[int(getattr(value, "pk", value))]
        except (KeyError, ValueError, TypeError):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                  params={"value": value}) from None


class RepUserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return user_label(obj)


def rep_users() -> models.QuerySet:
    """Users who work leads: the only ones a rule, a backup or an escalation may name."""
    return User.objects.filter(rep__isnull=False).select_related("rep__team").order_by("username")


# --- routing rules -------------------------------------------------------------------------


class RoutingRuleForm(LabelledInputsMixin, forms.ModelForm):
    countries = CommaSeparatedField(required=False, label="Countries or regions")
    states = CommaSeparatedField(required=False, label="States")
    industries = CommaSeparatedField(required=False, label="Industries")
    form_types = forms.MultipleChoiceField(choices=FormType.choices, required=False,
                                           widget=forms.CheckboxSelectMultiple, label="Form types")
    tiers = forms.MultipleChoiceField(choices=Tier.choices, required=False, widget=forms.CheckboxSelectMultiple,
                                      label="Tiers")
    grades = forms.MultipleChoiceField(choices=Grade.choices, required=False, widget=forms.CheckboxSelectMultiple,
                                       label="Grades")
    sources = SourceChoiceField(label="Sources")
    target_team = RowChoiceField(label="To team")
    target_rep = RowChoiceField(label="To rep")

    class Meta:
        model = RoutingRule
        fields = ["position", "name", "is_active", "countries", "states", "industries", "employee_min",
                  "employee_max", "sources", "form_types", "tiers", "grades", "target_team", "target_rep"]
        labels = {"position": "Order", "is_active": "On", "employee_min": "Employees from",
                  "employee_max": "Employees to"}

    def __init__(self, *args: Any, teams: list[Team] | None = None, reps: list[Any] | None = None,
                 source_choices: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_team"].set_rows(teams or [])
        self.fields["target_rep"].set_rows(
            reps or [], label=lambda u: f"{user_label(u)} ({u.rep.team or 'no team'})")
        self.fields["sources"].choices = source_choices or []
        for name in ("countries", "states", "industries"):
            self.fields[name].widget.attrs["placeholder"] = "any"

    def clean_countries(self) -> list[str]:
        # Stored upper-case, as routing compares them: "de, emea" means DE and the EMEA region.
        return list(dict.fromkeys(c.upper() for c in self.cleaned_data["countries"]))

    def _post_clean(self) -> None:
        if self.errors:
            # The model's check would run on the row's old values for the fields that failed
            # (or blanks for a new row) and add second, misleading messages.
            return
        super()._post_clean()


class BaseRoutingRuleFormSet(BaseModelFormSet):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        rules = RoutingRule.objects.prefetch_related("sources").order_by("position", "id")
        # Loaded once for every row's choices.
        self.teams = list(Team.objects.order_by("name"))
        self.reps = list(rep_users())
        self.source_choices = list(Source.objects.order_by("name").values_list("pk", "name"))
        # A new rule goes last unless the manager says otherwise.
        next_position = max((r.position for r in rules), default=0) + 10
        super().__init__(*args, queryset=rules, initial=[{"position": next_position}], **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "teams": self.teams, "reps": self.reps,
                "source_choices": self.source_choices}


RoutingRuleFormSet = modelformset_factory(RoutingRule, form=RoutingRuleForm, formset=BaseRoutingRuleFormSet,
                                          extra=1, can_delete=True)


# --- the routing tester's sample lead ------------------------------------------------------


class SampleLeadForm(forms.Form):
    """A lead that exists only in memory, to ask routing "who would get this, and why"."""

    # No max_length: "Germany" deserves "give the code" rather than "at most 2 characters".
    country = forms.CharField(max_length=60, required=False, help_text="ISO code, e.g. DE")
    state = forms.CharField(max_length=100, required=False)
    industry = forms.CharField(max_length=100, required=False)
    employee_count = forms.IntegerField(min_value=0, required=False, label="Employees")
    source = forms.ModelChoiceField(Source.objects.order_by("name"), required=False, empty_label="(none)")
    form_type = forms.ChoiceField(choices=[("", "(none)"), *FormType.choices], required=False, label="Form type")
    tier = forms.ChoiceField(choices=Tier.choices, initial=Tier.HAND_RAISER)
    grade = forms.ChoiceField(choices=[("", "(none)"), *Grade.choices], required=False)
    is_hot = forms.BooleanField(required=False, initial=True, label="Hot")
    email_domain = forms.CharField(max_length=253, required=False, label="Email domain",
                                   help_text="for the account owner check")
    at = forms.DateTimeField(required=False, label="When", help_text="blank: now",
                             widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            raise ValidationError("Give a two-letter ISO country code, e.g. DE.")
        return country

    def clean_email_domain(self) -> str:
        # People paste a whole address as often as a domain.
        return self.cleaned_data["email_domain"].strip().lower().rpartition("@")[2]

    def lead(self) -> tuple[Lead, Account | None]:
        """An unsaved lead with an unsaved score attached, and the stored account of its domain if any.

        Routing reads the lead exactly as it reads a real one (``facts_for``), so
        the tester and live routing cannot disagree; nothing here is ever saved.
        """
        data = self.cleaned_data
        domain = data["email_domain"]
        account = Account.objects.filter(domain=domain).first() if domain else None
        lead = Lead(email=f"sample@{domain or 'example.invalid'}", country=data["country"], state=data["state"],
                    industry=data["industry"], employee_count=data["employee_count"], source=data["source"],
                    last_form_type=data["form_type"], account=account)
        # Assigning the lead to an unsaved score fills the lead's reverse-relation cache: lead.score.
        LeadScore(lead=lead, tier=data["tier"], grade=data["grade"], is_hot=data["is_hot"])
        return lead, account


# --- opening hours as text ----------------------------------------------------------------


def hours_format(intervals: Iterable[Iterable[str]]) -> str:
    return ", ".join("-".join(interval) for interval in intervals)


def hours_parse(text: str) -> list[list[str]]:
    """ "09:00-17:00, 18:00-20:00" -> [["09:00", "17:00"], ["18:00", "20:00"]]; the calendar checks the times."""
    intervals = []
    for part in text.split(","):
        if not part.strip():
            continue
        match = _INTERVAL.fullmatch(part)
        if match is None:
            raise ValueError(f"“{part.strip()}” is not an interval: {HOURS_HINT}.")
        intervals.append([_TIME.sub(lambda m: f"{int(m[1]):02d}:{m[2]}", match[1]),
                          _TIME.sub(lambda m: f"{int(m[1]):02d}:{m[2]}", match[2])])
    return intervals


def _zone_error(name: str) -> str | None:
    try:
        Calendar.from_config(time_zone=name, hours={})
    except ValueError as error:
        return str(error)
    return None


class WeekHoursMixin:
    """Hours edited as one line per weekday, stored as the calendar's JSON in ``hours_attribute``.

    Each day is checked on its own so a message sits beside the day it is about;
    then the whole week goes through ``Calendar.from_config``, as the clock will.
    """

    hours_attribute: str
    never_open_message: str
    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]
    instance: models.Model

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        stored = getattr(self.instance, self.hours_attribute) or {}
        for day in WEEKDAYS:
            self.fields[f"hours_{day}"] = forms.CharField(
                required=False, max_length=200, label=DAY_NAMES[day], initial=hours_format(stored.get(day, [])),
                widget=forms.TextInput(attrs={"placeholder": "closed", "aria-label": DAY_NAMES[day]}))
        self.cleaned_hours: dict[str, list[list[str]]] | None = None

    @property
    def day_fields(self) -> list[forms.BoundField]:
        return [self[f"hours_{day}"] for day in WEEKDAYS]  # type: ignore[index]

    def clean_time_zone(self) -> str:
        name = self.cleaned_data["time_zone"].strip()
        problem = _zone_error(name)
        if problem:
            raise ValidationError(problem[:1].upper() + problem[1:] + ".")
        return name

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        week: dict[str, list[list[str]]] = {}
        failed = False
        for day in WEEKDAYS:
            name = f"hours_{day}"
            if name not in cleaned:
                failed = True
                continue
            try:
                intervals = hours_parse(cleaned[name])
                Calendar.from_config(time_zone="UTC", hours={day: intervals})
            except ValueError as error:
                # The calendar names the day; beside the day's own input that is noise.
                message = str(error).removeprefix(f"{day}: ")
                self.add_error(name, message[:1].upper() + message[1:])  # type: ignore[attr-defined]
                failed = True
                continue
            if intervals:
                week[day] = intervals
        if failed:
            return cleaned
        if not week:
            self.add_error(None, self.never_open_message)  # type: ignore[attr-defined]
            return cleaned
        self.cleaned_hours = week
        return cleaned

    def _post_clean(self) -> None:
        if self.cleaned_hours is not None:
            setattr(self.instance, self.hours_attribute, self.cleaned_hours)
        super()._post_clean()  # type: ignore[misc]

    def _update_errors(self, errors: ValidationError) -> None:
        # The model's clean() may name fields this form edits under other names (the hours
        # JSON, seconds, a fraction); a form refuses errors for fields it lacks, so move them.
        if hasattr(errors, "error_dict"):
            moved: dict[str, list[ValidationError]] = {}
            for field, messages in errors.error_dict.items():
                target = field if field in self.fields or field == NON_FIELD_ERRORS else \
                    getattr(self, "error_fields", {}).get(field, NON_FIELD_ERRORS)
                moved.setdefault(target, []).extend(messages)
            errors = ValidationError(moved)
        super()._update_errors(errors)  # type: ignore[misc]


# --- team settings -------------------------------------------------------------------------

SLA_TIERS = (("hand_raiser", "Hand-raiser"), ("researcher", "Researcher"), ("light", "Light interest"))
MAX_SLA_MINUTES = 60 * 24 * 365


class TeamSettingsForm(WeekHoursMixin, forms.ModelForm):
    hours_attribute = "business_hours"
    never_open_message = "Give the team hours on at least one day: a team that never opens never starts a clock."
    error_fields = {"warn_fraction": "warn_percent", **{f"sla_{t}_seconds": f"sla_{t}_minutes" for t, _ in SLA_TIERS}}

    holidays = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 5, "placeholder": "2026-12-25 Christmas Day"}),
        help_text="one date a line, YYYY-MM-DD, optionally followed by a name; closed all day")
    sla_hand_raiser_minutes = forms.IntegerField(min_value=1, max_value=MAX_SLA_MINUTES, required=False,
                                                 label="Hand-raiser SLA (minutes)", help_text="blank: no SLA")
    sla_researcher_minutes = forms.IntegerField(min_value=1, max_value=MAX_SLA_MINUTES, required=False,
                                                label="Researcher SLA (minutes)", help_text="blank: no SLA")
    sla_light_minutes = forms.IntegerField(min_value=1, max_value=MAX_SLA_MINUTES, required=False,
                                           label="Light-interest SLA (minutes)", help_text="blank: no SLA")
    warn_percent = forms.IntegerField(min_value=1, max_value=99, label="Warn at (% of the SLA)",
                                      help_text="the card turns amber when this share has passed")
    backup_rep = RepUserChoiceField(queryset=None, required=False, empty_label="(none)")

    class Meta:
        model = Team
        fields = ["visibility", "time_zone", "after_hours", "follow_the_sun_team", "hot_criteria", "backup_rep",
                  "escalation_path", "claim_touch_minutes", "escalation_streak_limit"]
        labels = {"time_zone": "Time zone", "after_hours": "After hours", "follow_the_sun_team": "Follow-the-sun team",
                  "hot_criteria": "Hot-lead criteria", "escalation_path": "Escalation",
                  "claim_touch_minutes": "Claim expires after (minutes)",
                  "escalation_streak_limit": "Set a rep away after escalations in a row"}
        widgets = {"time_zone": forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team: Team = self.instance
        self.fields["backup_rep"].queryset = rep_users()
        self.fields["follow_the_sun_team"].queryset = Team.objects.exclude(pk=team.pk).order_by("name")
        self.fields["follow_the_sun_team"].empty_label = "(none)"
        self.fields["hot_criteria"].queryset = HotLeadCriteria.objects.order_by("name")
        self.fields["hot_criteria"].empty_label = "(the default criteria)"
        for tier, _ in SLA_TIERS:
            seconds = team.sla_seconds(tier)
            # Shown rounded up: a 90-second SLA must not read as 1 minute and be saved as 60 seconds unasked.
            self.fields[f"sla_{tier}_minutes"].initial = None if seconds is None else -(-seconds // 60)
        self.fields["warn_percent"].initial = round(team.warn_fraction * 100)
        if team.pk:
            self.fields["holidays"].initial = "\n".join(
                f"{h.date:%Y-%m-%d} {h.name}".strip() for h in team.holidays.order_by("date"))
        self.cleaned_holidays: dict[date, str] = {}

    # The page's groups of settings, in order.
    @property
    def routing_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("visibility", "hot_criteria", "backup_rep", "claim_touch_minutes")]

    @property
    def after_hours_fields(self) -> list[forms.BoundField]:
        return [self["after_hours"], self["follow_the_sun_team"]]

    @property
    def speed_fields(self) -> list[forms.BoundField]:
        return [*(self[f"sla_{tier}_minutes"] for tier, _ in SLA_TIERS), self["warn_percent"],
                self["escalation_path"], self["escalation_streak_limit"]]

    def clean_holidays(self) -> str:
        text = self.cleaned_data["holidays"]
        holidays: dict[date, str] = {}
        problems = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            day_text, _, name = line.strip().partition(" ")
            try:
                day = date.fromisoformat(day_text)
            except ValueError:
                problems.append(f"Line {number}: “{day_text}” is not a date (YYYY-MM-DD).")
                continue
            holidays[day] = name.strip()[:100]
        if problems:
            raise ValidationError(problems)
        self.cleaned_holidays = dict(sorted(holidays.items()))
        return text

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.cleaned_hours is not None and "time_zone" in cleaned:
            try:
                # The week as the clock will read it: zone, hours and holidays together.
                Calendar.from_config(time_zone=cleaned["time_zone"], hours=self.cleaned_hours,
                                     holidays=self.cleaned_holidays)
            except ValueError as error:
                self.add_error(None, str(error))
        return cleaned

    def _post_clean(self) -> None:
        team: Team = self.instance
        for tier, _ in SLA_TIERS:
            name = f"sla_{tier}_minutes"
            if name in self.cleaned_data:
                minutes = self.cleaned_data[name]
                setattr(team, f"sla_{tier}_seconds", None if minutes is None else minutes * 60)
        if self.cleaned_data.get("warn_percent") is not None:
            team.warn_fraction = self.cleaned_data["warn_percent"] / 100
        super()._post_clean()

    def save(self, commit: bool = True) -> Team:
        """Save the team and make its holidays exactly the lines given; the caller holds the transaction."""
        if not commit:
            raise ValueError("TeamSettingsForm saves holidays with the team; call save() with commit=True")
        team = super().save(commit=False)
        # Only the columns this page edits: a whole-row save would write back anything changed meanwhile.
        team.save(update_fields=[*self._meta.fields, *(f"sla_{t}_seconds" for t, _ in SLA_TIERS), "warn_fraction",
                                 "business_hours"])
        holidays_replace(team, self.cleaned_holidays)
        return team


def holidays_replace(team: Team, holidays: dict[date, str]) -> None:
    stored = {h.date: h for h in TeamHoliday.objects.filter(team=team)}
    TeamHoliday.objects.filter(team=team).exclude(date__in=list(holidays)).delete()
    TeamHoliday.objects.bulk_create([TeamHoliday(team=team, date=day, name=name)
                                     for day, name in holidays.items() if day not in stored])
    renamed = [h for day, h in stored.items() if day in holidays and h.name != holidays[day]]
    for holiday in renamed:
        holiday.name = holidays[holiday.date]
    TeamHoliday.objects.bulk_update(renamed, ["name"])


# --- reps ----------------------------------------------------------------------------------


class RepForm(LabelledInputsMixin, WeekHoursMixin, forms.ModelForm):
    hours_attribute = "working_hours"
    never_open_message = "Give the rep hours on at least one day, or set them offline."

    class Meta:
        model = Rep
        fields = ["status", "capacity", "weight", "time_zone"]
        labels = {"capacity": "Capacity (hot leads)", "time_zone": "Time zone"}
        widgets = {"time_zone": forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"})}

    def save(self, commit: bool = True) -> Rep:
        rep = super().save(commit=False)
        if commit:
            # Never a whole-row save: routing bumps routed_count and the SLA sweep the escalation
            # streak under their own locks, and stale copies of those from this page must not win.
            rep.save(update_fields=[*self._meta.fields, "working_hours"])
        return rep


class BaseRepFormSet(BaseModelFormSet):
    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, queryset=Rep.objects.filter(team=team).select_related("user"), **kwargs)

    def clean(self) -> None:
        super().clean()
        # A row whose rep is no longer on the team (moved meanwhile, or a crafted id) would
        # otherwise be skipped without a word while the rest saved.
        if any(form.instance.pk is None for form in self.initial_forms):
            raise ValidationError("A rep on this page has left the team meanwhile; reload the page and try again.")


# edit_only: a crafted POST can neither add a rep nor reach a rep of another team (the queryset).
RepFormSet = modelformset_factory(Rep, form=RepForm, formset=BaseRepFormSet, extra=0, can_delete=False,
                                  edit_only=True)
