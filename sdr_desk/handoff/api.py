"""The handoff endpoints (signed-in users, the pages' rules) and the lead's ``handoff`` field."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, generics, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbound.api import ERROR, LeadFilterSerializer
from inbound.models import Lead
from inbound.payloads import StrictSerializer
from sdr_desk.handoff.models import Handoff, HandoffStatus, MeetingStatus, RejectionReason
from sdr_desk.handoff.selectors import handoffs_visible
from sdr_desk.handoff.services import (
    MEETING_OUTCOMES,
    NOTE_MAX,
    REASON_MAX,
    handoff_cancel,
    handoff_reassign,
    handoff_verdict,
    lead_handoff,
    meeting_outcome,
)
from sdr_desk.qualification.api import QualifiedLeadCollectionApi, QualifiedLeadDetailApi, QualifiedLeadSerializer
from sdr_desk.routing.api import RepOnly, _ownership_error, lead_work
from sdr_desk.routing.ownership import OwnershipError


class HandoffOutSerializer(serializers.ModelSerializer):
    lead = serializers.IntegerField(source="lead_id")
    sdr = serializers.CharField(source="sdr.username")
    ae = serializers.CharField(source="ae.username")
    ae_team = serializers.CharField(source="ae_team.name", allow_null=True, default=None)
    accepted_at = serializers.DateTimeField(allow_null=True)
    verdict = serializers.SerializerMethodField()

    class Meta:
        model = Handoff
        fields = ["id", "lead", "sdr", "ae", "ae_team", "status", "note", "meeting_at", "meeting_status",
                  "handed_at", "due_at", "verdict", "verdict_at", "verdict_reason", "accepted_at", "escalated",
                  "escalated_at", "reassigned_at", "cancelled_at", "cancel_reason", "routed_by", "rule_set_version",
                  "ics_uid", "ics_sequence"]
        read_only_fields = fields

    def get_verdict(self, handoff: Handoff) -> str | None:
        return {HandoffStatus.ACCEPTED: "accepted", HandoffStatus.REJECTED: "rejected"}.get(handoff.status)


class HandoffInSerializer(StrictSerializer):
    ae = serializers.IntegerField(required=False, allow_null=True, default=None,
                                  help_text="the user id of an AE; null or absent: routed by territory and round robin")
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")
    meeting_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                           help_text="ISO 8601 with a time zone; in the future, within a year")


class VerdictInSerializer(StrictSerializer):
    verdict = serializers.ChoiceField(choices=["accept", "reject"])
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                   help_text="required to reject: a name from GET /api/v1/rejection-reasons/")


class MeetingInSerializer(StrictSerializer):
    outcome = serializers.ChoiceField(choices=list(MEETING_OUTCOMES))
    new_time = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                         help_text="rescheduled only: ISO 8601 with a time zone")


class ReassignInSerializer(StrictSerializer):
    ae = serializers.IntegerField(help_text="the user id of an AE of an AE team, not the one who has it")
    why = serializers.CharField(max_length=REASON_MAX, required=False, allow_blank=True, default="")


class CancelInSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=REASON_MAX, allow_blank=True,
                                   help_text="why the handoff is withdrawn (required; the AE and the timeline see it)")


class RejectionReasonOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = RejectionReason
        fields = ["id", "name", "position"]


class LeadHandoffApi(RepOnly, APIView):
    @extend_schema(operation_id="leads_handoff", request=HandoffInSerializer,
                   responses={201: HandoffOutSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        """Hand the lead to an AE (its owner or their manager): records "Qualified - handed to AE"."""
        if not request.user.has_perm("handoff.add_handoff"):
            raise exceptions.PermissionDenied("You may not hand leads off.")
        return lead_work(request, pk, into=HandoffInSerializer, out=HandoffOutSerializer,
                         status_code=status.HTTP_201_CREATED,
                         work=lambda data: lead_handoff(pk, sdr=request.user, **data))


def _handoff_work(request: Request, pk: int, *, into: type[serializers.Serializer], work: Any) -> Response:
    get_object_or_404(Handoff, pk=pk)
    incoming = into(data=request.data)
    incoming.is_valid(raise_exception=True)
    try:
        handoff = work(incoming.validated_data)
    except OwnershipError as error:
        return _ownership_error(error)
    return Response(HandoffOutSerializer(handoff).data)


class HandoffVerdictApi(RepOnly, APIView):
    @extend_schema(operation_id="handoffs_verdict", request=VerdictInSerializer,
                   responses={200: HandoffOutSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        """The AE it was handed to accepts or rejects it (a reason from the list); anyone else: 403."""
        if not request.user.has_perm("handoff.change_handoff"):
            raise exceptions.PermissionDenied("Only AEs give verdicts on handoffs.")
        return _handoff_work(request, pk, into=VerdictInSerializer, work=lambda data: handoff_verdict(
            pk, ae=request.user, accept=data["verdict"] == "accept", reason=data["reason"]))


class HandoffMeetingApi(RepOnly, APIView):
    @extend_schema(operation_id="handoffs_meeting", request=MeetingInSerializer,
                   responses={200: HandoffOutSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        """Record the meeting: held, no_show, rescheduled (with new_time) or cancelled; the AE, SDR or AE manager."""
        if not request.user.has_perm("handoff.view_handoff"):
            raise exceptions.PermissionDenied("You may not record meetings.")
        return _handoff_work(request, pk, into=MeetingInSerializer, work=lambda data: meeting_outcome(
            pk, user=request.user, outcome=data["outcome"], new_time=data["new_time"]))


class HandoffReassignApi(RepOnly, APIView):
    @extend_schema(operation_id="handoffs_reassign", request=ReassignInSerializer,
                   responses={200: HandoffOutSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        """The AE team's manager moves a pending handoff to another AE; its acceptance clock restarts."""
        if not request.user.has_perm("handoff.view_handoff"):
            raise exceptions.PermissionDenied("You may not reassign handoffs.")
        return _handoff_work(request, pk, into=ReassignInSerializer, work=lambda data: handoff_reassign(
            pk, user=request.user, ae=data["ae"], why=data["why"]))


