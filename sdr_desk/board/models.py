"""The board's own rows: the numbered log of changes a board catches up from, and each user's preferences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from inbound.models import Lead


class BoardEvent(models.Model):
    """A numbered note that a lead's place on the boards changed.

    Pushes over the websocket are at most once; this log is the truth a board
    catches up from after a reconnect ("everything since event N").
    """

    id = models.BigAutoField(primary_key=True)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "sdr_desk_boardevent"  # the table from before the desk became apps
        indexes = [models.Index(fields=["created_at"], name="boardevent_created_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} lead {self.lead_id}"


class BoardPreference(models.Model):
    """How a user's board behaves, kept with the user rather than in one browser."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="board_preference")
    sound = models.BooleanField(default=False, help_text="play a sound when a new hot lead arrives")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "sdr_desk_boardpreference"  # the table from before the desk became apps

    def __str__(self) -> str:
        return f"{self.user}: sound {'on' if self.sound else 'off'}"
