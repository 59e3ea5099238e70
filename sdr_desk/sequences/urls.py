"""Sequence pages, the public unsubscribe page, and the inbound email endpoint (under /api/v1/)."""

from django.urls import path

from sdr_desk.sequences import views, views_manage

urlpatterns = [
    path("leads/<int:pk>/sequence/", views.lead_enrol_view, name="lead-sequence-enrol"),
    path("sequences/", views.templates_view, name="sequence-templates"),
    path("sequences/signature/", views.signature_view, name="sequence-signature"),
    path("sequences/new/", views_manage.template_add_view, name="sequence-template-add"),
    path("sequences/<int:pk>/", views_manage.template_edit_view, name="sequence-template-edit"),
    path("sequences/<int:pk>/active/", views_manage.template_active_view, name="sequence-template-active"),
    path("sequences/<int:pk>/steps/new/", views_manage.step_add_view, name="sequence-step-add"),
    path("sequences/steps/<int:pk>/", views_manage.step_edit_view, name="sequence-step-edit"),
    path("sequences/steps/<int:pk>/move/", views_manage.step_move_view, name="sequence-step-move"),
    path("sequences/steps/<int:pk>/delete/", views_manage.step_delete_view, name="sequence-step-delete"),
    path("sequences/steps/<int:pk>/variants/new/", views_manage.variant_add_view, name="sequence-variant-add"),
    path("sequences/variants/<int:pk>/", views_manage.variant_edit_view, name="sequence-variant-edit"),
    path("sequences/variants/<int:pk>/delete/", views_manage.variant_delete_view, name="sequence-variant-delete"),
    path("anymail/postmark/inbound/", views.anymail_inbound_view, name="sequence-anymail-inbound"),
    path("sequences/unsubscribe/<str:token>/", views.unsubscribe_view, name="sequence-unsubscribe"),
]

api_urlpatterns = [
    path("sequences/inbound-email/", views.inbound_email_view, name="api-sequence-inbound-email"),
]
