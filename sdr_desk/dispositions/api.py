"""The disposition endpoints: the codes to choose from, and recording one on a lead."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbound.api import ERROR
from inbound.payloads import StrictSerializer
from sdr_desk.dispositions.models import Disposition, DispositionCode
from sdr_desk.dispositions.services import lead_disposition
from sdr_desk.routing.api import RepOnly, lead_work


class DispositionCodeOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = DispositionCode
        fields = ["slug", "name", "outcome", "reason_required", "reasons", "needs_reengage_date"]


class DispositionInSerializer(StrictSerializer):
    code = serializers.SlugField(max_length=50, help_text="a disposition code's slug (GET /api/v1/disposition-codes/)")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    reengage_on = serializers.DateField(required=False, allow_null=True, default=None,
                                        help_text="nurture codes: the date the lead comes back (YYYY-MM-DD)")


class DispositionOutSerializer(serializers.ModelSerializer):
    code = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    outcome = serializers.CharField(source="code.outcome", read_only=True)
    rep = serializers.SlugRelatedField(slug_field="username", read_only=True)
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Disposition
        fields = ["id", "lead", "code", "outcome", "reason", "note", "reengage_on", "rep", "recorded_by",
                  "recorded_at"]


class DispositionCodeListApi(generics.ListAPIView):
    """The active codes, in the order the desk shows them."""

    authentication_classes = [SessionAuthentication]
    serializer_class = DispositionCodeOutSerializer
    pagination_class = None
    queryset = DispositionCode.objects.filter(is_active=True)


class LeadDispositionApi(RepOnly, APIView):
    @extend_schema(operation_id="leads_disposition", request=DispositionInSerializer,
                   responses={201: DispositionOutSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        """Record how the lead ended (the owner or their manager): it leaves every board and its status follows."""
        return lead_work(request, pk, into=DispositionInSerializer, out=DispositionOutSerializer,
                         status_code=status.HTTP_201_CREATED,
                         work=lambda data: lead_disposition(pk, user=request.user, **data))
