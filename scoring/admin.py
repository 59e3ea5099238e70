from django.contrib import admin

from scoring.models import FitRule, HotLeadCriteria, IntentRule, LeadScore, RuleFailure, RuleSetVersion, ScoringSettings


@admin.register(FitRule)
class FitRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "points", "is_active", "position"]
    list_editable = ["points", "is_active", "position"]
    list_filter = ["kind", "is_active"]


@admin.register(IntentRule)
class IntentRuleAdmin(admin.ModelAdmin):
    list_display = ["signal", "points", "cap", "tier", "is_active"]
    list_editable = ["points", "cap", "tier", "is_active"]


@admin.register(HotLeadCriteria)
class HotLeadCriteriaAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default", "mode", "min_score", "within_days"]
    filter_horizontal = ["sources"]


@admin.register(ScoringSettings)
class ScoringSettingsAdmin(admin.ModelAdmin):
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
