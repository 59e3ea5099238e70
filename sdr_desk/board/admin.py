from django.contrib import admin

from sdr_desk.board.models import BoardPreference


@admin.register(BoardPreference)
class BoardPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "sound", "updated_at"]
    raw_id_fields = ["user"]
