"""The webhooks API (included under /api/v1/ by the project's urls); the rest is in the admin."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from sdr_desk.webhooks import api

api_urlpatterns = [
    path("webhooks/events/", login_not_required(api.EventKindListApi.as_view()), name="api-webhook-events"),
    path("webhooks/endpoints/", login_not_required(api.EndpointCollectionApi.as_view()),
         name="api-webhook-endpoints"),
    path("webhooks/endpoints/<int:pk>/", login_not_required(api.EndpointDetailApi.as_view()),
         name="api-webhook-endpoint"),
    path("webhooks/deliveries/", login_not_required(api.DeliveryCollectionApi.as_view()),
         name="api-webhook-deliveries"),
    path("webhooks/deliveries/<int:pk>/replay/", login_not_required(api.DeliveryReplayApi.as_view()),
         name="api-webhook-delivery-replay"),
]
