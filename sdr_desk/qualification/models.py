"""The qualification checklist: what each team's AEs need to know before a first meeting, and the answers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inbound.models import Lead

ANSWER_MAX = 2000


class ChecklistItem(models.Model):
    """One data point of a team's checklist ("Timeline", "Decision process"), kept in the team's order.

    Removing an item retires it (``is_active``): the answers given to it stay readable in the lead's history.
    """

    team = models.ForeignKey("routing.Team", on_delete=models.CASCADE, related_name="checklist_items")
    key = models.SlugField(max_length=50, help_text="stable name, for the API and reports")
    label = models.CharField(max_length=100)
    help_text = models.CharField(max_length=300, blank=True, help_text="what a good answer says")
    required = models.BooleanField(default=False, help_text="needed before a code that requires the checklist")
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["team", "key"], name="checklist_item_key_per_team")]
        indexes = [models.Index(fields=["team", "position"], name="checklist_team_idx",
                                condition=Q(is_active=True))]

    def __str__(self) -> str:
        return f"{self.team}: {self.label}"


class Answer(models.Model):
    """The current answer to one item for one lead; each change is in the lead's timeline."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="qualification_answers")
    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="answers")
    text = models.TextField(max_length=ANSWER_MAX, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lead", "item"], name="one_answer_per_item")]

    def __str__(self) -> str:
        return f"{self.item.label} for lead {self.lead_id}"
