"""The intake REST API: leads and events in, leads out.

Thin views: check the contract, call a service, serialize. Sending requires a
source's API key; reading is open to signed-in staff with the view permission
and to keys, which see only the leads their own source sent.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbound.api_auth import ApiKeyUser
from inbound.idempotency import MAX_KEY_LENGTH, IdempotencyMismatch, idempotency_begin, idempotency_finish
from inbound.models import ApiKey, Lead, LeadStatus, Submission, SubmissionChannel
from inbound.payloads import EventPayloadSerializer, LeadPayloadSerializer, clean_event_payload, clean_lead_payload
from inbound.services import Outcome, event_submission_accept, lead_submission_accept
from inbound.web import client_ip


class LeadOutSerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source.name", default=None, read_only=True)
    account = serializers.CharField(source="account.domain", default=None, read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id", "email", "status", "first_name", "last_name", "phone", "job_title", "company", "website",
            "employee_count", "employee_range", "industry", "country", "state", "city", "time_zone", "consent",
            "custom", "account", "is_personal_email", "source", "campaign", "utm_source", "utm_medium",
            "utm_campaign", "utm_term", "utm_content", "referrer", "landing_page", "last_form_type", "last_asset",
            "last_converted_at", "conversion_count", "created_at", "updated_at",
        ]
        read_only_fields = fields


_lead_out: LeadOutSerializer | None = None


def lead_out(lead: Lead) -> dict[str, Any]:
    """``LeadOutSerializer(lead).data``, without building the serializer's 36 fields again for every lead.

    A ``ModelSerializer`` introspects the model each time it is instantiated;
    one instance per process, whose fields only read, gives the same output.
    """
    global _lead_out
    if _lead_out is None:
        _lead_out = LeadOutSerializer()
    return _lead_out.to_representation(lead)


ERROR = inline_serializer("Error", {"error": serializers.CharField(), "detail": serializers.CharField(),
                                    "fields": serializers.DictField(required=False)})
ACCEPTED = inline_serializer("Accepted", {"status": serializers.CharField(), "submission_id": serializers.IntegerField(),
                                          "lead_id": serializers.IntegerField(allow_null=True),
                                          "detail": serializers.CharField(required=False)})
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER,
    description="Retries with the same key return the first response; another body with it is refused (422).",
)


def _require_key(request: Request) -> ApiKey:
    if not isinstance(request.user, ApiKeyUser):
        raise exceptions.PermissionDenied("Send leads and events with a source's API key: Authorization: Api-Key <key>.")
    return request.user.api_key


def _require_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": [f"Expected a JSON object, got {_json_type(data)}."]})
    return data


def _json_type(data: Any) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
            type(None): "null"}.get(type(data), type(data).__name__)


def _idempotent(request: Request, endpoint: str, work: Any) -> Response:
    """Run ``work() -> (status, body)`` once per Idempotency-Key, in one transaction with its record."""
    api_key = request.user.api_key
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise exceptions.ValidationError({"Idempotency-Key": [f"At most {MAX_KEY_LENGTH} characters."]})
    if not key:
        # Nothing to record with it: the work's own transaction is the whole of it.
        code, body = work()
        return Response(body, status=code)
    with transaction.atomic():
        try:
            row, stored = idempotency_begin(api_key=api_key, endpoint=endpoint, key=key, data=request.data)
        except IdempotencyMismatch:
            return Response({"error": "idempotency_key_reused",
                             "detail": "This Idempotency-Key was used with a different request body."},
                            status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        if stored is not None:
            return Response(stored.response_body, status=stored.response_status,
                            headers={"Idempotent-Replayed": "true"})
        code, body = work()
        idempotency_finish(row, status=code, body=body)
        return Response(body, status=code)


def _accepted_body(outcome: Outcome, detail: str) -> dict[str, Any]:
    return {"status": outcome.submission.status, "submission_id": outcome.submission.pk,
            "lead_id": outcome.lead.pk if outcome.lead else None, "detail": detail}


class LeadPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500


class LeadFilterSerializer(serializers.Serializer):
    email = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=LeadStatus.choices, required=False)
    source = serializers.CharField(required=False, help_text="A source's name or id.")
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)


def leads_visible_to(user: Any, *, related: tuple[str, ...] = (), prefetch: tuple[Any, ...] = ()) -> QuerySet[Lead]:
    """A key sees the leads its source sent; staff need the view permission."""
    leads = Lead.objects.select_related("source", "account", *related).prefetch_related(*prefetch)
    if isinstance(user, ApiKeyUser):
        return leads.filter(Exists(Submission.objects.filter(lead=OuterRef("pk"), source=user.source)))
    if user.has_perm("inbound.view_lead"):
        return leads
    raise exceptions.PermissionDenied("You may not read leads.")


class LeadOutputMixin:
    """The lead representation; the project swaps in a richer one (scores, owner) without intake knowing."""

    output_serializer: type[serializers.Serializer] = LeadOutSerializer
    output_related: tuple[str, ...] = ()

    def output_prefetch(self) -> tuple[Any, ...]:
        """``prefetch_related`` lookups the richer representation reads (fresh ``Prefetch`` objects per request)."""
        return ()


class LeadCollectionApi(LeadOutputMixin, APIView):
    @extend_schema(
        operation_id="leads_create",
        request=LeadPayloadSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: LeadOutSerializer, 200: LeadOutSerializer, 202: ACCEPTED, 400: ERROR, 401: ERROR,
                   413: ERROR, 422: ERROR, 503: ERROR},
        description="Create a lead, or record a new conversion on the lead with this email (200).",
    )
    def post(self, request: Request) -> Response:
        api_key = _require_key(request)
        payload = _require_object(request.data)
        cleaned, errors = clean_lead_payload(payload)
        if errors:
            raise exceptions.ValidationError(errors)

        def work() -> tuple[int, dict[str, Any]]:
            outcome = lead_submission_accept(
                cleaned=cleaned, payload=payload, channel=SubmissionChannel.API, source=api_key.source,
                api_key=api_key, remote_addr=client_ip(request), user_agent=request.headers.get("User-Agent", ""),
            )
            if not outcome.ok:
                return status.HTTP_202_ACCEPTED, _accepted_body(
                    outcome, "Stored, but processing failed; it will be retried.")
            code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
            # Intake's own representation: scoring and routing run after this commits.
            return code, lead_out(outcome.lead)

        return _idempotent(request, "leads", work)

    @extend_schema(
        operation_id="leads_list",
        parameters=[LeadFilterSerializer],
        responses={200: LeadOutSerializer(many=True), 400: ERROR, 403: ERROR},
    )
    def get(self, request: Request) -> Response:
        leads = leads_visible_to(request.user, related=self.output_related, prefetch=self.output_prefetch())
        filters = LeadFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        query = filters.validated_data
        if "email" in query:
            leads = leads.filter(email=query["email"].strip().lower())
        if "status" in query:
            leads = leads.filter(status=query["status"])
        if "source" in query:
            value = query["source"]
            leads = leads.filter(source_id=int(value)) if value.isdigit() else leads.filter(source__name=value)
        if "created_after" in query:
            leads = leads.filter(created_at__gte=query["created_after"])
        if "created_before" in query:
            leads = leads.filter(created_at__lt=query["created_before"])
        paginator = LeadPagination()
        page = paginator.paginate_queryset(leads, request, view=self)
        return paginator.get_paginated_response(self.output_serializer(page, many=True).data)


class LeadDetailApi(LeadOutputMixin, APIView):
    @extend_schema(operation_id="leads_retrieve", responses={200: LeadOutSerializer, 403: ERROR, 404: ERROR})
    def get(self, request: Request, pk: int) -> Response:
        lead = get_object_or_404(leads_visible_to(request.user, related=self.output_related,
                                                  prefetch=self.output_prefetch()), pk=pk)
        return Response(self.output_serializer(lead).data)


class EventCollectionApi(APIView):
    @extend_schema(
        operation_id="events_create",
        request=EventPayloadSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={202: ACCEPTED, 400: ERROR, 401: ERROR, 413: ERROR, 422: ERROR, 503: ERROR},
        description="Record behaviour. Events of a visitor not yet known wait and are attached when they convert.",
    )
    def post(self, request: Request) -> Response:
        api_key = _require_key(request)
        payload = _require_object(request.data)
        cleaned, errors = clean_event_payload(payload)
        if errors:
            raise exceptions.ValidationError(errors)

        def work() -> tuple[int, dict[str, Any]]:
            outcome = event_submission_accept(
                cleaned=cleaned, payload=payload, channel=SubmissionChannel.API, source=api_key.source,
                api_key=api_key, remote_addr=client_ip(request), user_agent=request.headers.get("User-Agent", ""),
            )
            if not outcome.ok:
                detail = "Stored, but processing failed; it will be retried."
            elif outcome.lead is None:
                detail = "Stored; it will be attached when this visitor or email becomes a lead."
            else:
                detail = "Attached to the lead."
            body = _accepted_body(outcome, detail)
            if outcome.ok:
                body["status"] = "attached" if outcome.lead else "pending"
            return status.HTTP_202_ACCEPTED, body

        return _idempotent(request, "events", work)
