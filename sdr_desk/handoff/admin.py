from django.contrib import admin

from sdr_desk.handoff.models import Handoff, HandoffSettings, RejectionReason


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin):
    list_display = ["name", "position", "is_active"]
    list_editable = ["position", "is_active"]


@admin.register(HandoffSettings)
class HandoffSettingsAdmin(admin.ModelAdmin):
    list_display = ["team", "acceptance_sla_hours", "countries", "position", "ae_team", "version"]
    readonly_fields = ["version", "updated_at"]


@admin.register(Handoff)
class HandoffAdmin(admin.ModelAdmin):
    """Read-only: handoffs change through the desk's services."""

    list_display = ["lead", "sdr", "ae", "status", "meeting_status", "handed_at", "due_at", "escalated"]
    list_filter = ["status", "meeting_status", "ae_team", "escalated"]
    raw_id_fields = ["lead"]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
