from django.contrib import admin

from sdr_desk.qualification.models import Answer, ChecklistItem


@admin.register(ChecklistItem)
class ChecklistItemAdmin(admin.ModelAdmin):
    list_display = ["label", "team", "key", "required", "position", "is_active"]
    list_filter = ["team", "required", "is_active"]
    ordering = ["team", "position"]


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ["lead", "item", "answered_by", "answered_at"]
    list_select_related = ["lead", "item", "answered_by"]
    raw_id_fields = ["lead"]
    readonly_fields = ["answered_by", "answered_at"]
