"""The disposition form of the lead page, and the API endpoints (included under /api/v1/)."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from sdr_desk.dispositions import api, views

urlpatterns = [
    path("leads/<int:pk>/disposition/", views.lead_disposition_view, name="lead-disposition"),
    path("dispositions/", views.review, name="disposition-review"),
    path("dispositions/<int:pk>/actions/", views.disposition_actions, name="disposition-actions"),
    path("dispositions/<int:pk>/change/", views.disposition_change_view, name="disposition-change"),
    path("dispositions/codes/", views.codes_page, name="disposition-codes"),
    path("dispositions/codes/<int:pk>/", views.code_edit, name="disposition-code-edit"),
    path("dispositions/codes/<int:pk>/action/", views.code_action, name="disposition-code-action"),
    path("dispositions/<int:pk>/reopen/", views.disposition_reopen_view, name="disposition-reopen"),
]

api_urlpatterns = [
    path("disposition-codes/", login_not_required(api.DispositionCodeListApi.as_view()), name="api-disposition-codes"),
    path("leads/<int:pk>/disposition/", login_not_required(api.LeadDispositionApi.as_view()),
         name="api-lead-disposition"),
    path("leads/<int:pk>/merge/", login_not_required(api.LeadMergeApi.as_view()), name="api-lead-merge"),
]
