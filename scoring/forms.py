"""The manager's scoring rules page as forms: every rule, setting and hot-lead criteria edited at once.

The same bound forms serve two ends: ``draft_snapshot`` turns their cleaned,
unsaved data into a rule-set snapshot for the what-if, and ``RuleForms.save``
writes them before a version is published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms import BaseModelFormSet, modelformset_factory
from django.http import QueryDict
from django.utils import timezone

from inbound.models import FormType, Source
from scoring.engine import compile_ruleset
from scoring.models import (
    FitKind,
    FitRule,
    HotLeadCriteria,
    IntentRule,
    ScoringSettings,
    fit_rule_errors,
)

# Kinds whose values are regular expressions the engine compiles into one pattern.
PATTERN_KINDS = {FitKind.TITLE_MATCHES, FitKind.STUDENT_OR_JOB_SEEKER}
# The fields that make up a fit rule's condition, checked together by fit_rule_errors.
CONDITION_FIELDS = ("kind", "values", "min_value", "max_value")


class CommaSeparatedField(forms.CharField):
    """A list of words edited as one line of text: "Software, SaaS" <-> ["Software", "SaaS"]."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list):
            return [str(v).strip() for v in value if str(v).strip()]
        text = super().to_python(value)
        return [part.strip() for part in text.split(",") if part.strip()]

    def has_changed(self, initial: Any, data: Any) -> bool:
        # A blank row's initial is None and its posted value "": both mean no words.
        return self.to_python(initial) != self.to_python(data)


class SourceChoiceField(forms.TypedMultipleChoiceField):
    """Sources as checkboxes of primary keys, with choices given once for the whole formset.

    A ``ModelMultipleChoiceField`` would query the sources again for every
    criteria row, on display and on validation.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(coerce=int, required=False, widget=forms.CheckboxSelectMultiple, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        # The model's initial value is a list of Source rows; the checkboxes speak primary keys.
        if isinstance(value, (list, tuple)):
            return [v.pk if isinstance(v, Source) else v for v in value]
        return value

    def has_changed(self, initial: Any, data: Any) -> bool:
        return super().has_changed(self.prepare_value(initial), data)


class LabelledInputsMixin:
    """Inputs in a table row have no <label>: name them for screen readers with their field's label."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", str(field.label))


# --- fit rules ---------------------------------------------------------------------------


class FitRuleForm(LabelledInputsMixin, forms.ModelForm):
    values = CommaSeparatedField(required=False, widget=forms.TextInput(attrs={"placeholder": "comma-separated"}))

    class Meta:
        model = FitRule
        fields = ["name", "kind", "values", "min_value", "max_value", "points", "is_active", "position"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            # The hint is for the blank row; on a dozen stored rules it is only noise.
            self.fields["values"].widget.attrs.pop("placeholder", None)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if not kind:
            return cleaned
        # A sound condition by the model's own rules; the model's clean() (run next, in
        # _post_clean) reports fit_rule_errors on the fields, so adding them here would show
        # each message twice.
        errors = fit_rule_errors(kind=kind, values=cleaned.get("values", []), min_value=cleaned.get("min_value"),
                                 max_value=cleaned.get("max_value"))
        if not errors and kind in PATTERN_KINDS:
            problem = _pattern_error(kind, cleaned.get("values", []))
            if problem:
                self.add_error("values", problem)
        return cleaned

    def _post_clean(self) -> None:
        if any(self.has_error(name) for name in CONDITION_FIELDS):
            # The model's check would run on the row's old values for the field that failed
            # (or "" for a new row) and add a second, misleading message.
            return
        super()._post_clean()


def _pattern_error(kind: str, values: list[str]) -> str | None:
    """Why the engine could not compile these patterns, or None.

    ``fit_rule_errors`` checks title keywords one by one; the engine joins them
    into one pattern (which can still fail, e.g. on inline flags) and also
    compiles the student rule's extra keywords, which the model does not check.
    Compiling exactly as the engine does keeps a bad pattern from ever being
    published, where it would fail every scoring of every lead.
    """
    rule = {"id": 0, "name": "check", "kind": kind, "values": values, "points": 0}
    try:
        compile_ruleset({"settings": {"half_life_days": 1, "lookback_days": 1, "grade_a_min": 3, "grade_b_min": 2,
                                      "grade_c_min": 1},
                         "fit": [rule], "intent": []})
    except re.error as error:
        return f"Not a valid pattern: {error}."
    return None


class BaseFitRuleFormSet(BaseModelFormSet):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        rules: QuerySet[FitRule] = FitRule.objects.all()
        # A new rule goes last unless the manager says otherwise.
        next_position = max((r.position for r in rules), default=-1) + 1
        super().__init__(*args, queryset=rules, initial=[{"position": next_position}], **kwargs)


FitRuleFormSet = modelformset_factory(FitRule, form=FitRuleForm, formset=BaseFitRuleFormSet, extra=1,
                                      can_delete=True)


# --- intent rules ------------------------------------------------------------------------


class IntentRuleForm(LabelledInputsMixin, forms.ModelForm):
    class Meta:
        model = IntentRule
        fields = ["points", "cap", "tier", "window_days", "is_active"]


class BaseIntentRuleFormSet(BaseModelFormSet):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, queryset=IntentRule.objects.all(), **kwargs)


