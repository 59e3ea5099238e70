"""The disposition endpoints: the codes to choose from, and recording one on a lead."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbound.api import ERROR, LeadFilterSerializer
from inbound.models import Lead
from inbound.payloads import StrictSerializer
from sdr_desk.dispositions.merge import DUPLICATE_CODE, lead_merge
from sdr_desk.dispositions.models import Disposition, DispositionCode
from sdr_desk.dispositions.services import lead_disposition
from sdr_desk.routing.api import DeskLeadCollectionApi, DeskLeadDetailApi, DeskLeadSerializer, RepOnly, lead_work


class DispositionCodeOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = DispositionCode
        fields = ["slug", "name", "outcome", "reason_required", "reasons", "needs_reengage_date", "requires_answers"]


class DispositionInSerializer(StrictSerializer):
    code = serializers.SlugField(max_length=50, help_text="a disposition code's slug (GET /api/v1/disposition-codes/)")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    reengage_on = serializers.DateField(required=False, allow_null=True, default=None,
                                        help_text="nurture codes: the date the lead comes back (YYYY-MM-DD)")
    into = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None,
                                    help_text="the Duplicate code only, and required with it: the id of the lead "
                                              "this one duplicates (the lead is merged into it)")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        # A Duplicate without its survivor would close the lead and leave its email and history orphaned:
        # the merge is what the code means (the lead page asks for the survivor the same way).
        if data["code"] == DUPLICATE_CODE and data.get("into") is None:
            raise serializers.ValidationError({"into": [
                "Duplicate merges the lead: give the id of the lead it duplicates (or POST .../merge/)."]})
        if data["code"] != DUPLICATE_CODE and data.get("into") is not None:
            raise serializers.ValidationError({"into": ["Only the Duplicate code merges into another lead."]})
        return data


def _disposition_or_merge(pk: int, *, user: Any, into: int | None, **data: Any) -> Disposition:
    """The Duplicate code merges (the survivor named by ``into``); every other code is a plain disposition."""
    if into is not None:
        return lead_merge(pk, into_id=into, user=user, reason=data["reason"], note=data["note"]).disposition
    return lead_disposition(pk, user=user, **data)


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
        """Record how the lead ended (the owner or their manager): it leaves every board and its status follows.

        ``duplicate`` needs ``into``, the lead it duplicates, and merges into it (as ``.../merge/`` does).
        """
        return lead_work(request, pk, into=DispositionInSerializer, out=DispositionOutSerializer,
                         status_code=status.HTTP_201_CREATED,
                         work=lambda data: _disposition_or_merge(pk, user=request.user, **data))


class MergeInSerializer(StrictSerializer):
    into = serializers.IntegerField(min_value=1, help_text="the id of the lead that survives")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                   help_text="only when the Duplicate code keeps a list of reasons")
    note = serializers.CharField(max_length=1500, required=False, allow_blank=True, default="")


class MergeOutSerializer(serializers.Serializer):
    lead = serializers.IntegerField(source="duplicate_id")
    merged_into = serializers.IntegerField(source="survivor_id")
    moved = serializers.DictField(child=serializers.IntegerField(), help_text="rows moved to the survivor, by table")
    disposition = DispositionOutSerializer()


class LeadMergeApi(RepOnly, APIView):
    @extend_schema(operation_id="leads_merge", request=MergeInSerializer,
                   responses={200: MergeOutSerializer, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        """Merge this duplicate into the lead ``into`` (the duplicate's owner or their manager).

        Its timeline, submissions, activities, touches and answers move to the survivor, it closes with
        the Duplicate disposition, and its email resolves to the survivor on later intake.
        """
        return lead_work(request, pk, into=MergeInSerializer, out=MergeOutSerializer,
                         work=lambda data: lead_merge(pk, into_id=data["into"], user=request.user,
                                                      reason=data["reason"], note=data["note"]))


# --- the lead as the API shows it, with its current disposition -------------------------------------------


class CurrentDispositionSerializer(serializers.Serializer):
    code = serializers.CharField(source="code.slug")
    name = serializers.CharField(source="code.name")
    outcome = serializers.CharField(source="code.outcome")
    reason = serializers.CharField()
    reengage_on = serializers.DateField(allow_null=True)
    recorded_at = serializers.DateTimeField()


class DispositionLeadSerializer(DeskLeadSerializer):
    """Routing's lead plus ``disposition`` (null while the lead is open), ``disposition_reason`` and
    ``merged_into`` (the survivor's id once the lead is merged as a duplicate, else null)."""

    disposition = serializers.SerializerMethodField()
    disposition_reason = serializers.SerializerMethodField()
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True, read_only=True,
                                           help_text="the id of the lead this one was merged into; null if it is not")

    class Meta(DeskLeadSerializer.Meta):
        fields = [*DeskLeadSerializer.Meta.fields, "disposition", "disposition_reason", "merged_into"]
        read_only_fields = fields

    @staticmethod
    def _current(lead: Lead) -> Disposition | None:
        current = getattr(lead, "current_dispositions", None)
        return current[0] if current else None

    @extend_schema_field(CurrentDispositionSerializer(allow_null=True))
    def get_disposition(self, lead: Lead) -> dict[str, Any] | None:
        current = self._current(lead)
        return CurrentDispositionSerializer(current).data if current else None

    def get_disposition_reason(self, lead: Lead) -> str | None:
        current = self._current(lead)
        return current.reason if current else None


class WithDisposition:
    output_serializer = DispositionLeadSerializer

    def output_prefetch(self) -> tuple[Any, ...]:
        return (Prefetch("dispositions", queryset=Disposition.objects.filter(is_current=True).select_related("code"),
                         to_attr="current_dispositions"),)


@extend_schema_view(get=extend_schema(operation_id="leads_list", parameters=[LeadFilterSerializer],
                                      responses={200: DispositionLeadSerializer(many=True), 400: ERROR, 403: ERROR}))
class LeadCollectionApi(WithDisposition, DeskLeadCollectionApi):
    pass


@extend_schema_view(get=extend_schema(operation_id="leads_retrieve",
                                      responses={200: DispositionLeadSerializer, 403: ERROR, 404: ERROR}))
class LeadDetailApi(WithDisposition, DeskLeadDetailApi):
    pass
