from django.contrib import admin

from sdr_desk.dispositions.models import Disposition, DispositionCode


@admin.register(DispositionCode)
class DispositionCodeAdmin(admin.ModelAdmin):
    list_display = ["name", "outcome", "reason_required", "needs_reengage_date", "position", "is_active"]
    list_editable = ["position", "is_active"]
    list_filter = ["outcome", "is_active"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Disposition)
class DispositionAdmin(admin.ModelAdmin):
    """Read-only here: a disposition is recorded (and later changed) through the desk's service."""

    list_display = ["lead", "code", "reason", "rep", "team", "recorded_at", "is_current"]
    list_filter = ["code", "team", "is_current"]
    list_select_related = ["lead", "code", "rep", "team"]
    raw_id_fields = ["lead", "rep", "recorded_by"]
    date_hierarchy = "recorded_at"

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
