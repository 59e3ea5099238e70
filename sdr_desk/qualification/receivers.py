"""A new team starts with the default checklist, which its manager then shapes."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from sdr_desk.qualification.defaults import checklist_defaults
from sdr_desk.qualification.models import ChecklistItem
from sdr_desk.routing.models import Team


@receiver(post_save, sender=Team, dispatch_uid="qualification.team_checklist")
def team_checklist(*, instance: Team, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        ChecklistItem.objects.bulk_create(checklist_defaults(instance.pk), ignore_conflicts=True)
