"""The webhooks endpoints (under /api/v1/webhooks/): endpoints to manage, deliveries to read and replay.

For the Admin role and superusers only, signed in (session and CSRF); never an API
key, which belongs to a system sending leads in.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbound.api import ERROR
from inbound.payloads import StrictSerializer
from sdr_desk.webhooks.events import webhook_events
from sdr_desk.webhooks.models import (
    TIMEOUT_MAX_SECONDS,
    URL_MAX_LENGTH,
    Delivery,
    DeliveryStatus,
    Endpoint,
    endpoint_url_validate,
)
from sdr_desk.webhooks.services import deliveries_replay, endpoint_create, endpoint_delete, endpoint_update

SAFE = ("GET", "HEAD", "OPTIONS")


class ModelPermissions(BasePermission):
    """The model permissions ``view.permissions`` names per method (Admin has them all; other roles none)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return False
        needed = view.permissions.get(request.method, view.permissions["GET"])
        return user.has_perms(needed)


class WebhooksApi(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [ModelPermissions]
    permissions: dict[str, list[str]] = {}


def _refused(error: DjangoValidationError) -> exceptions.ValidationError:
    """A service's field-level refusal, as the API's 400 (``fields``)."""
    return exceptions.ValidationError(error.message_dict if hasattr(error, "error_dict") else error.messages)


# --- serializers ----------------------------------------------------------------------------------------------


class EventKindSerializer(serializers.Serializer):
    kind = serializers.CharField()
    description = serializers.CharField()


class EventsField(serializers.ListField):
    child = serializers.CharField(max_length=30)

    def to_internal_value(self, data: Any) -> list[str]:
        kinds = super().to_internal_value(data)
        known = webhook_events()
        unknown = sorted(set(kinds) - set(known))
        if unknown:
            raise serializers.ValidationError(f"Unknown event: {', '.join(unknown)}. Pick from: {', '.join(known)}.")
        if not kinds:
            raise serializers.ValidationError("Pick at least one event.")
        return list(dict.fromkeys(kinds))


class EndpointInSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=URL_MAX_LENGTH, validators=[endpoint_url_validate],
                                help_text="http:// or https:// only")
    events = EventsField(help_text="event kinds to send here (GET /api/v1/webhooks/events/)")
    is_active = serializers.BooleanField(required=False, default=True)
    timeout_seconds = serializers.IntegerField(required=False, default=5, min_value=1, max_value=TIMEOUT_MAX_SECONDS)


class EndpointOutSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Endpoint
        fields = ["id", "name", "url", "events", "is_active", "timeout_seconds", "created_by", "created_at",
                  "updated_at"]
        read_only_fields = fields


class EndpointCreatedSerializer(EndpointOutSerializer):
    """The new endpoint with its secret: the only response that shows it (the admin shows it too)."""

    class Meta(EndpointOutSerializer.Meta):
        fields = [*EndpointOutSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class DeliveryOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = ["id", "endpoint", "event_id", "kind", "status", "attempts", "next_attempt_at", "last_attempt_at",
                  "last_status_code", "last_error", "delivered_at", "created_at", "payload"]
        read_only_fields = fields


class DeliveryFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)
    endpoint = serializers.IntegerField(required=False)
    kind = serializers.CharField(required=False, max_length=30)
    event_id = serializers.CharField(required=False, max_length=64)


class DeliveryPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500


# --- views ----------------------------------------------------------------------------------------------------


class EventKindListApi(WebhooksApi):
    permissions = {"GET": ["webhooks.view_endpoint"]}

    @extend_schema(operation_id="webhooks_events_list", responses={200: EventKindSerializer(many=True), 403: ERROR})
    def get(self, request: Request) -> Response:
        """The event kinds an endpoint may subscribe to."""
        return Response([{"kind": kind, "description": text} for kind, text in webhook_events().items()])


class EndpointCollectionApi(WebhooksApi):
    permissions = {"GET": ["webhooks.view_endpoint"], "POST": ["webhooks.add_endpoint"]}

    @extend_schema(operation_id="webhooks_endpoints_list", responses={200: EndpointOutSerializer(many=True),
                                                                      403: ERROR})
    def get(self, request: Request) -> Response:
        endpoints = Endpoint.objects.select_related("created_by")
        return Response(EndpointOutSerializer(endpoints, many=True).data)

    @extend_schema(operation_id="webhooks_endpoints_create", request=EndpointInSerializer,
                   responses={201: EndpointCreatedSerializer, 400: ERROR, 403: ERROR})
    def post(self, request: Request) -> Response:
        """Add an endpoint; the response carries its signing secret, shown this once."""
        incoming = EndpointInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            endpoint = endpoint_create(user=request.user, **incoming.validated_data)
        except DjangoValidationError as error:
            raise _refused(error) from None
        return Response(EndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailApi(WebhooksApi):
    permissions = {"GET": ["webhooks.view_endpoint"], "PATCH": ["webhooks.change_endpoint"],
                   "DELETE": ["webhooks.delete_endpoint"]}

    @extend_schema(operation_id="webhooks_endpoints_retrieve", responses={200: EndpointOutSerializer, 403: ERROR,
                                                                          404: ERROR})
    def get(self, request: Request, pk: int) -> Response:
        return Response(EndpointOutSerializer(get_object_or_404(Endpoint, pk=pk)).data)

    @extend_schema(operation_id="webhooks_endpoints_update", request=EndpointInSerializer(partial=True),
                   responses={200: EndpointOutSerializer, 400: ERROR, 403: ERROR, 404: ERROR})
    def patch(self, request: Request, pk: int) -> Response:
        """Change any of name, url, events, is_active, timeout_seconds; a refusal changes nothing."""
        get_object_or_404(Endpoint, pk=pk)
        incoming = EndpointInSerializer(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        try:
            endpoint = endpoint_update(pk, **incoming.validated_data)
        except DjangoValidationError as error:
            raise _refused(error) from None
        return Response(EndpointOutSerializer(endpoint).data)

    @extend_schema(operation_id="webhooks_endpoints_destroy", responses={204: None, 403: ERROR, 404: ERROR})
    def delete(self, request: Request, pk: int) -> Response:
        """Delete the endpoint and its delivery log (set it inactive to keep the log)."""
        endpoint_delete(get_object_or_404(Endpoint, pk=pk).pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryCollectionApi(WebhooksApi):
    permissions = {"GET": ["webhooks.view_delivery"]}

    @extend_schema(operation_id="webhooks_deliveries_list", parameters=[DeliveryFilterSerializer],
                   responses={200: DeliveryOutSerializer(many=True), 400: ERROR, 403: ERROR})
    def get(self, request: Request) -> Response:
        """The delivery log, newest first, by status, endpoint, kind or event id."""
        filters = DeliveryFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        deliveries = Delivery.objects.filter(**filters.validated_data)
        paginator = DeliveryPagination()
        page = paginator.paginate_queryset(deliveries, request, view=self)
        return paginator.get_paginated_response(DeliveryOutSerializer(page, many=True).data)


class DeliveryReplayApi(WebhooksApi):
    permissions = {"GET": ["webhooks.view_delivery"], "POST": ["webhooks.change_delivery"]}

    @extend_schema(operation_id="webhooks_deliveries_replay", request=None,
                   responses={202: DeliveryOutSerializer, 403: ERROR, 404: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        """Send the delivery again: the same event id and body, attempts from zero."""
        delivery = get_object_or_404(Delivery, pk=pk)
        deliveries_replay([delivery.pk])
        delivery.refresh_from_db()
        return Response(DeliveryOutSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
