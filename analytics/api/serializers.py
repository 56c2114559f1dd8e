"""Input and output shapes of the analytics API."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework import serializers

from analytics.periods import MAX_DAILY_BUCKETS, date_error, default_period, period_error
from analytics.selectors import GRANULARITIES, buckets
from segments.models import Segment
from surveys.models import SurveyKind


class PeriodInputSerializer(serializers.Serializer):
    """`start` and `end` (ISO dates, both included; default the last 30 days to today)."""

    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    def validate_start(self, value: date) -> date:
        error = date_error(value)
        if error:
            raise serializers.ValidationError(error)
        return value

    def validate_end(self, value: date) -> date:
        error = date_error(value)
        if error:
            raise serializers.ValidationError(error)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = default_period(
            attrs.get("start"), attrs.get("end"), today=timezone.now().date()
        )
        error = period_error(start, end)
        if error:
            raise serializers.ValidationError({"start": [error]})
        attrs["start"], attrs["end"] = start, end
        return attrs


class FilteredInputSerializer(PeriodInputSerializer):
    """A period, and optionally a segment's or an owner's customers only."""

    segment = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all(), required=False)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False
    )


class SeriesInputSerializer(FilteredInputSerializer):
    """A filtered period cut into `granularity` buckets (day, week or month; default day)."""

    granularity = serializers.ChoiceField(choices=GRANULARITIES, default="day")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        count = len(buckets(start=attrs["start"], end=attrs["end"], granularity="day"))
        if attrs["granularity"] == "day" and count > MAX_DAILY_BUCKETS:
            raise serializers.ValidationError(
                {"granularity": [f"More than {MAX_DAILY_BUCKETS} days: ask for weeks or months."]}
            )
        return attrs


class SurveyTrendInputSerializer(SeriesInputSerializer):
    kind = serializers.ChoiceField(choices=SurveyKind.choices, required=False)


class LifetimeValueInputSerializer(serializers.Serializer):
    segment = serializers.PrimaryKeyRelatedField(queryset=Segment.objects.all(), required=False)


# --- output rows -------------------------------------------------------------------------------


class StageCountSerializer(serializers.Serializer):
    bucket = serializers.DateField()
    stage = serializers.CharField()
    phase = serializers.CharField()
    customers = serializers.IntegerField()
    entries = serializers.IntegerField()
    exits = serializers.IntegerField()


class PhaseCountSerializer(serializers.Serializer):
    bucket = serializers.DateField()
    phase = serializers.CharField()
    customers = serializers.IntegerField()
    entries = serializers.IntegerField()
    exits = serializers.IntegerField()


class TransitionCellSerializer(serializers.Serializer):
    from_stage = serializers.CharField(allow_null=True)
    to_stage = serializers.CharField()
    direction = serializers.CharField()
    transitions = serializers.IntegerField()


class PhaseConversionSerializer(serializers.Serializer):
    phase = serializers.CharField()
    to = serializers.CharField()
    at_start = serializers.IntegerField()
    entered = serializers.IntegerField()
    converted = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class StageVelocitySerializer(serializers.Serializer):
    stage = serializers.CharField()
    phase = serializers.CharField()
    stays = serializers.IntegerField()
    median_seconds = serializers.FloatField(allow_null=True)
    p90_seconds = serializers.FloatField(allow_null=True)
    mean_seconds = serializers.FloatField(allow_null=True)


class ForceFrictionSerializer(serializers.Serializer):
    stage = serializers.CharField(allow_null=True)
    phase = serializers.CharField(allow_null=True)
    team = serializers.CharField()
    interactions = serializers.IntegerField()
    interaction_force = serializers.IntegerField()
    interaction_friction = serializers.IntegerField()
    survey_force = serializers.IntegerField()
    survey_friction = serializers.IntegerField()
    backward_moves = serializers.IntegerField()
    unsubscribes = serializers.IntegerField()
    overdue_tasks = serializers.IntegerField()
    force = serializers.IntegerField()
    friction = serializers.IntegerField()
    net = serializers.IntegerField()


class MomentumPointSerializer(serializers.Serializer):
    bucket = serializers.DateField()
    force = serializers.IntegerField()
    friction = serializers.IntegerField()
    momentum = serializers.IntegerField()


class SurveyTrendPointSerializer(serializers.Serializer):
    bucket = serializers.DateField()
    kind = serializers.CharField()
    answers = serializers.IntegerField()
    promoters = serializers.IntegerField()
    passives = serializers.IntegerField()
    detractors = serializers.IntegerField()
    score = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    mean = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)


class LoopCompletionSerializer(serializers.Serializer):
    delight_customers = serializers.IntegerField()
    referred = serializers.IntegerField()
    bought_again = serializers.IntegerField()
    closed_loop = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class SegmentValueSerializer(serializers.Serializer):
    segment_id = serializers.IntegerField()
    segment = serializers.CharField()
    currency = serializers.CharField()
    customers = serializers.IntegerField()
    buyers = serializers.IntegerField()
    purchases = serializers.IntegerField()
    lifetime_value = serializers.DecimalField(max_digits=16, decimal_places=2)
    average_per_buyer = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    average_per_customer = serializers.DecimalField(
        max_digits=16, decimal_places=2, allow_null=True
    )


class CostComparisonSerializer(serializers.Serializer):
    currency = serializers.CharField()
    acquisition_cost = serializers.DecimalField(max_digits=16, decimal_places=2)
    new_customers = serializers.IntegerField()
    cost_per_new_customer = serializers.DecimalField(
        max_digits=16, decimal_places=2, allow_null=True
    )
    retention_cost = serializers.DecimalField(max_digits=16, decimal_places=2)
    retained_customers = serializers.IntegerField()
    cost_per_retained_customer = serializers.DecimalField(
        max_digits=16, decimal_places=2, allow_null=True
    )


class CampaignPerformanceSerializer(serializers.Serializer):
    campaign_id = serializers.IntegerField()
    name = serializers.CharField()
    channel = serializers.CharField()
    state = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    cost = serializers.DecimalField(max_digits=16, decimal_places=2)
    currency = serializers.CharField()
    sent = serializers.IntegerField(allow_null=True)
    open_rate = serializers.FloatField(allow_null=True)
    click_rate = serializers.FloatField(allow_null=True)
    conversions = serializers.IntegerField()
