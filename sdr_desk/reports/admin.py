from django.contrib import admin

from sdr_desk.reports.models import RollupState


@admin.register(RollupState)
class RollupStateAdmin(admin.ModelAdmin):
    list_display = ["name", "last_entry_id", "refreshed_at", "full_at"]
    readonly_fields = ["name", "last_entry_id", "refreshed_at", "full_at"]

    def has_add_permission(self, request: object) -> bool:
        return False
