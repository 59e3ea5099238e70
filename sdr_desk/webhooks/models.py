"""Where the desk's events go (endpoints) and what became of each one sent there (deliveries)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils import timezone

from sdr_desk.webhooks.events import webhook_events

URL_MAX_LENGTH = 500
TIMEOUT_MAX_SECONDS = 30

_http_url = URLValidator(schemes=["http", "https"])


def endpoint_url_validate(value: str) -> None:
    """An absolute http:// or https:// URL with a host; anything else (ftp:, javascript:, file:, no scheme) is refused."""
    scheme = urlsplit(value).scheme.lower() if ":" in value else ""
    if scheme not in ("http", "https"):
        shown = f"“{scheme}:”" if scheme else "none"
        raise ValidationError(f"Give an http:// or https:// URL; its scheme is {shown}.", code="scheme")
    try:
        _http_url(value)
    except ValidationError:
        raise ValidationError("Give a whole URL with a host, such as https://crm.example.com/hooks/desk.",
                              code="invalid") from None


def endpoint_events_validate(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise ValidationError("Give a list of event kinds.", code="invalid")
    if not value:
        raise ValidationError("Pick at least one event.", code="required")
    unknown = sorted(set(value) - set(webhook_events()))
    if unknown:
        raise ValidationError(f"Unknown event: {', '.join(unknown)}. Pick from: {', '.join(webhook_events())}.",
                              code="unknown")


def secret_generate() -> str:
    return secrets.token_urlsafe(32)


class Endpoint(models.Model):
    """A URL that receives the events it subscribes to, signed with its own secret."""

    name = models.CharField(max_length=100)
    url = models.CharField("URL", max_length=URL_MAX_LENGTH, validators=[endpoint_url_validate],
                           help_text="http:// or https://; events are POSTed here as JSON")
    secret = models.CharField(max_length=100, default=secret_generate, editable=False,
                              help_text="signs each request (X-Desk-Signature); generated when the endpoint is made")
    events = models.JSONField(default=list, validators=[endpoint_events_validate],
                              help_text="the event kinds sent here")
    is_active = models.BooleanField("active", default=True,
                                    help_text="an inactive endpoint is sent nothing; its queued deliveries wait")
    timeout_seconds = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(TIMEOUT_MAX_SECONDS)],
        help_text=f"how long one attempt waits for the receiver (1 to {TIMEOUT_MAX_SECONDS} seconds)")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def subscribes_to(self, kind: str) -> bool:
        return self.is_active and kind in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # not tried yet, or replayed
    FAILED = "failed", "Failed"  # the last attempt failed; another is due at next_attempt_at
    DELIVERED = "delivered", "Delivered"
    DEAD = "dead", "Dead"  # every attempt failed; only a replay sends it again


class Delivery(models.Model):
    """One event for one endpoint: its body, fixed when the event happened, and every attempt's outcome.

    ``event_id`` is the event's stable id, the same in every retry and replay and
    for every endpoint, so a receiver drops duplicates by it. A row is claimed
    for an attempt by setting ``leased_until``; a worker that dies mid-attempt
    leaves a lease that expires, and the row is tried again.
    """

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=30)
    payload = models.JSONField(help_text="the JSON body, built when the event happened")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField(null=True, blank=True, help_text="an attempt is in flight until then")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhooks_delivery_once")]
        indexes = [
            # The sweep's question: what is due? Only undelivered rows are in this index.
            models.Index(fields=["next_attempt_at"], name="webhooks_delivery_due_idx",
                         condition=models.Q(status__in=["pending", "failed"])),
            models.Index(fields=["endpoint", "-created_at"], name="webhooks_delivery_endpoint_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id} to endpoint {self.endpoint_id}"
