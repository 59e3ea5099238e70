"""Sequences: multi-touch follow-up templates, each lead's enrolment in one, its step runs and its outbox.

Routing and the board know nothing of these; sequences listen to routing's signals and the timeline,
and write to the lead only through routing's services (a due step is the owner's next step).
"""

from __future__ import annotations

import string
from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inbound.models import Lead

VARIABLES = ("first_name", "company", "asset", "rep_name", "rep_signature")
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def default_weekdays() -> list[int]:
    return [0, 1, 2, 3, 4]


def template_variable_errors(text: str) -> str | None:
    """Why ``text`` cannot be rendered: an unknown ``{variable}`` or a stray brace; None when it can."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as error:
        return f"Unbalanced braces ({error}); write {{{{ and }}}} for a literal brace."
    unknown = sorted({name for name in names if name not in VARIABLES})
    if "" in names or unknown:
        shown = ", ".join("{" + name + "}" for name in unknown) or "{}"
        return f"Unknown variable {shown}; use {', '.join('{' + v + '}' for v in VARIABLES)}."
    return None


class Tier(models.TextChoices):
    HAND_RAISER = "hand_raiser", "Hand-raiser"
    RESEARCHER = "researcher", "Researcher"
    LIGHT = "light", "Light interest"


class SequenceTemplate(models.Model):
    """An ordered set of steps a manager maintains; with ``auto_enroll``, leads of its team and tier join on assignment."""

    name = models.CharField(max_length=100)
    team = models.ForeignKey("routing.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="sequence_templates", help_text="empty: any team")
    tier = models.CharField(max_length=20, choices=Tier.choices, blank=True,
                            help_text="leads of this tier are enrolled when assigned (with auto-enrol)")
    auto_enroll = models.BooleanField(default=False, help_text="enrol the team's leads of the tier on assignment")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.auto_enroll and not self.tier:
            raise ValidationError({"tier": "Auto-enrolment needs the tier it enrols."})


class StepChannel(models.TextChoices):
    CALL = "call", "Call"
    VOICEMAIL = "voicemail", "Voicemail"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    LINKEDIN = "linkedin", "LinkedIn task"


class StepMode(models.TextChoices):
    MANUAL = "manual", "Manual: the rep does it (reviews and sends an email)"
    AUTOMATIC = "automatic", "Automatic: the desk sends the email"


class Step(models.Model):
    """One touch of a template: its channel, its delay after the previous step, its send window."""

    template = models.ForeignKey(SequenceTemplate, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    channel = models.CharField(max_length=10, choices=StepChannel.choices)
    mode = models.CharField(max_length=10, choices=StepMode.choices, default=StepMode.MANUAL)
    delay_business_days = models.IntegerField(default=0, help_text="business days after the previous step")
    delay_minutes = models.IntegerField(null=True, blank=True, help_text="first step only: minutes after enrolment")
    window_start = models.TimeField(default=time(9), help_text="in the lead's own time zone")
    window_end = models.TimeField(default=time(17))
    weekdays = models.JSONField(default=default_weekdays, help_text="0 = Monday ... 6 = Sunday")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, max_length=10000)

    class Meta:
        ordering = ["template", "position"]
        constraints = [
            models.UniqueConstraint(fields=["template", "position"], name="sequence_step_position_unique"),
            models.CheckConstraint(condition=Q(delay_business_days__gte=0), name="sequence_step_delay_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.template}: {self.position + 1}. {self.get_channel_display()}"

    @property
    def is_automatic(self) -> bool:
        return self.channel == StepChannel.EMAIL and self.mode == StepMode.AUTOMATIC

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.delay_business_days is not None and self.delay_business_days < 0:
            errors["delay_business_days"] = "A delay cannot be negative."
        if self.delay_minutes is not None:
            if self.delay_minutes < 0:
                errors["delay_minutes"] = "A delay cannot be negative."
            elif self.position != 0:
                errors["delay_minutes"] = "Only the first step is delayed in minutes; later steps in business days."
        if self.window_start is not None and self.window_end is not None and self.window_start >= self.window_end:
            errors["window_end"] = (f"The send window {self.window_start:%H:%M}-{self.window_end:%H:%M} never opens: "
                                    "it must end after it starts (same day, lead's time).")
        if not isinstance(self.weekdays, list) or not all(isinstance(d, int) and 0 <= d <= 6 for d in self.weekdays):
            errors["weekdays"] = "Give a list of weekdays, 0 (Monday) to 6 (Sunday)."
        elif not self.weekdays:
            errors["weekdays"] = "The send window never opens: choose at least one weekday."
        if self.channel == StepChannel.EMAIL:
            if not self.subject.strip():
                errors["subject"] = "An email step needs a subject."
            if not self.body.strip():
                errors["body"] = "An email step needs a body."
        elif self.mode == StepMode.AUTOMATIC:
            errors["mode"] = "Only email steps are sent automatically."
        for field in ("subject", "body"):
            problem = template_variable_errors(getattr(self, field))
            if problem and field not in errors:
                errors[field] = problem
        if errors:
            raise ValidationError(errors)


class StepVariant(models.Model):
    """An A/B variant of a step's text: an email's subject and body, or the script of a call, SMS or LinkedIn task.

    A step with variants gives each new run the variant used least so far (ties: the one made first), so
    leads are spread evenly; the run records which one it got, and the sequences page compares their rates.
    """

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=40, help_text="what the manager calls it: A, B, short subject...")
    subject = models.CharField(max_length=200, blank=True, help_text="email steps: replaces the step's subject")
    body = models.TextField(max_length=10000, blank=True,
                            help_text="email steps: replaces the step's body; other steps: the rep's script")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["step", "id"]
        constraints = [models.UniqueConstraint(fields=["step", "label"], name="sequence_variant_label_unique")]

    def __str__(self) -> str:
        return f"{self.step}: {self.label}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not self.label.strip():
            errors["label"] = "Give the variant a label."
        is_email = self.step_id is not None and self.step.channel == StepChannel.EMAIL
        if is_email and not self.subject.strip():
            errors["subject"] = "An email variant needs a subject."
        elif not is_email and self.subject.strip():
            errors["subject"] = "Only email variants have a subject."
        if not self.body.strip():
            errors["body"] = "An email variant needs a body." if is_email else "Give the variant its script."
        for field in ("subject", "body"):
            problem = template_variable_errors(getattr(self, field))
            if problem and field not in errors:
                errors[field] = problem
        if errors:
            raise ValidationError(errors)


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"


ONGOING = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)


class Enrollment(models.Model):
    """A lead in a sequence. At most one ongoing (active or paused) per lead."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="enrollments")
    template = models.ForeignKey(SequenceTemplate, on_delete=models.PROTECT, related_name="enrollments")
    status = models.CharField(max_length=10, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)
    stop_reason = models.CharField(max_length=200, blank=True)
    pause_reason = models.CharField(max_length=30, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["lead"], condition=Q(status__in=["active", "paused"]),
                                               name="sequence_one_ongoing_enrollment")]
        indexes = [models.Index(fields=["status", "pause_reason"], name="enrollment_status_idx")]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.template} ({self.status})"


