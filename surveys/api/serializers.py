"""Input and output serializers for surveys, invitations, answers and bulk sends."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import user_ref
from customers.models import Customer
from segments.models import Segment
from stages.models import Stage
from surveys.models import Invitation, Response, Survey, SurveyBatch
from surveys.scoring import ScoreSummary, SurveyKind, scale_of
from surveys.tokens import invitation_url


@extend_schema_field(
    {
        "type": "string",
        "pattern": f"^({'|'.join(SurveyKind.values)})$",
        "description": "nps (0-10), csat (1-5) or ces (1-7).",
    }
)
class SurveyKindField(serializers.ChoiceField):
    """Documented by a pattern, not an enum: the schema's enums are named after the field,
    and the interactions' `kind` (call, email, ...) already holds that name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=SurveyKind.choices, **kwargs)


class ScoreSerializer(serializers.Serializer):
    """A kind's headline number over the answers so far (docs/metrics.md, "Surveys")."""

    answers = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()
    mean = serializers.DecimalField(max_digits=4, decimal_places=1, allow_null=True)
    score = serializers.DecimalField(
        max_digits=5,
        decimal_places=1,
        allow_null=True,
        help_text="NPS: % promoters - % detractors (-100…100); CSAT: % of 4-5 answers "
        "(0…100); CES: the mean (1…7). Null without answers.",
    )


class SurveyOutputSerializer(serializers.ModelSerializer):
    """A survey with its scale, how many were sent and answered, and its score so far."""

    kind = SurveyKindField(read_only=True)
    low = serializers.SerializerMethodField()
    high = serializers.SerializerMethodField()
    sent_count = serializers.IntegerField(read_only=True)
    answered_count = serializers.IntegerField(read_only=True)
    summary = serializers.SerializerMethodField()

    class Meta:
        model = Survey
        fields = [
            "id",
            "kind",
            "name",
            "question",
            "low",
            "high",
            "low_label",
            "high_label",
            "comment_label",
            "is_active",
            "expiry_days",
            "sent_count",
            "answered_count",
            "summary",
        ]

    def get_low(self, survey: Survey) -> int:
        return scale_of(survey.kind).low

    def get_high(self, survey: Survey) -> int:
        return scale_of(survey.kind).high

    @extend_schema_field(ScoreSerializer)
    def get_summary(self, survey: Survey) -> dict[str, Any]:
        summary: ScoreSummary = self.context["summaries"][survey.pk]
        return dict(ScoreSerializer(summary).data)


class InvitationCreateInputSerializer(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), pk_field=serializers.IntegerField()
    )
    idempotency_key = serializers.CharField(
        required=False,
        max_length=150,
        help_text="Your reason for this invitation (e.g. your ticket id). Sending again "
        "with the same key returns the first invitation (200) instead of inviting twice.",
    )


class InvitationOutputSerializer(serializers.ModelSerializer):
    """An invitation; `url` is the customer's personal link (anyone holding it can answer)."""

    url = serializers.SerializerMethodField()
    message_state = serializers.CharField(
        source="message.state",
        allow_null=True,
        default=None,
        help_text="The email's delivery state in the outbox (queued, sent, failed…).",
    )

    sent_by = user_ref()

    class Meta:
        model = Invitation
        fields = [
            "id",
            "survey",
            "customer",
            "state",
            "source",
            "batch",
            "sent_by",
            "idempotency_key",
            "message",
            "message_state",
            "reason",
            "created_at",
            "sent_at",
            "expires_at",
            "answered_at",
            "url",
        ]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, invitation: Invitation) -> str:
        return invitation_url(invitation.pk)


class ResponseOutputSerializer(serializers.ModelSerializer):
    kind = SurveyKindField(read_only=True)
    stage: serializers.SlugRelatedField[Stage] = serializers.SlugRelatedField(
        slug_field="slug",
        read_only=True,
        help_text="Where the customer stood when answering, before any move it caused.",
    )

    class Meta:
        model = Response
        fields = [
            "id",
            "invitation",
            "survey",
            "customer",
            "kind",
            "score",
            "comment",
            "category",
            "effect",
            "weight",
            "stage",
            "answered_at",
        ]


class BatchCreateInputSerializer(serializers.Serializer):
    filters = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="The customer list's filters (stage, phase, owner, tag, created_after, "
        "created_before, q), as for GET /customers/. An unknown filter is a 400.",
    )
    customer_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=10_000,
        help_text="Instead of filters: these customers.",
    )
    segment = serializers.PrimaryKeyRelatedField(
        queryset=Segment.objects.all(),
        required=False,
        help_text="Instead of filters or ids: the customers in this saved segment (its id).",
        error_messages={
            "does_not_exist": "There is no segment {pk_value}.",
            "incorrect_type": "Give a segment's id.",
        },
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "segment" in attrs and ("filters" in attrs or "customer_ids" in attrs):
            raise serializers.ValidationError(
                {"segment": ["Send to a segment, or to filters or customer_ids, not both."]}
            )
        if "filters" in attrs and "customer_ids" in attrs:
            raise serializers.ValidationError(
                {"non_field_errors": ["Give either filters or customer_ids, not both."]}
            )
        if not attrs.keys() & {"filters", "customer_ids", "segment"}:
            raise serializers.ValidationError(
                {
                    "non_field_errors": [
                        "Choose whom to send to: filters ({} for every customer), "
                        "customer_ids or segment."
                    ]
                }
            )
        return attrs


class BatchOutputSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True, help_text="0-100; 100 once done.")
    total = serializers.IntegerField(
        read_only=True,
        help_text="The recipients: the customers the audience held when the send was asked "
        "for, fixed for the whole send.",
    )
    audience_fixed_at = serializers.DateTimeField(
        source="audience_snapshot.frozen_at",
        read_only=True,
        allow_null=True,
        help_text="When the recipients were fixed (when the send was asked for). Customers "
        "who join the segment or match the filters later are not invited.",
    )

    created_by = user_ref()

    class Meta:
        model = SurveyBatch
        fields = [
            "id",
            "survey",
            "filters",
            "customer_ids",
            "segment",
            "segment_name",
            "state",
            "total",
            "audience_fixed_at",
            "processed",
            "sent",
            "skipped",
            "failed",
            "percent",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