# One row per signal: edit_only so a crafted POST cannot add a row without a signal.
IntentRuleFormSet = modelformset_factory(IntentRule, form=IntentRuleForm, formset=BaseIntentRuleFormSet, extra=0,
                                         can_delete=False, edit_only=True)


# --- settings ----------------------------------------------------------------------------


class ScoringSettingsForm(forms.ModelForm):
    class Meta:
        model = ScoringSettings
        fields = ["half_life_days", "lookback_days", "grade_a_min", "grade_b_min", "grade_c_min"]
        labels = {"half_life_days": "Intent half-life (days)", "lookback_days": "Look-back (days)",
                  "grade_a_min": "Grade A from", "grade_b_min": "Grade B from", "grade_c_min": "Grade C from"}
        help_texts = {"half_life_days": "intent points halve every this many days",
                      "lookback_days": "older activities count for nothing",
                      "grade_a_min": "fit points", "grade_b_min": "fit points",
                      "grade_c_min": "fit points; below is D"}


# --- hot-lead criteria ---------------------------------------------------------------------

ONE_DEFAULT = "Exactly one set of criteria is the default."


class HotLeadCriteriaForm(forms.ModelForm):
    form_types = forms.MultipleChoiceField(choices=FormType.choices, required=False,
                                           widget=forms.CheckboxSelectMultiple)
    sources = SourceChoiceField()

    class Meta:
        model = HotLeadCriteria
        fields = ["name", "is_default", "mode", "min_score", "form_types", "sources", "on_trial_milestone",
                  "on_pricing_return_visit", "within_days"]

    def __init__(self, *args: Any, source_choices: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sources"].choices = source_choices or []

    def _get_validation_exclusions(self) -> set[str]:
        # "One default" is the formset's check, across the rows as posted. The model's
        # constraint check compares one row with the stored ones, so it would refuse moving
        # the default from one set to another in a single save.
        return {*super()._get_validation_exclusions(), "is_default"}


class BaseHotLeadCriteriaFormSet(BaseModelFormSet):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.source_choices = list(Source.objects.order_by("name").values_list("pk", "name"))
        super().__init__(*args, queryset=HotLeadCriteria.objects.prefetch_related("sources").order_by("pk"),
                         **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "source_choices": self.source_choices}

    def clean(self) -> None:
        super().clean()
        defaults = [form for form in _kept_forms(self) if form.cleaned_data.get("is_default")]
        if len(defaults) != 1:
            # Beside the checkbox when there are too many; above the table when there is none.
            for form in defaults[1:]:
                form.add_error("is_default", ONE_DEFAULT)
            raise forms.ValidationError(ONE_DEFAULT)

    def save_default_first(self) -> None:
        """Save, clearing the old default before the new one is set: the database allows one at any moment."""
        chosen = next(form for form in _kept_forms(self) if form.cleaned_data.get("is_default"))
        HotLeadCriteria.objects.filter(is_default=True).exclude(pk=chosen.instance.pk).update(is_default=False)
        self.save()


HotLeadCriteriaFormSet = modelformset_factory(HotLeadCriteria, form=HotLeadCriteriaForm,
                                              formset=BaseHotLeadCriteriaFormSet, extra=1, can_delete=True)


def _kept_forms(formset: BaseModelFormSet) -> list[forms.ModelForm]:
    """The rows that will exist after saving: not marked for deletion, not the untouched blank row."""
    kept = []
    for form in formset.forms:
        if formset.can_delete and formset._should_delete_form(form):
            continue
        if form.instance.pk is None and not form.has_changed():
            continue
        kept.append(form)
    return kept


# --- the page's forms together -------------------------------------------------------------


class PublishNoteForm(forms.Form):
    note = forms.CharField(max_length=200, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "what changed and why (optional)"}))


