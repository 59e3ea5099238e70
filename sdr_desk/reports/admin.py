from django.contrib import admin

from sdr_desk.reports.models import ReportSnapshot, RollupState


@admin.register(RollupState)
class RollupStateAdmin(admin.ModelAdmin):
    list_display = ["name", "last_entry_id", "refreshed_at", "full_at", "rebuild_cursor", "rebuild_heartbeat"]
    readonly_fields = ["name", "last_entry_id", "refreshed_at", "full_at", "rebuild_cursor", "rebuild_entry_id",
                       "rebuild_started_at", "rebuild_claim", "rebuild_heartbeat"]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(ReportSnapshot)
class ReportSnapshotAdmin(admin.ModelAdmin):
    """What is kept warm, how long each took to compute, and how old it is: read-only (the schedule writes)."""

    list_display = ["figure", "made_at", "seconds", "version", "relative", "viewed_at", "refreshing_since"]
    list_filter = ["figure", "relative"]
    exclude = ["rows"]
    readonly_fields = ["key", "figure", "kwargs", "inputs", "version", "as_of", "made_at", "seconds", "relative",
                       "viewed_at", "refreshing_since"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