class HandoffCancelApi(RepOnly, APIView):
    @extend_schema(operation_id="handoffs_cancel", request=CancelInSerializer,
                   responses={200: HandoffOutSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        """The SDR who handed it off (or their manager) withdraws a pending handoff, with a reason.

        The meeting, if any, is cancelled; the lead is back on the SDR's board, open, with the status Qualified.
        """
        if not request.user.has_perm("handoff.view_handoff"):
            raise exceptions.PermissionDenied("You may not cancel handoffs.")
        return _handoff_work(request, pk, into=CancelInSerializer, work=lambda data: handoff_cancel(
            pk, user=request.user, reason=data["reason"]))


class HandoffCursor(CursorPagination):
    ordering = ("-handed_at", "-id")


class HandoffListApi(RepOnly, generics.ListAPIView):
    """The signed-in AE's handoffs; a manager's teams' too. Newest first, a cursor page at a time."""

    serializer_class = HandoffOutSerializer
    pagination_class = HandoffCursor

    def get_queryset(self) -> Any:
        if not self.request.user.has_perm("handoff.view_handoff"):
            raise exceptions.PermissionDenied("You may not read handoffs.")
        return handoffs_visible(self.request.user).select_related("sdr", "ae", "ae_team").order_by("-handed_at", "-id")


class RejectionReasonListApi(RepOnly, generics.ListAPIView):
    """The active rejection reasons, in the order the inbox shows them."""

    serializer_class = RejectionReasonOutSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        if not self.request.user.has_perm("handoff.view_rejectionreason"):
            raise exceptions.PermissionDenied("You may not read the rejection reasons.")
        return RejectionReason.objects.filter(is_active=True)


# --- the lead as the API shows it, with its handoff ------------------------------------------------------


class LeadHandoffSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ae = serializers.CharField(source="ae.username")
    status = serializers.ChoiceField(choices=HandoffStatus.choices)
    meeting_at = serializers.DateTimeField(allow_null=True)
    meeting_status = serializers.ChoiceField(choices=MeetingStatus.choices)
    verdict = serializers.CharField(allow_null=True)
    verdict_reason = serializers.CharField()
    accepted_at = serializers.DateTimeField(allow_null=True)


class HandoffLeadSerializer(QualifiedLeadSerializer):
    """The lead with its qualification, plus ``handoff``: its open handoff, else its latest one (null: none)."""

    handoff = serializers.SerializerMethodField()

    class Meta(QualifiedLeadSerializer.Meta):
        fields = [*QualifiedLeadSerializer.Meta.fields, "handoff"]
        read_only_fields = fields

    @extend_schema_field(LeadHandoffSerializer(allow_null=True))
    def get_handoff(self, lead: Lead) -> dict[str, Any] | None:
        handoffs = getattr(lead, "all_handoffs", [])
        if not handoffs:
            return None
        current = next((h for h in handoffs if h.is_open), handoffs[0])
        current.verdict = {HandoffStatus.ACCEPTED: "accepted", HandoffStatus.REJECTED: "rejected"}.get(current.status)
        return LeadHandoffSerializer(current).data


class WithHandoff:
    output_serializer = HandoffLeadSerializer

    def output_prefetch(self) -> tuple[Any, ...]:
        return (*super().output_prefetch(),  # type: ignore[misc]
                Prefetch("handoffs", to_attr="all_handoffs",
                         queryset=Handoff.objects.select_related("ae").order_by("-handed_at", "-id")))


@extend_schema_view(get=extend_schema(operation_id="leads_list", parameters=[LeadFilterSerializer],
                                      responses={200: HandoffLeadSerializer(many=True), 400: ERROR, 403: ERROR}))
class HandoffLeadCollectionApi(WithHandoff, QualifiedLeadCollectionApi):
    pass


@extend_schema_view(get=extend_schema(operation_id="leads_retrieve",
                                      responses={200: HandoffLeadSerializer, 403: ERROR, 404: ERROR}))
class HandoffLeadDetailApi(WithHandoff, QualifiedLeadDetailApi):
    pass
