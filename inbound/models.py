"""Intake: what arrives (submissions), who sent it (leads, accounts), what they did (activities).

Every row that describes a lead's history is append-only; the lead row holds
the current, normalised picture and the timeline says how it got there.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from inbound.fields import BulkJSONField


class Channel(models.TextChoices):
    WEB_FORM = "web_form", "Web form"
    DEMO_REQUEST = "demo_request", "Demo request"
    TRIAL_SIGNUP = "trial_signup", "Trial signup"
    CONTENT_DOWNLOAD = "content_download", "Content download"
    WEBINAR = "webinar", "Webinar"
    REFERRAL = "referral", "Referral"
    PARTNER = "partner", "Partner"
    CHAT = "chat", "Chat"
    REVIEW_SITE = "review_site", "Review site"
    EVENT = "event", "Event"
    IMPORT = "import", "Import"
    OTHER = "other", "Other"


class FormType(models.TextChoices):
    DEMO_REQUEST = "demo_request", "Demo request"
    PRICING = "pricing", "Pricing request"
    TRIAL_SIGNUP = "trial_signup", "Trial signup"
    CONTENT_DOWNLOAD = "content_download", "Content download"
    WEBINAR = "webinar", "Webinar registration"
    NEWSLETTER = "newsletter", "Newsletter signup"
    CONTACT = "contact", "Contact us"


class Source(models.Model):
    """Where leads come from: a site's form, a partner, an import. Owns API keys."""

    name = models.CharField(max_length=100, unique=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.OTHER)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A source's secret. Only a SHA-256 of the key is stored; the prefix finds the row.

    Keys are 32 random bytes, so a fast hash is enough: there is nothing to
    brute-force that a slow hash would protect.
    """

    PREFIX_LENGTH = 8

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.source.name} key {self.prefix}… ({state})"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def generate(cls, *, source: Source, name: str = "") -> tuple[ApiKey, str]:
        """Make a key and return it with its one and only plain-text copy."""
        prefix = secrets.token_hex(cls.PREFIX_LENGTH // 2)
        raw = f"sdk_{prefix}_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(source=source, name=name, prefix=prefix, hashed_key=cls.hash(raw))
        return key, raw

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Account(models.Model):
    """The company, keyed by its email domain."""

    domain = models.CharField(max_length=253, unique=True)
    name = models.CharField(max_length=200, blank=True)
    website = models.CharField(max_length=300, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.name or self.domain


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    WORKING = "working", "Working"
    QUALIFIED = "qualified", "Qualified"
    DISQUALIFIED = "disqualified", "Disqualified"
    HANDED_OFF = "handed_off", "Handed off"
    NURTURE = "nurture", "Nurture"
    CLOSED = "closed", "Closed"


class Lead(models.Model):
    """A person who raised a hand; one per normalised email."""

    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    job_title = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    website = models.CharField(max_length=300, blank=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    employee_range = models.CharField(max_length=30, blank=True, help_text="as given, e.g. 51-200")
    industry = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    state = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    consent = models.BooleanField(null=True, blank=True)
    custom = models.JSONField(default=dict, blank=True)

    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    is_personal_email = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)

    # First touch attribution: what brought them in the first time.
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    campaign = models.CharField(max_length=200, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    referrer = models.CharField(max_length=500, blank=True)
    landing_page = models.CharField(max_length=500, blank=True)

    # Latest conversion, for the board's "what they did".
    last_form_type = models.CharField(max_length=20, choices=FormType.choices, blank=True)
    last_asset = models.CharField(max_length=200, blank=True)
    last_converted_at = models.DateTimeField(null=True, blank=True)
    conversion_count = models.PositiveIntegerField(default=0)

    # Set when a duplicate is merged into another lead: its history moved there, and later intake by its
    # email lands on the survivor. Always one hop (a merged lead is never a survivor).
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, db_index=True,
                                    related_name="merged_leads")

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="lead_created_idx"),
            models.Index(fields=["status", "-created_at"], name="lead_status_idx"),
            models.Index(fields=["source", "-created_at"], name="lead_source_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[-1]

    def get_absolute_url(self) -> str:
        return reverse("lead-detail", args=[self.pk])


class VisitorLink(models.Model):
    """Ties an anonymous web visitor to the lead they turned out to be.

    The row is also the lock that serialises "event for visitor" against
    "form from visitor", so that no event is left behind unattached.
    """

    visitor_id = models.CharField(max_length=100, unique=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="visitor_links")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.visitor_id


class SubmissionStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"


class SubmissionKind(models.TextChoices):
    LEAD = "lead", "Lead"
    EVENT = "event", "Event"


class SubmissionChannel(models.TextChoices):
    API = "api", "API"
    FORM = "form", "Hosted form"
    CSV = "csv", "CSV import"


class Submission(models.Model):
    """One raw inbound payload, stored as received before anything else happens.

    ``failed`` means processing raised and can be replayed; ``rejected`` means
    the payload itself is bad (a CSV row without an email) and needs editing
    before a replay can succeed.
    """

    kind = models.CharField(max_length=10, choices=SubmissionKind.choices, default=SubmissionKind.LEAD)
    channel = models.CharField(max_length=10, choices=SubmissionChannel.choices)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.PROTECT, related_name="submissions")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    hosted_form = models.ForeignKey(
        "HostedForm", null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    import_job = models.ForeignKey(
        "ImportJob", null=True, blank=True, on_delete=models.CASCADE, related_name="submissions"
    )
    row_number = models.PositiveIntegerField(null=True, blank=True)
    payload = models.JSONField()
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    status = models.CharField(max_length=10, choices=SubmissionStatus.choices, default=SubmissionStatus.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions")
    created_lead = models.BooleanField(default=False)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["status", "received_at"], name="submission_status_idx",
                         condition=~Q(status="processed")),
            models.Index(fields=["import_job", "status", "row_number"], name="submission_import_idx"),
            models.Index(fields=["lead", "received_at"], name="submission_lead_idx"),
            models.Index(fields=["source", "lead"], name="submission_source_lead_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.kind} #{self.pk} ({self.status})"


class IdempotencyKey(models.Model):
    """The first response given for an ``Idempotency-Key``, replayed on retries.

    Inserted in the same transaction as the work, so two concurrent requests
    with one key meet on the unique index and only one does the work.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=100)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "endpoint", "key"], name="idempotency_unique")]


