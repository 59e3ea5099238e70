"""Sequence pages (the API has none yet)."""

from django.urls import path

from sdr_desk.sequences import views

urlpatterns = [
    path("leads/<int:pk>/sequence/", views.lead_enrol_view, name="lead-sequence-enrol"),
    path("sequences/", views.templates_view, name="sequence-templates"),
    path("sequences/unsubscribe/<str:token>/", views.unsubscribe_view, name="sequence-unsubscribe"),
]

api_urlpatterns: list = []
