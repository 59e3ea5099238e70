"""The manager's desk pages: routing rules and their tester, teams and their settings."""

from django.urls import path

from sdr_desk import views_manage

urlpatterns = [
    path("routing/", views_manage.routing_page, name="routing-rules"),
    path("teams/", views_manage.team_list, name="team-list"),
    path("teams/<int:pk>/", views_manage.team_page, name="team-settings"),
]