class ActivityType(models.TextChoices):
    FORM_SUBMIT = "form_submit", "Form submit"
    PAGE_VIEW = "page_view", "Page view"
    PRICING_PAGE_VIEW = "pricing_page_view", "Pricing page view"
    CONTENT_DOWNLOAD = "content_download", "Content download"
    WEBINAR_ATTENDED = "webinar_attended", "Webinar attended"
    TRIAL_MILESTONE = "trial_milestone", "Trial milestone"
    EMAIL_REPLY = "email_reply", "Email reply"


class Activity(models.Model):
    """Something the buyer did. ``lead`` is empty while the visitor is still anonymous."""

    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="activities")
    type = models.CharField(max_length=20, choices=ActivityType.choices)
    form_type = models.CharField(max_length=20, choices=FormType.choices, blank=True)
    name = models.CharField(max_length=200, blank=True, help_text="asset, webinar or milestone")
    url = models.CharField(max_length=1000, blank=True)
    title = models.CharField(max_length=300, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    submission = models.ForeignKey(Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attribution = BulkJSONField(default=dict, blank=True)
    # Set only while the activity waits for its lead to be known.
    pending_visitor_id = models.CharField(max_length=100, blank=True)
    pending_email = models.CharField(max_length=254, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["lead", "-occurred_at"], name="activity_lead_idx"),
            models.Index(fields=["pending_visitor_id"], name="activity_pending_visitor_idx",
                         condition=Q(lead__isnull=True) & ~Q(pending_visitor_id="")),
            models.Index(fields=["pending_email"], name="activity_pending_email_idx",
                         condition=Q(lead__isnull=True) & ~Q(pending_email="")),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.name or self.url}".strip()

    @property
    def label(self) -> str:
        if self.type == ActivityType.FORM_SUBMIT and self.form_type:
            return self.get_form_type_display()
        return self.get_type_display()


class TimelineEntry(models.Model):
    """One thing that happened to a lead, with who did it and what changed.

    Written only through ``inbound.timeline.timeline_record``; other apps add
    their own kinds (score, owner, touch, disposition) the same way.
    """

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="timeline")
    occurred_at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=30)
    summary = models.CharField(max_length=500)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=150, blank=True, help_text="system actor: a key, a form, an import")
    data = BulkJSONField(default=dict, blank=True, help_text="before/after and anything else worth keeping")

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "timeline entries"
        indexes = [models.Index(fields=["lead", "-occurred_at", "-id"], name="timeline_lead_idx")]

    def __str__(self) -> str:
        return self.summary

    @property
    def actor_name(self) -> str:
        if self.actor_id:
            return self.actor.get_full_name() or self.actor.get_username()
        return self.actor_label or "system"