class StepRunStatus(models.TextChoices):
    PENDING = "pending", "Scheduled"
    DUE = "due", "Due"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class StepRun(models.Model):
    """One step of one enrolment: when it is due and what became of it. The next is made when this one ends."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="runs")
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="runs")
    due_at = models.DateTimeField()
    variant = models.ForeignKey(StepVariant, null=True, blank=True, on_delete=models.PROTECT, related_name="runs",
                                help_text="the A/B variant this lead got, when the step has variants")
    status = models.CharField(max_length=10, choices=StepRunStatus.choices, default=StepRunStatus.PENDING)
    note = models.CharField(max_length=200, blank=True, help_text="why it waits or was skipped, as shown to the rep")
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["enrollment", "step"], name="sequence_steprun_unique")]
        # (due_at, id): the sweep walks it in keyset order, never over the entries of batches it marked already.
        indexes = [models.Index(fields=["due_at", "id"], name="steprun_pending_idx", condition=Q(status="pending"))]

    def __str__(self) -> str:
        return f"{self.step} for {self.enrollment.lead_id}: {self.status}"


class OutboxStatus(models.TextChoices):
    SENDING = "sending", "Claimed, sending"  # left so by a worker killed mid-send: never sent again
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Outbox(models.Model):
    """An automatic email, claimed (inserted) before it is sent: the unique key makes the send happen at most once."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="outbox")
    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="+")
    mailbox = models.CharField(max_length=254, help_text="the sending rep's address; caps count per mailbox")
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.SENDING)
    message_id = models.CharField(max_length=300, blank=True)
    error = models.CharField(max_length=500, blank=True)
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "outbox"
        constraints = [models.UniqueConstraint(fields=["enrollment", "step"], name="sequence_outbox_unique")]
        indexes = [models.Index(fields=["mailbox", "claimed_at"], name="outbox_mailbox_idx")]

    def __str__(self) -> str:
        return f"{self.subject} to {self.to} ({self.status})"


SIGNATURE_MAX_CHARS = 600
SIGNATURE_MAX_LINES = 8


class RepSignature(models.Model):
    """The sign-off a rep's sequence emails end with (``{rep_signature}``), plain text, written by the rep.

    Without one, the signature is the rep's name and address. Kept here, not on routing's ``Rep``, so routing
    needs no migration for what only sequences use.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="sequence_signature")
    text = models.TextField(max_length=SIGNATURE_MAX_CHARS, help_text="plain text; an empty one means the default")
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"signature of {self.user_id}"


class Unsubscribe(models.Model):
    """An address that asked for no more sequence email (one-click or the confirm page)."""

    email = models.EmailField(max_length=254, unique=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.email


class InboundKind(models.TextChoices):
    REPLY = "reply", "Reply"
    AUTO_REPLY = "auto_reply", "Auto-reply"
    BOUNCE = "bounce", "Bounce"
    UNMATCHED = "unmatched", "Unmatched"


class InboundMessage(models.Model):
    """A raw email posted to the inbound endpoint (a reply, an auto-reply, a bounce), kept whatever it matched."""

    received_at = models.DateTimeField(default=timezone.now)
    message_id = models.CharField(max_length=300, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=12, choices=InboundKind.choices)
    rule = models.CharField(max_length=300, help_text="which rule classified and matched it, and why")
    enrollment = models.ForeignKey(Enrollment, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="inbound")
    raw = models.TextField()

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.from_address or '?'}"
