"""The desk's people: teams of reps. Routing, SLAs and the board grow from here."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="managed_teams")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    time_zone = models.CharField(max_length=64, default="UTC")
    hot_criteria = models.ForeignKey("scoring.HotLeadCriteria", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="teams", help_text="when a lead is hot for this team; "
                                                                     "empty: the default criteria")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
