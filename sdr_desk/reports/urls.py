from django.urls import path

from sdr_desk.reports import views

urlpatterns = [
    path("reports/", views.speed, name="reports-speed"),
    path("reports/funnel/", views.funnel, name="reports-funnel"),
    path("reports/handoff/", views.handoff, name="reports-handoff"),
    path("reports/coaching/", views.coaching, name="reports-coaching"),
    path("reports/leads/", views.leads, name="reports-leads"),
]
