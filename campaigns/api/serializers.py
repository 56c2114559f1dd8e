"""Input and output serializers for campaigns, their variants, results and previews.

Choices are documented as plain strings (with their values in the help text): the schema's
enums are named after the field, and `channel` and `state` already name others.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.api.serializers import user_ref
from campaigns.models import Campaign, Variant

CHANNEL_HELP = "email or sms."
STATE_HELP = "draft, scheduled, sending, sent, paused or cancelled."
METRIC_HELP = "The A/B metric: open, click or conversion."


class VariantSerializer(serializers.ModelSerializer):
    """One variant: its name, its split (percent; a campaign's splits add up to 100) and its
    texts, personalised with `{{ field }}` and stage/phase blocks (docs/api.md)."""

    template = serializers.IntegerField(
        required=False,
        write_only=True,
        help_text="Start from this message template: its subject and bodies are copied into "
        "the variant (texts given alongside take precedence). Its channel must be the "
        "campaign's; the variant keeps its own copy.",
    )

    class Meta:
        model = Variant
        fields = ["id", "name", "split", "subject", "body_text", "body_html", "template"]
        read_only_fields = ["id"]
        extra_kwargs = {
            "name": {"required": False},
            "split": {"required": False},
            "subject": {"required": False},
            "body_text": {"required": False, "allow_blank": True},
            "body_html": {"required": False},
        }


class CampaignOutputSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(help_text=CHANNEL_HELP)
    state = serializers.CharField(help_text=STATE_HELP)
    ab_metric = serializers.CharField(help_text=METRIC_HELP)
    variants = VariantSerializer(many=True, read_only=True)
    percent = serializers.IntegerField(help_text="Progress of the send, 0-100.")
    total = serializers.IntegerField(
        help_text="The recipients: the customers the audience held when sending started, "
        "fixed for the whole send (0 before it starts)."
    )
    audience_fixed_at = serializers.DateTimeField(
        source="audience_snapshot.frozen_at",
        allow_null=True,
        help_text="When the recipients were fixed: when sending started (send-now, or the "
        "scheduled time). Null before. Customers who join the segment later are not sent to.",
    )

    created_by = user_ref()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "segment",
            "customer_ids",
            "channel",
            "state",
            "scheduled_at",
            "send_rate_per_minute",
            "cost",
            "currency",
            "utm_source",
            "utm_campaign",
            "attribution_window_days",
            "ab_metric",
            "variants",
            "created_by",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
            "total",
            "audience_fixed_at",
            "processed",
            "skipped",
            "percent",
            "error",
        ]
        read_only_fields = fields


class CampaignInputSerializer(serializers.Serializer):
    """The writable parts of a draft; the service validates them (400 keyed by field)."""

    name = serializers.CharField(max_length=200, required=False)
    segment = serializers.IntegerField(required=False, allow_null=True)
    customer_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, allow_null=True
    )
    channel = serializers.CharField(required=False, help_text=CHANNEL_HELP)
    send_rate_per_minute = serializers.IntegerField(required=False)
    cost = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
    currency = serializers.CharField(max_length=3, required=False)
    utm_source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_campaign = serializers.CharField(max_length=200, required=False, allow_blank=True)
    attribution_window_days = serializers.IntegerField(required=False)
    ab_metric = serializers.CharField(required=False, help_text=METRIC_HELP)
    variants = VariantSerializer(many=True, required=False)

    def validate_segment(self, value: int | None) -> Any:
        if value is None:
            return None
        from segments.models import Segment

        segment = Segment.objects.filter(pk=value).first()
        if segment is None:
            raise serializers.ValidationError(f"Unknown segment {value}.")
        return segment


class CampaignCreateInputSerializer(CampaignInputSerializer):
    name = serializers.CharField(max_length=200)
    variants = VariantSerializer(many=True)


class ScheduleInputSerializer(serializers.Serializer):
    scheduled_at = serializers.DateTimeField(help_text="When to start sending (in the future).")


class RatesSerializer(serializers.Serializer):
    delivery = serializers.FloatField(allow_null=True)
    open = serializers.FloatField(allow_null=True)
    click = serializers.FloatField(allow_null=True)
    unsubscribe = serializers.FloatField(allow_null=True)
    bounce = serializers.FloatField(allow_null=True)
    complaint = serializers.FloatField(allow_null=True)
    conversion = serializers.FloatField(allow_null=True)


class CountsSerializer(serializers.Serializer):
    recipients = serializers.IntegerField()
    queued = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    sent = serializers.IntegerField()
    suppressed = serializers.IntegerField()
    delivered = serializers.IntegerField()
    opens = serializers.IntegerField()
    clicks = serializers.IntegerField()
    unsubscribes = serializers.IntegerField()
    bounces = serializers.IntegerField()
    complaints = serializers.IntegerField()
    conversions = serializers.IntegerField()
    rates = RatesSerializer(help_text="Each count ÷ sent; null before anything is sent.")


class VariantResultSerializer(serializers.Serializer):
    variant = serializers.IntegerField()
    name = serializers.CharField()
    split = serializers.IntegerField()
    counts = CountsSerializer()
    metric_successes = serializers.IntegerField()
    metric_rate = serializers.FloatField(allow_null=True)
    interval_low = serializers.FloatField(help_text="95% Wilson interval of the metric rate.")
    interval_high = serializers.FloatField()


class VerdictSerializer(serializers.Serializer):
    winner = serializers.IntegerField(allow_null=True, help_text="The winning variant's id.")
    p_value = serializers.FloatField(allow_null=True)
    message = serializers.CharField()


class CostsSerializer(serializers.Serializer):
    cost = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    acquired = serializers.IntegerField()
    acquisition_cost = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    is_retention = serializers.BooleanField()
    retained = serializers.IntegerField()
    retention_cost = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class StatsSerializer(serializers.Serializer):
    """A campaign's results (docs/metrics.md, Campaigns)."""

    ab_metric = serializers.CharField(help_text=METRIC_HELP)
    total = CountsSerializer()
    variants = VariantResultSerializer(many=True)
    verdict = VerdictSerializer()
    costs = CostsSerializer()


class PreviewSerializer(serializers.Serializer):
    variant = serializers.IntegerField()
    name = serializers.CharField()
    subject = serializers.CharField()
    body_text = serializers.CharField()
    body_html = serializers.CharField()
