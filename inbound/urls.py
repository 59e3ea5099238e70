from django.urls import path

from inbound import views

urlpatterns = [
    path("leads/", views.lead_list, name="lead-list"),
    path("leads/<int:pk>/", views.lead_detail, name="lead-detail"),
]
