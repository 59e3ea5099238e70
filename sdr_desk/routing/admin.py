from django.contrib import admin

from sdr_desk.routing.models import (
    AccountOwner,
    LeadAssignment,
    Rep,
    RoutingRule,
    Team,
    TeamHoliday,
    Touch,
)


class TeamHolidayInline(admin.TabularInline):
    model = TeamHoliday
    extra = 0


class RepInline(admin.TabularInline):
    model = Rep
    extra = 0
    fields = ["user", "role", "status", "capacity", "weight", "time_zone"]
    raw_id_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "visibility", "is_default", "manager", "backup_rep", "time_zone"]
    inlines = [RepInline, TeamHolidayInline]


@admin.register(Rep)
class RepAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "team", "status", "capacity", "weight", "routed_count", "escalation_streak"]
    list_filter = ["role", "team", "status"]
    list_select_related = ["user", "team"]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_active", "target_team", "target_rep"]
    list_editable = ["position", "is_active"]
    filter_horizontal = ["sources"]


@admin.register(LeadAssignment)
class LeadAssignmentAdmin(admin.ModelAdmin):
    list_display = ["lead", "team", "owner", "state", "sla_due_at", "first_touch_at", "next_step_at",
                    "escalation_level"]
    list_filter = ["state", "team"]
    raw_id_fields = ["lead", "owner"]
    list_select_related = ["lead", "team", "owner"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False  # ownership changes only through the desk, so each is recorded


@admin.register(Touch)
class TouchAdmin(admin.ModelAdmin):
    list_display = ["lead", "rep", "channel", "outcome", "occurred_at", "is_first"]
    list_filter = ["channel", "outcome"]
    raw_id_fields = ["lead", "rep"]


@admin.register(AccountOwner)
class AccountOwnerAdmin(admin.ModelAdmin):
    list_display = ["account", "owner", "since"]
    raw_id_fields = ["account", "owner"]
