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

    class Meta(IntakeLeadSerializer.Meta):
        fields = IntakeLeadSerializer.Meta.fields + [
            "score", "fit_score", "intent_score", "grade", "tier", "is_hot", "hot_since", "score_reasons",
            "rule_set_version",
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


DESK_RELATED = ("score",)


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
