from django.urls import path

from inbound import views
from inbound import views_forms

urlpatterns = [
    path("leads/", views.lead_list, name="lead-list"),
    path("f/<slug:slug>/", views_forms.hosted_form, name="hosted-form"),
    path("forms/", views_forms.form_list, name="form-list"),
]