class HostedForm(models.Model):
    """A form served at ``/f/<slug>/`` that anyone may fill in and embed in a page."""

    FIELD_CHOICES = [
        ("first_name", "First name"),
        ("last_name", "Last name"),
        ("phone", "Phone"),
        ("job_title", "Job title"),
        ("company", "Company"),
        ("website", "Website"),
        ("employee_count", "Company size"),
        ("industry", "Industry"),
        ("country", "Country"),
        ("state", "State or region"),
        ("city", "City"),
    ]

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, help_text="heading shown above the form")
    intro = models.TextField(blank=True)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="forms")
    form_type = models.CharField(max_length=20, choices=FormType.choices)
    asset = models.CharField(max_length=200, blank=True, help_text="the asset or offer, e.g. 'State of RevOps 2026'")
    fields = models.JSONField(default=list, blank=True, help_text="fields asked besides email, in order")
    required_fields = models.JSONField(default=list, blank=True)
    progressive_fields = models.JSONField(
        default=list, blank=True, help_text="asked instead when a returning visitor already gave the fields above"
    )
    ask_consent = models.BooleanField(default=True)
    consent_text = models.CharField(max_length=300, default="I agree to be contacted about this request.")
    submit_label = models.CharField(max_length=50, default="Submit")
    thank_you_text = models.TextField(default="Thank you! We will be in touch shortly.")
    redirect_url = models.URLField(blank=True, help_text="if set, send the visitor here instead of the thank-you text")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        allowed = {name for name, _ in self.FIELD_CHOICES}
        errors = {}
        for attr in ("fields", "required_fields", "progressive_fields"):
            value = getattr(self, attr)
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                errors[attr] = "Give a list of field names."
                continue
            unknown = sorted(set(value) - allowed)
            if unknown:
                errors[attr] = f"Unknown fields: {', '.join(unknown)}. Choose from: {', '.join(sorted(allowed))}."
        if not errors:
            extra = set(self.required_fields) - set(self.fields) - set(self.progressive_fields)
            if extra:
                errors["required_fields"] = f"Required fields must be on the form: {', '.join(sorted(extra))}."
        if errors:
            raise ValidationError(errors)

    def get_absolute_url(self) -> str:
        return reverse("hosted-form", args=[self.slug])


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", "Waiting for column mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


def _import_upload_to(instance: ImportJob, filename: str) -> str:
    return f"imports/{timezone.now():%Y/%m}/{secrets.token_hex(8)}.csv"


class ImportJob(models.Model):
    """A CSV file of leads, imported in resumable chunks by Django-Q.

    ``next_row`` is the resume point: a chunk task that finds it moved on
    (another worker ran the chunk) does nothing, so a task run twice is harmless.
    """

    file = models.FileField(upload_to=_import_upload_to)
    original_name = models.CharField(max_length=255)
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="imports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, help_text="CSV column -> lead field")
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.MAPPING)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    next_row = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    merged_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.original_name}"

    def get_absolute_url(self) -> str:
        return reverse("import-detail", args=[self.pk])

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, round(100 * self.next_row / self.total_rows))


class RateLimitBucket(models.Model):
    """An atomic counter per key and window (DRF's throttles are not atomic: DRF #8127)."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="ratelimit_unique")]
