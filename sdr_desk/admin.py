from django.contrib import admin

from sdr_desk.models import Team


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "manager", "time_zone"]
    filter_horizontal = ["members"]
