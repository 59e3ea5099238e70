from django.urls import path

from scoring import views

urlpatterns = [
    path("", views.rules_page, name="scoring-rules"),
]
