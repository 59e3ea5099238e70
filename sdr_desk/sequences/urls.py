"""Sequence pages, the public unsubscribe page, and the inbound email endpoint (under /api/v1/)."""

from django.urls import path

from sdr_desk.sequences import views

urlpatterns = [
    path("leads/<int:pk>/sequence/", views.lead_enrol_view, name="lead-sequence-enrol"),
    path("sequences/", views.templates_view, name="sequence-templates"),
    path("sequences/signature/", views.signature_view, name="sequence-signature"),
    path("anymail/postmark/inbound/", views.anymail_inbound_view, name="sequence-anymail-inbound"),
    path("sequences/unsubscribe/<str:token>/", views.unsubscribe_view, name="sequence-unsubscribe"),
]

api_urlpatterns = [
    path("sequences/inbound-email/", views.inbound_email_view, name="api-sequence-inbound-email"),
]
