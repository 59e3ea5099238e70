"""The checklist's pages, and its API endpoints (included under /api/v1/)."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from sdr_desk.qualification import api, views

urlpatterns = [
    path("leads/<int:pk>/qualification/<int:item_id>/", views.answer_view, name="lead-answer"),
    path("teams/<int:pk>/checklist/", views.checklist_page, name="team-checklist"),
]

api_urlpatterns = [
    path("checklist-items/", login_not_required(api.ChecklistItemListApi.as_view()), name="api-checklist-items"),
    path("leads/<int:pk>/qualification/", login_not_required(api.LeadAnswerApi.as_view()), name="api-lead-answer"),
]
