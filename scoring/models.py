"""Scoring rules as data, their versions, and each lead's stored score with its reasons.

Rules are edited freely; ``ruleset_publish`` snapshots them into a numbered
``RuleSetVersion``, and every stored score names the version that produced it,
so "why did this lead score 62 last Tuesday" always has an answer.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from inbound.fields import BulkJSONField
from inbound.models import FormType, Lead, Source


class Tier(models.TextChoices):
    HAND_RAISER = "hand_raiser", "Hand-raiser"
    RESEARCHER = "researcher", "Researcher"
    LIGHT = "light", "Light interest"
    NONE = "none", "None"


TIER_RANK = {Tier.HAND_RAISER: 3, Tier.RESEARCHER: 2, Tier.LIGHT: 1, Tier.NONE: 0}


def tier_order(field: str, *, unknown: int = 0) -> models.Case:
    """An ORDER BY expression ranking ``field`` (a tier) by intent: hand-raisers highest."""
    return models.Case(*[models.When(**{field: tier}, then=models.Value(rank)) for tier, rank in TIER_RANK.items()],
                       default=models.Value(unknown), output_field=models.IntegerField())


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


# Regions a fit rule may name instead of listing countries one by one.
REGIONS: dict[str, list[str]] = {
    "NA": ["US", "CA"],
    "NORAM": ["US", "CA", "MX"],
    "LATAM": ["MX", "BR", "AR", "CL", "CO", "PE", "UY", "CR", "PA", "EC"],
    "UKI": ["GB", "IE"],
    "DACH": ["DE", "AT", "CH"],
    "NORDICS": ["SE", "NO", "DK", "FI", "IS"],
    "BENELUX": ["BE", "NL", "LU"],
    "EU": ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT",
           "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"],
    "ANZ": ["AU", "NZ"],
    "APAC": ["AU", "NZ", "JP", "KR", "CN", "HK", "TW", "SG", "MY", "TH", "ID", "PH", "VN", "IN"],
    "MENA": ["AE", "SA", "QA", "KW", "BH", "OM", "IL", "EG", "MA", "JO", "TR"],
}
REGIONS["EMEA"] = sorted(set(REGIONS["EU"] + REGIONS["UKI"] + REGIONS["DACH"] + REGIONS["NORDICS"] + REGIONS["MENA"]
                             + ["ZA", "NG", "KE", "UA", "RS"]))


class FitKind(models.TextChoices):
    INDUSTRY_IN = "industry_in", "Industry is one of"
    EMPLOYEES_BETWEEN = "employees_between", "Employee count between"
    COUNTRY_IN = "country_in", "Country or region is one of"
    TITLE_MATCHES = "title_matches", "Job title has a keyword"
    TECH_IN = "tech_in", "Uses a technology"
    PERSONAL_EMAIL = "personal_email", "Personal email address"
    COMPETITOR_DOMAIN = "competitor_domain", "Email domain is a competitor's"
    STUDENT_OR_JOB_SEEKER = "student_or_job_seeker", "Student or job seeker"


KINDS_WITH_VALUES = {FitKind.INDUSTRY_IN, FitKind.COUNTRY_IN, FitKind.TITLE_MATCHES, FitKind.TECH_IN,
                     FitKind.COMPETITOR_DOMAIN}


class FitRule(models.Model):
    """One condition on who the lead is, worth points (negative allowed)."""

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=30, choices=FitKind.choices)
    values = models.JSONField(default=list, blank=True,
                              help_text="the set to match: industries, ISO country codes or regions, keywords, "
                                        "technologies or domains")
    min_value = models.PositiveIntegerField(null=True, blank=True, help_text="employees, at least")
    max_value = models.PositiveIntegerField(null=True, blank=True, help_text="employees, at most")
    points = models.IntegerField()
    is_active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"

    def clean(self) -> None:
        errors = fit_rule_errors(kind=self.kind, values=self.values, min_value=self.min_value,
                                 max_value=self.max_value)
        if errors:
            raise ValidationError(errors)


def fit_rule_errors(*, kind: str, values: object, min_value: int | None, max_value: int | None) -> dict[str, str]:
    """What is wrong with a fit rule's condition, by field; empty when it is sound."""
    errors: dict[str, str] = {}
    if kind not in FitKind.values:
        return {"kind": f"Unknown kind {kind!r}."}
    if kind in KINDS_WITH_VALUES:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            errors["values"] = "Give a list of words."
        elif not [v for v in values if v.strip()]:
            errors["values"] = "The set is empty: give at least one value."
        elif kind == FitKind.TITLE_MATCHES:
            for keyword in values:
                try:
                    re.compile(keyword)
                except re.error as error:
                    errors["values"] = f"{keyword!r} is not a valid pattern: {error}."
                    break
        elif kind == FitKind.COUNTRY_IN:
            unknown = [v for v in values if v.strip().upper() not in REGIONS and len(v.strip()) != 2]
            if unknown:
                errors["values"] = (f"Not ISO country codes or regions: {', '.join(unknown)}. "
                                    f"Regions: {', '.join(sorted(REGIONS))}.")
    if kind == FitKind.EMPLOYEES_BETWEEN:
        if min_value is None and max_value is None:
            errors["min_value"] = "Give a minimum, a maximum or both."
        elif min_value is not None and max_value is not None and min_value > max_value:
            errors["max_value"] = f"The maximum ({max_value}) is below the minimum ({min_value})."
    return errors


