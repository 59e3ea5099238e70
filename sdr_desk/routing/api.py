"""The lead as the desk's API shows it: intake's fields plus what scoring (and later routing) add.

Intake's views are reused with a richer serializer, so intake never imports the desk.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers

from inbound.api import ERROR, LeadCollectionApi, LeadDetailApi, LeadFilterSerializer
from inbound.api import LeadOutSerializer as IntakeLeadSerializer
from inbound.models import Lead
from scoring.models import Tier


class ScoreReasonSerializer(serializers.Serializer):
    rule = serializers.CharField()
    points = serializers.IntegerField()
    because = serializers.CharField()


class DeskLeadSerializer(IntakeLeadSerializer):
    # A lead not scored yet (scoring runs just after intake commits) shows nulls.
    score = serializers.IntegerField(source="score.total", read_only=True, allow_null=True)
    fit_score = serializers.IntegerField(source="score.fit", read_only=True, allow_null=True)
    intent_score = serializers.IntegerField(source="score.intent", read_only=True, allow_null=True)
    grade = serializers.CharField(source="score.grade", read_only=True, allow_null=True)
    tier = serializers.SerializerMethodField()
    is_hot = serializers.SerializerMethodField()
    hot_since = serializers.DateTimeField(source="score.hot_since", read_only=True, allow_null=True)
    score_reasons = serializers.SerializerMethodField()
    rule_set_version = serializers.IntegerField(source="score.version", read_only=True, allow_null=True)
    owner = serializers.CharField(source="assignment.owner.username", read_only=True, allow_null=True)
    team = serializers.CharField(source="assignment.team.name", read_only=True, allow_null=True)
    desk_state = serializers.CharField(source="assignment.state", read_only=True, allow_null=True)
    routing_trace = serializers.JSONField(source="assignment.routing_trace", read_only=True, allow_null=True)
    sla_due_at = serializers.DateTimeField(source="assignment.sla_due_at", read_only=True, allow_null=True)
    first_touch_at = serializers.DateTimeField(source="assignment.first_touch_at", read_only=True, allow_null=True)
    response_seconds = serializers.FloatField(source="assignment.response_seconds", read_only=True, allow_null=True)
    response_business_seconds = serializers.FloatField(source="assignment.response_business_seconds",
                                                       read_only=True, allow_null=True)
    next_step_at = serializers.DateTimeField(source="assignment.next_step_at", read_only=True, allow_null=True)
    next_step = serializers.CharField(source="assignment.next_step", read_only=True, allow_null=True)

    class Meta(IntakeLeadSerializer.Meta):
        fields = IntakeLeadSerializer.Meta.fields + [
            "score", "fit_score", "intent_score", "grade", "tier", "is_hot", "hot_since", "score_reasons",
            "rule_set_version", "owner", "team", "desk_state", "routing_trace", "sla_due_at", "first_touch_at",
            "response_seconds", "response_business_seconds", "next_step_at", "next_step",
        ]
        read_only_fields = fields

    def get_tier(self, lead: Lead) -> str:
        score = getattr(lead, "score", None) if hasattr(lead, "score") else None
        return score.tier if score else Tier.NONE

    def get_is_hot(self, lead: Lead) -> bool:
        return bool(hasattr(lead, "score") and lead.score.is_hot)

    @extend_schema_field(ScoreReasonSerializer(many=True))
    def get_score_reasons(self, lead: Lead) -> list[dict[str, object]]:
        if not hasattr(lead, "score"):
            return []
        return [{"rule": r["rule"], "points": r["points"], "because": r["because"]} for r in lead.score.reasons]


DESK_RELATED = ("score", "assignment__owner", "assignment__team")


@extend_schema_view(get=extend_schema(operation_id="leads_list", parameters=[LeadFilterSerializer],
                                      responses={200: DeskLeadSerializer(many=True), 400: ERROR, 403: ERROR}))
class DeskLeadCollectionApi(LeadCollectionApi):
    output_serializer = DeskLeadSerializer
    output_related = DESK_RELATED


@extend_schema_view(get=extend_schema(operation_id="leads_retrieve",
                                      responses={200: DeskLeadSerializer, 403: ERROR, 404: ERROR}))
class DeskLeadDetailApi(LeadDetailApi):
    output_serializer = DeskLeadSerializer
    output_related = DESK_RELATED


# --- working a lead: claim and touches (signed-in reps; session and CSRF, as the browser sends them) ---------

from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

from django.shortcuts import get_object_or_404  # noqa: E402
from rest_framework import status  # noqa: E402
from rest_framework.authentication import SessionAuthentication  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from inbound.payloads import StrictSerializer  # noqa: E402
from sdr_desk.routing.models import CallOutcome, TouchChannel  # noqa: E402
from sdr_desk.routing.ownership import (  # noqa: E402
    OwnershipError,
    lead_assign,
    lead_claim,
)
from sdr_desk.routing.touches import lead_next_step_set, touch_log  # noqa: E402


class ClaimOutSerializer(serializers.Serializer):
    lead = serializers.IntegerField()
    owner = serializers.CharField()
    state = serializers.CharField()


class TouchInSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=TouchChannel.choices)
    outcome = serializers.ChoiceField(choices=CallOutcome.choices, required=False, allow_blank=True,
                                      help_text="required for calls; not allowed otherwise")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    next_step_at = serializers.DateTimeField(required=False, allow_null=True,
                                             help_text="plan the next touch: ISO 8601 with a time zone")
    next_step = serializers.CharField(required=False, allow_blank=True, max_length=200)


class NextStepInSerializer(StrictSerializer):
    at = serializers.DateTimeField(allow_null=True, help_text="ISO 8601 with a time zone; null clears the step")
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class NextStepOutSerializer(serializers.Serializer):
    lead = serializers.IntegerField(source="lead_id")
    next_step_at = serializers.DateTimeField(allow_null=True)
    next_step = serializers.CharField()


class TouchOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    lead = serializers.IntegerField(source="lead_id")
    channel = serializers.CharField()
    outcome = serializers.CharField()
    notes = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    is_first = serializers.BooleanField()


def _ownership_error(error: OwnershipError) -> Response:
    code = getattr(error, "code", None) or {403: "forbidden", 409: "already_claimed"}.get(error.status, "invalid")
    body: dict = {"error": code, "detail": error.message}
    if getattr(error, "errors", None):  # field-level refusals (a touch, a disposition)
        body["fields"] = error.errors
    return Response(body, status=error.status)


class RepOnly:
    """Working leads is for signed-in people, never for API keys."""

    authentication_classes = [SessionAuthentication]


def lead_work(request: Request, pk: int, *, work: Callable[[dict[str, Any]], Any],
               into: type[serializers.Serializer] | None = None, out: type[serializers.Serializer] | None = None,
               status_code: int = status.HTTP_200_OK) -> Response:
    """Validate the body (``into``), run the service on the lead, serialize what it returns (``out``).

    A service's refusal is its own status: 403 not yours, 409 taken, 400 with field errors.
    """
    get_object_or_404(Lead, pk=pk)
    data: dict[str, Any] = {}
    if into is not None:
        incoming = into(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
    try:
        result = work(data)
    except OwnershipError as error:
        return _ownership_error(error)
    return Response(out(result).data if out else result, status=status_code)


class LeadClaimApi(RepOnly, APIView):
    @extend_schema(operation_id="leads_claim", request=None,
                   responses={200: ClaimOutSerializer, 403: ERROR, 404: ERROR, 409: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        def claim(_: dict[str, Any]) -> dict[str, Any]:
            assignment = lead_claim(pk, user=request.user)
            return {"lead": pk, "owner": request.user.get_username(), "state": assignment.state}

        return lead_work(request, pk, work=claim)


class LeadTouchApi(RepOnly, APIView):
    @extend_schema(operation_id="leads_touches_create", request=TouchInSerializer,
                   responses={201: TouchOutSerializer, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        return lead_work(request, pk, into=TouchInSerializer, out=TouchOutSerializer,
                          status_code=status.HTTP_201_CREATED,
                          work=lambda data: touch_log(pk, rep=request.user, **data))


class LeadNextStepApi(RepOnly, APIView):
    @extend_schema(operation_id="leads_next_step", request=NextStepInSerializer,
                   responses={200: NextStepOutSerializer, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        """Plan the owner's next step on the lead (it is due on their board then), or clear it."""
        return lead_work(request, pk, into=NextStepInSerializer, out=NextStepOutSerializer,
                          work=lambda data: lead_next_step_set(pk, rep=request.user, at=data["at"],
                                                               note=data.get("note", "")))


class AssignInSerializer(StrictSerializer):
    rep = serializers.IntegerField(help_text="the user id of an SDR of a team you manage")
    reason = serializers.CharField(max_length=500, help_text="why: the rep and the lead's timeline read it")


class AssignOutSerializer(serializers.Serializer):
    lead = serializers.IntegerField(source="lead_id")
    owner = serializers.CharField(source="owner.username")
    team = serializers.CharField(source="team.name")
    state = serializers.CharField()


class LeadAssignApi(RepOnly, APIView):
    @extend_schema(operation_id="leads_assign", request=AssignInSerializer,
                   responses={200: AssignOutSerializer, 400: ERROR, 403: ERROR, 404: ERROR})
    def post(self, request: Request, pk: int) -> Response:
        """A manager assigns the lead to a rep of their team, or moves it from one rep to another, saying why."""
        return lead_work(request, pk, into=AssignInSerializer, out=AssignOutSerializer,
                          work=lambda data: lead_assign(pk, to=data["rep"], actor=request.user,
                                                        reason=data["reason"]))
