"""The checklist endpoints: a team's items, answering one on a lead, and the lead's ``qualification``."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, generics, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inbound.api import ERROR, LeadFilterSerializer
from inbound.models import Lead
from inbound.payloads import StrictSerializer
from sdr_desk.dispositions.api import DispositionLeadSerializer, LeadCollectionApi, LeadDetailApi
from sdr_desk.qualification.models import ANSWER_MAX, Answer, ChecklistItem
from sdr_desk.qualification.services import answer_record
from sdr_desk.routing.api import RepOnly, lead_work
from sdr_desk.routing.models import Rep, Team


class ChecklistItemOutSerializer(serializers.ModelSerializer):
    team = serializers.IntegerField(source="team_id")

    class Meta:
        model = ChecklistItem
        fields = ["id", "team", "key", "label", "help_text", "required", "position"]


@extend_schema_view(get=extend_schema(parameters=[OpenApiParameter(
    "team", int, description="a team's id; default: the signed-in rep's team (every team's for others)")]))
class ChecklistItemListApi(generics.ListAPIView):
    """The active checklist items, by team, in the order the lead page shows them."""

    authentication_classes = [SessionAuthentication]
    serializer_class = ChecklistItemOutSerializer
    pagination_class = None

    def get_queryset(self) -> Any:
        if not self.request.user.has_perm("qualification.view_checklistitem"):
            raise exceptions.PermissionDenied("You may not read the checklists.")
        items = ChecklistItem.objects.filter(is_active=True).order_by("team_id", "position", "id")
        team = self.request.query_params.get("team")
        if team is not None:
            if not team.isdigit() or not Team.objects.filter(pk=int(team)).exists():
                raise exceptions.ValidationError({"team": ["No such team."]})
            return items.filter(team_id=int(team))
        own = Rep.objects.filter(user=self.request.user).values_list("team_id", flat=True).first()
        return items.filter(team_id=own) if own else items


class AnswerInSerializer(StrictSerializer):
    item = serializers.CharField(max_length=50, help_text="the item's key (or id) on the lead's team's checklist")
    text = serializers.CharField(max_length=ANSWER_MAX, allow_blank=True, trim_whitespace=True,
                                 help_text="the answer; empty clears it")


class AnswerOutSerializer(serializers.Serializer):
    lead = serializers.IntegerField(source="lead_id")
    item = serializers.CharField(source="item.key")
    text = serializers.CharField()
    answered_by = serializers.CharField(source="answered_by.username", allow_null=True, default=None)
    answered_at = serializers.DateTimeField()


class LeadAnswerApi(RepOnly, APIView):
    @extend_schema(operation_id="leads_qualification_answer", request=AnswerInSerializer,
                   responses={200: AnswerOutSerializer, 400: ERROR, 403: ERROR, 404: ERROR})
    def put(self, request: Request, pk: int) -> Response:
        """Answer one checklist item of the lead (its owner, or their manager); the change lands in the timeline."""
        return lead_work(request, pk, into=AnswerInSerializer, out=AnswerOutSerializer,
                         work=lambda data: answer_record(pk, user=request.user, item=data["item"], text=data["text"]))


# --- the lead as the API shows it, with its qualification ----------------------------------------------


class ChecklistAnswerSerializer(serializers.Serializer):
    item = serializers.CharField()
    label = serializers.CharField()
    required = serializers.BooleanField()
    text = serializers.CharField()
    answered_by = serializers.CharField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)


class QualificationSerializer(serializers.Serializer):
    complete = serializers.BooleanField(help_text="every required item answered")
    missing = serializers.ListField(child=serializers.CharField(), help_text="keys of required items unanswered")
    answers = ChecklistAnswerSerializer(many=True)


class QualifiedLeadSerializer(DispositionLeadSerializer):
    """The lead with dispositions, plus ``qualification``: the team's checklist and the lead's answers."""

    qualification = serializers.SerializerMethodField()

    class Meta(DispositionLeadSerializer.Meta):
        fields = [*DispositionLeadSerializer.Meta.fields, "qualification"]
        read_only_fields = fields

    @extend_schema_field(QualificationSerializer(allow_null=True))
    def get_qualification(self, lead: Lead) -> dict[str, Any] | None:
        assignment = getattr(lead, "assignment", None)
        team = assignment.team if assignment else None
        if team is None:
            return None
        answers = {a.item_id: a for a in getattr(lead, "all_answers", [])}
        rows = []
        for item in getattr(team, "active_checklist", []):
            answer = answers.get(item.pk)
            rows.append({"item": item.key, "label": item.label, "required": item.required,
                         "text": answer.text if answer else "",
                         "answered_by": answer.answered_by.username if answer and answer.answered_by else None,
                         "answered_at": answer.answered_at if answer else None})
        missing = [row["item"] for row in rows if row["required"] and not row["text"]]
        return {"complete": not missing, "missing": missing, "answers": rows}


class WithQualification:
    output_serializer = QualifiedLeadSerializer

    def output_prefetch(self) -> tuple[Any, ...]:
        return (*super().output_prefetch(),  # type: ignore[misc]
                Prefetch("assignment__team__checklist_items", to_attr="active_checklist",
                         queryset=ChecklistItem.objects.filter(is_active=True).order_by("position", "id")),
                Prefetch("qualification_answers", to_attr="all_answers",
                         queryset=Answer.objects.select_related("answered_by")))


@extend_schema_view(get=extend_schema(operation_id="leads_list", parameters=[LeadFilterSerializer],
                                      responses={200: QualifiedLeadSerializer(many=True), 400: ERROR, 403: ERROR}))
class QualifiedLeadCollectionApi(WithQualification, LeadCollectionApi):
    pass


@extend_schema_view(get=extend_schema(operation_id="leads_retrieve",
                                      responses={200: QualifiedLeadSerializer, 403: ERROR, 404: ERROR}))
class QualifiedLeadDetailApi(WithQualification, LeadDetailApi):
    pass