@dataclass
class RuleForms:
    fit: BaseFitRuleFormSet
    intent: BaseIntentRuleFormSet
    settings: ScoringSettingsForm
    criteria: BaseHotLeadCriteriaFormSet
    note: PublishNoteForm

    @classmethod
    def build(cls, data: QueryDict | None = None) -> RuleForms:
        """All the forms, unbound from the database or bound to a POST."""
        return cls(
            fit=FitRuleFormSet(data, prefix="fit"),
            intent=IntentRuleFormSet(data, prefix="intent"),
            settings=ScoringSettingsForm(data, instance=ScoringSettings.load(), prefix="settings"),
            criteria=HotLeadCriteriaFormSet(data, prefix="criteria"),
            note=PublishNoteForm(data),
        )

    def is_valid(self) -> bool:
        # Every form validated (no short-circuit) so all errors show at once.
        results = [self.fit.is_valid(), self.intent.is_valid(), self.settings.is_valid(), self.criteria.is_valid(),
                   self.note.is_valid()]
        return all(results)

    def error_count(self) -> int:
        count = 0
        for formset in (self.fit, self.intent, self.criteria):
            count += formset.total_error_count()
        return count + sum(len(e) for e in self.settings.errors.values()) + len(self.note.errors)

    def draft_snapshot(self) -> dict[str, Any]:
        return draft_snapshot(self.fit, self.intent, self.settings, self.criteria)

    def save(self) -> None:
        """Write every form; the caller holds the transaction and publishes the version."""
        self.fit.save()
        self.intent.save()
        settings_row = self.settings.save(commit=False)
        settings_row.updated_at = timezone.now()
        settings_row.save()
        self.criteria.save_default_first()


def draft_snapshot(
    fit_formset: BaseModelFormSet,
    intent_formset: BaseModelFormSet,
    settings_form: ScoringSettingsForm,
    criteria_formset: BaseModelFormSet,
) -> dict[str, Any]:
    """The rule set the valid forms describe, shaped like ``ruleset_snapshot()``, saving nothing.

    Rows not yet saved get negative ids: unique within the draft and never
    confused with a stored rule's.
    """
    temporary_ids = iter(range(-1, -10_000, -1))

    def row_id(form: forms.ModelForm) -> int:
        return form.instance.pk if form.instance.pk is not None else next(temporary_ids)

    fit_forms = [f for f in _kept_forms(fit_formset) if f.cleaned_data.get("is_active")]
    # The order the stored rules would have: position, then id, new rows after stored ones.
    fit_forms.sort(key=lambda f: (f.cleaned_data["position"], f.instance.pk is None, f.instance.pk or 0))
    fit = []
    for form in fit_forms:
        data = form.cleaned_data
        fit.append({"id": row_id(form), "name": data["name"], "kind": data["kind"], "values": data["values"],
                    "min_value": data["min_value"], "max_value": data["max_value"], "points": data["points"]})

    intent_forms = [f for f in intent_formset.forms if f.cleaned_data.get("is_active")]
    intent = [{"signal": f.instance.signal, "points": f.cleaned_data["points"], "cap": f.cleaned_data["cap"],
               "tier": f.cleaned_data["tier"], "window_days": f.cleaned_data["window_days"]}
              for f in intent_forms]
    intent.sort(key=lambda r: (-r["points"], r["signal"]))

    criteria = []
    default_id = None
    for form in _kept_forms(criteria_formset):
        data = form.cleaned_data
        criteria_id = row_id(form)
        if data["is_default"]:
            default_id = criteria_id
        criteria.append({"id": criteria_id, "name": data["name"], "mode": data["mode"],
                         "min_score": data["min_score"], "form_types": list(data["form_types"]),
                         "source_ids": sorted(data["sources"]), "on_trial_milestone": data["on_trial_milestone"],
                         "on_pricing_return_visit": data["on_pricing_return_visit"],
                         "within_days": data["within_days"]})

    settings_data = settings_form.cleaned_data
    return {
        "settings": {key: settings_data[key] for key in ScoringSettingsForm.Meta.fields},
        "fit": fit,
        "intent": intent,
        "criteria": criteria,
        "default_criteria_id": default_id,
    }
