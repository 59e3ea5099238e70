"""Dispositions: the outcome a rep records for a worked lead, from a list of codes managers keep."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inbound.models import Lead, LeadStatus


class Outcome(models.TextChoices):
    QUALIFIED = "qualified", "Qualified"
    NURTURE = "nurture", "Nurture"
    DISQUALIFIED = "disqualified", "Disqualified"
    CLOSED = "closed", "Closed"


# The lead's status once a disposition of each outcome is recorded.
LEAD_STATUS_OF = {
    Outcome.QUALIFIED: LeadStatus.QUALIFIED,
    Outcome.NURTURE: LeadStatus.NURTURE,
    Outcome.DISQUALIFIED: LeadStatus.DISQUALIFIED,
    Outcome.CLOSED: LeadStatus.CLOSED,
}


class DispositionCode(models.Model):
    """One entry of the managed list (Qualified - meeting set, Bad fit, No response...)."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=50, unique=True, help_text="what the API sends")
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    reason_required = models.BooleanField(default=False)
    reasons = models.JSONField(default=list, blank=True,
                               help_text='the reasons a rep picks from, e.g. ["Too small", "Competitor"]; '
                                         "empty: the reason is free text")
    needs_reengage_date = models.BooleanField(default=False, help_text="nurture: the date the lead comes back")
    requires_answers = models.BooleanField(
        default=False, help_text="refused until the required items of the team's qualification checklist are answered")
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True, help_text="inactive codes stay on past dispositions only")

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not isinstance(self.reasons, list) or not all(isinstance(r, str) and r.strip() for r in self.reasons):
            raise ValidationError({"reasons": "A list of non-empty texts."})
        if len({r.strip().lower() for r in self.reasons}) != len(self.reasons):
            raise ValidationError({"reasons": "Each reason once."})
        if any(len(r) > 200 for r in self.reasons):
            raise ValidationError({"reasons": "A reason is at most 200 characters."})


class Disposition(models.Model):
    """A recorded outcome. A lead has at most one current one; a changed or reopened one is kept, not current."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="dispositions")
    code = models.ForeignKey(DispositionCode, on_delete=models.PROTECT, related_name="dispositions")
    reason = models.CharField(max_length=200, blank=True)
    note = models.TextField(max_length=2000, blank=True)
    reengage_on = models.DateField(null=True, blank=True)
    # Who owned the lead and in which team when it was recorded (the reports count by these).
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="dispositions")
    team = models.ForeignKey("routing.Team", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="dispositions")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    is_current = models.BooleanField(default=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["lead"], condition=Q(is_current=True),
                                               name="one_current_disposition")]
        indexes = [
            models.Index(fields=["-recorded_at"], name="disposition_recorded_idx"),
            models.Index(fields=["rep", "-recorded_at"], name="disposition_rep_idx"),
            models.Index(fields=["code", "-recorded_at"], name="disposition_code_idx"),
            # The review page: a manager's teams' newest rows, and the per-code summary as an index-only scan.
            models.Index(fields=["team", "-recorded_at"], name="disposition_team_recorded_idx"),
            models.Index(fields=["team", "code"], name="disposition_team_code_idx"),
            models.Index(fields=["reengage_on"], name="disposition_reengage_idx",
                         condition=Q(is_current=True, reengage_on__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.code} on lead {self.lead_id}"
