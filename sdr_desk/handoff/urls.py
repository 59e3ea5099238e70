"""The handoff's pages, and its API endpoints (included under /api/v1/)."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from sdr_desk.handoff import api, views

urlpatterns = [
    path("leads/<int:pk>/handoff/", views.lead_handoff_view, name="lead-handoff"),
    path("handoffs/", views.handoff_inbox, name="handoff-inbox"),
    path("handoffs/settings/", views.handoff_settings, name="handoff-settings"),
    path("handoffs/settings/<int:team_id>/", views.handoff_settings_save, name="handoff-settings-save"),
    path("handoffs/<int:pk>/verdict/", views.handoff_verdict_view, name="handoff-verdict"),
    path("handoffs/<int:pk>/meeting/", views.handoff_meeting_view, name="handoff-meeting"),
    path("handoffs/<int:pk>/reassign/", views.handoff_reassign_view, name="handoff-reassign"),
    path("handoffs/<int:pk>/cancel/", views.handoff_cancel_view, name="handoff-cancel"),
]

api_urlpatterns = [
    path("leads/<int:pk>/handoff/", login_not_required(api.LeadHandoffApi.as_view()), name="api-lead-handoff"),
    path("handoffs/", login_not_required(api.HandoffListApi.as_view()), name="api-handoffs"),
    path("handoffs/<int:pk>/verdict/", login_not_required(api.HandoffVerdictApi.as_view()),
         name="api-handoff-verdict"),
    path("handoffs/<int:pk>/meeting/", login_not_required(api.HandoffMeetingApi.as_view()),
         name="api-handoff-meeting"),
    path("handoffs/<int:pk>/reassign/", login_not_required(api.HandoffReassignApi.as_view()),
         name="api-handoff-reassign"),
    path("handoffs/<int:pk>/cancel/", login_not_required(api.HandoffCancelApi.as_view()), name="api-handoff-cancel"),
    path("rejection-reasons/", login_not_required(api.RejectionReasonListApi.as_view()),
         name="api-rejection-reasons"),
]
