from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django_q.tasks import async_task

from scoring.models import FitRule, HotLeadCriteria, IntentRule, LeadScore, RuleFailure, RuleSetVersion, ScoringSettings
from scoring.services import ruleset_publish


class PublishOnChangeMixin:
    """Rules are data, versioned: a rule changed in the admin is published like one changed on the rules page.

    Publishing waits for the commit, so the version sees the saved row and its
    many-to-many fields (saved after ``save_model``), and happens once per
    request even when a changelist edits many rows.
    """

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        _publish_on_commit(request, obj)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        super().delete_model(request, obj)  # type: ignore[misc]
        _publish_on_commit(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        first = queryset.first()
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        if first is not None:
            _publish_on_commit(request, first)


def _publish_on_commit(request: HttpRequest, obj: Model) -> None:
    if getattr(request, "_scoring_publish_pending", False):
        return
    request._scoring_publish_pending = True  # type: ignore[attr-defined]
    note = f"admin: {obj}"

    def publish() -> None:
        ruleset_publish(user=request.user, note=note)  # type: ignore[arg-type]
        # Stored scores name the version that produced them: rescore open leads under the new one.
        # robust: if the queue is down the nightly decay run rescores them anyway.
        transaction.on_commit(lambda: async_task("scoring.tasks.scores_rescore_after_publish",
                                                 q_options={"group": "scoring-rules"}), robust=True)

    transaction.on_commit(publish)


@admin.register(FitRule)
class FitRuleAdmin(PublishOnChangeMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "points", "is_active", "position"]
    list_editable = ["points", "is_active", "position"]
    list_filter = ["kind", "is_active"]


@admin.register(IntentRule)
class IntentRuleAdmin(PublishOnChangeMixin, admin.ModelAdmin):
    list_display = ["signal", "points", "cap", "tier", "is_active"]
    list_editable = ["points", "cap", "tier", "is_active"]


@admin.register(HotLeadCriteria)
class HotLeadCriteriaAdmin(PublishOnChangeMixin, admin.ModelAdmin):
    list_display = ["name", "is_default", "mode", "min_score", "within_days"]
    filter_horizontal = ["sources"]


@admin.register(ScoringSettings)
class ScoringSettingsAdmin(PublishOnChangeMixin, admin.ModelAdmin):
    list_display = ["half_life_days", "lookback_days", "grade_a_min", "grade_b_min", "grade_c_min"]


@admin.register(RuleSetVersion)
class RuleSetVersionAdmin(admin.ModelAdmin):
    list_display = ["number", "note", "created_by", "created_at"]
    readonly_fields = ["number", "snapshot", "note", "created_by", "created_at"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # versions are made by publishing, never by hand


@admin.register(LeadScore)
class LeadScoreAdmin(admin.ModelAdmin):
    list_display = ["lead", "total", "fit", "intent", "grade", "tier", "is_hot", "hot_since", "version"]
    list_filter = ["grade", "tier", "is_hot"]
    raw_id_fields = ["lead"]
    list_select_related = ["lead"]


@admin.register(RuleFailure)
class RuleFailureAdmin(admin.ModelAdmin):
    list_display = ["rule", "message", "count", "last_seen_at"]