class Signal(models.TextChoices):
    """What a buyer did, as intent rules see it."""

    DEMO_REQUEST = "demo_request", "Demo request"
    PRICING_REQUEST = "pricing_request", "Pricing request"
    TRIAL_SIGNUP = "trial_signup", "Trial signup"
    TRIAL_MILESTONE = "trial_milestone", "Trial milestone"
    CONTACT_REQUEST = "contact_request", "Contact request"
    PRICING_PAGE_VIEW = "pricing_page_view", "Pricing page view"
    RETURN_VISIT = "return_visit", "Return visit"
    CONTENT_DOWNLOAD = "content_download", "Content download"
    WEBINAR_REGISTRATION = "webinar_registration", "Webinar registration"
    WEBINAR_ATTENDED = "webinar_attended", "Webinar attended"
    EMAIL_REPLY = "email_reply", "Email reply"
    NEWSLETTER = "newsletter", "Newsletter signup"
    PAGE_VIEW = "page_view", "Page view"


class IntentRule(models.Model):
    """Points per occurrence of a signal, fading with age, capped per signal."""

    signal = models.CharField(max_length=30, choices=Signal.choices, unique=True)
    points = models.IntegerField()
    cap = models.PositiveIntegerField(help_text="at most this many points from this signal")
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.NONE,
                            help_text="the intent tier this signal earns")
    window_days = models.PositiveIntegerField(default=7, help_text="return visit: a visit within this many days "
                                                                   "of an earlier one")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-points", "signal"]

    def __str__(self) -> str:
        return f"{self.get_signal_display()} ({self.points:+d}, cap {self.cap})"

    def clean(self) -> None:
        if self.cap is not None and self.points is not None and self.points > 0 and self.cap < self.points:
            raise ValidationError({"cap": "The cap is below the points of a single occurrence."})


class ScoringSettings(models.Model):
    """The one row of knobs: decay, grade cut-offs, look-back."""

    half_life_days = models.PositiveIntegerField(default=14, help_text="intent halves every this many days")
    lookback_days = models.PositiveIntegerField(default=90, help_text="activities older than this count for nothing")
    grade_a_min = models.IntegerField(default=40, help_text="fit points for grade A")
    grade_b_min = models.IntegerField(default=25)
    grade_c_min = models.IntegerField(default=10)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "scoring settings"

    def __str__(self) -> str:
        return "Scoring settings"

    def clean(self) -> None:
        if self.half_life_days == 0:
            raise ValidationError({"half_life_days": "The half-life must be at least one day."})
        if not self.grade_a_min > self.grade_b_min > self.grade_c_min:
            raise ValidationError({"grade_b_min": "Cut-offs must fall from A to C: A > B > C."})

    @classmethod
    def load(cls) -> ScoringSettings:
        return cls.objects.get_or_create(pk=1)[0]


class CriteriaMode(models.TextChoices):
    ANY = "any", "Any condition"
    ALL = "all", "All conditions"


class HotLeadCriteria(models.Model):
    """When a lead is hot. A team points at one (the desk's Team.hot_criteria); one is the default."""

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False)
    mode = models.CharField(max_length=3, choices=CriteriaMode.choices, default=CriteriaMode.ANY)
    min_score = models.IntegerField(null=True, blank=True, help_text="score at or above")
    form_types = models.JSONField(default=list, blank=True, help_text="latest conversion is one of these")
    sources = models.ManyToManyField(Source, blank=True, related_name="+")
    on_trial_milestone = models.BooleanField(default=False, help_text="a trial milestone was reached")
    on_pricing_return_visit = models.BooleanField(default=False,
                                                  help_text="came back to the pricing page (a second visit)")
    within_days = models.PositiveIntegerField(default=30, help_text="conversions, milestones and visits count "
                                                                    "when this recent")

    class Meta:
        verbose_name_plural = "hot-lead criteria"
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                               name="one_default_hot_criteria")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        unknown = set(self.form_types or []) - set(FormType.values)
        if not isinstance(self.form_types, list) or unknown:
            raise ValidationError({"form_types": f"Unknown form types: {', '.join(sorted(unknown))}."})


class RuleSetVersion(models.Model):
    """A frozen copy of every rule and setting; scores name the version they came from."""

    number = models.PositiveIntegerField(unique=True)
    snapshot = models.JSONField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"v{self.number}"


class LeadScore(models.Model):
    """The lead's current score and why. One row per lead, rewritten on every rescore."""

    lead = models.OneToOneField(Lead, on_delete=models.CASCADE, primary_key=True, related_name="score")
    fit = models.IntegerField(default=0)
    intent = models.IntegerField(default=0)
    total = models.IntegerField(default=0)
    grade = models.CharField(max_length=1, choices=Grade.choices, default=Grade.D)
    tier = models.CharField(max_length=20, choices=Tier.choices, default=Tier.NONE)
    is_hot = models.BooleanField(default=False)
    hot_since = models.DateTimeField(null=True, blank=True)
    reasons = BulkJSONField(default=list, help_text="[{rule, points, because}] of the rules that fired")
    missed = BulkJSONField(default=list, help_text="rules that did not fire, with their points")
    hot_because = BulkJSONField(default=list)
    version = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["is_hot", "-total"], name="leadscore_hot_idx"),
            models.Index(fields=["grade", "tier"], name="leadscore_grade_tier_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.total} ({self.grade}, {self.tier})"


class RuleFailure(models.Model):
    """A rule that raised while scoring: skipped then, shown to managers until fixed."""

    rule = models.CharField(max_length=150)
    message = models.CharField(max_length=500)
    count = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rule", "message"], name="rulefailure_unique")]
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"
