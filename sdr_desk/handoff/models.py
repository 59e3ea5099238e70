"""The AE handoff: a qualified lead passed to an account executive, their verdict, and the first meeting."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inbound.models import Lead


class HandoffStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the AE"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATUSES = (HandoffStatus.PENDING, HandoffStatus.ACCEPTED)


class MeetingStatus(models.TextChoices):
    NONE = "none", "No meeting"
    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held"
    NO_SHOW = "no_show", "No-show"
    RESCHEDULED = "rescheduled", "Rescheduled"
    CANCELLED = "cancelled", "Cancelled"


# A meeting in one of these is still ahead: it can be held, missed, moved or cancelled.
MEETING_UPCOMING = (MeetingStatus.SCHEDULED, MeetingStatus.RESCHEDULED)


class RejectionReason(models.Model):
    """One entry of the managed list an AE picks from when rejecting a handoff."""

    name = models.CharField(max_length=200, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True, help_text="inactive reasons stay on past verdicts only")

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class HandoffSettings(models.Model):
    """A team's side of the handoff, kept here so routing's Team needs no migration.

    On an AE team: its territory (countries or regions, as routing rules write them; empty: every
    lead), the order territories are tried in, and the hours an AE has to accept (in the team's
    business hours). On an SDR team: the AE team its handoffs go to when no territory matches.
    """

    team = models.OneToOneField("routing.Team", on_delete=models.CASCADE, primary_key=True,
                                related_name="handoff_settings")
    acceptance_sla_hours = models.PositiveIntegerField(
        default=24, help_text="business hours an AE of this team has to accept or reject a handoff")
    countries = models.JSONField(default=list, blank=True,
                                 help_text="this AE team's territory: ISO codes or regions (NA, EMEA, DACH...)")
    position = models.PositiveIntegerField(default=0, help_text="territories are tried in this order")
    ae_team = models.ForeignKey("routing.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                help_text="for an SDR team: the AE team its handoffs go to when no territory "
                                          "matches")
    # Bumped on every save: a handoff records the version of the territory that routed it.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "handoff settings"
        ordering = ["position", "team__name"]

    def __str__(self) -> str:
        return f"{self.team}: handoff settings"

    def clean(self) -> None:
        if not isinstance(self.countries, list) or not all(isinstance(c, str) and c.strip() for c in self.countries):
            raise ValidationError({"countries": "Give a list of ISO country codes or regions."})
        from sdr_desk.handoff.territories import country_or_region

        unknown = [c for c in self.countries if not country_or_region(c)]
        if unknown:
            raise ValidationError({"countries": f"Not ISO country codes or regions: {', '.join(unknown)}."})
        if self.acceptance_sla_hours is not None and self.acceptance_sla_hours <= 0:
            raise ValidationError({"acceptance_sla_hours": "Give the AE at least an hour."})
        if self.ae_team_id and self.ae_team_id == self.team_id:
            raise ValidationError({"ae_team": "A team cannot hand off to itself."})

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk and not self._state.adding:
            self.version += 1
        self.updated_at = timezone.now()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Handoff(models.Model):
    """A qualified lead handed to an AE. At most one open (pending or accepted) handoff per lead.

    Changed only through ``sdr_desk.handoff.services``; each change lands in the lead's timeline.
    """

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="handoffs")
    sdr = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handoffs_given")
    sdr_team = models.ForeignKey("routing.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ae = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="handoffs_received")
    ae_team = models.ForeignKey("routing.Team", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="handoffs")
    status = models.CharField(max_length=10, choices=HandoffStatus.choices, default=HandoffStatus.PENDING)
    note = models.TextField(max_length=2000, blank=True)
    meeting_at = models.DateTimeField(null=True, blank=True)
    meeting_status = models.CharField(max_length=12, choices=MeetingStatus.choices, default=MeetingStatus.NONE)
    meeting_outcome_at = models.DateTimeField(null=True, blank=True)
    # The invitation: one UID for the handoff's life, SEQUENCE raised on every change sent.
    ics_uid = models.CharField(max_length=200, unique=True)
    ics_sequence = models.PositiveIntegerField(default=0)
    handed_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True, help_text="accept or reject by then (business hours)")
    verdict_at = models.DateTimeField(null=True, blank=True)
    verdict_reason = models.CharField(max_length=200, blank=True)
    escalated = models.BooleanField(default=False)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # A manager moved it to another AE (the acceptance clock restarted then); the SDR or their manager withdrew it.
    reassigned_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    routed_by = models.CharField(max_length=200, help_text='"territory: <team>", "round robin..." or "by hand"')
    rule_set_version = models.CharField(max_length=100, blank=True,
                                        help_text="the territory settings' version that routed it; empty by hand")
    routing_trace = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-handed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["lead"], condition=Q(status__in=["pending", "accepted"]),
                                    name="one_open_handoff_per_lead"),
        ]
        indexes = [
            models.Index(fields=["due_at"], name="handoff_due_idx",
                         condition=Q(status="pending", escalated=False, due_at__isnull=False)),
            models.Index(fields=["ae", "status"], name="handoff_ae_status_idx"),
            models.Index(fields=["ae_team", "status"], name="handoff_team_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} → {self.ae}"

    @property
    def accepted_at(self):  # noqa: ANN201
        return self.verdict_at if self.status == HandoffStatus.ACCEPTED else None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def meeting_upcoming(self) -> bool:
        return self.meeting_at is not None and self.meeting_status in MEETING_UPCOMING
