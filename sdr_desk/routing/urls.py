"""Routing's pages (rules and their tester, teams and their settings) and its API endpoints."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from sdr_desk.routing import api
from sdr_desk.routing import views as views_manage

urlpatterns = [
    path("routing/", views_manage.routing_page, name="routing-rules"),
    path("teams/", views_manage.team_list, name="team-list"),
    path("teams/<int:pk>/", views_manage.team_page, name="team-settings"),
    path("queue/", views_manage.queue_page, name="queue"),
    path("queue/assign/", views_manage.queue_assign, name="queue-assign"),
    path("leads/<int:pk>/assign/", views_manage.lead_assign_view, name="lead-assign"),
]

# Under /api/v1/: the rep's actions on a lead. The lead collection and detail (routing's DeskLead*Api) are
# mounted by the project from the app that enriches them last (see sdr_desk/urls.py).
# The API authenticates itself (keys or sessions), so the login-required middleware stands aside.
api_urlpatterns = [
    path("leads/<int:pk>/claim/", login_not_required(api.LeadClaimApi.as_view()), name="api-lead-claim"),
    path("leads/<int:pk>/touches/", login_not_required(api.LeadTouchApi.as_view()), name="api-lead-touches"),
    path("leads/<int:pk>/next-step/", login_not_required(api.LeadNextStepApi.as_view()), name="api-lead-next-step"),
    path("leads/<int:pk>/assign/", login_not_required(api.LeadAssignApi.as_view()), name="api-lead-assign"),
]
