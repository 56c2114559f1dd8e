"""Input and output serializers for consent and the suppression list."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import user_ref
from consent.models import ConsentEvent, ConsentMethod, Suppression, SuppressionReason
from messaging.models import Channel

# Methods an API client may record; unsubscribes, bounces and complaints come from their own
# endpoints and provider callbacks. Pattern-documented fields avoid enum name clashes.
API_METHODS = (ConsentMethod.API, ConsentMethod.IMPORT, ConsentMethod.FORM)


@extend_schema_field({"type": "string", "pattern": "^(email|sms)$", "description": "email or sms."})
class ChannelField(serializers.ChoiceField):
    """Documented by a pattern, not an enum: interactions' `channel` already holds that name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Channel.choices, **kwargs)


class ChannelStateSerializer(serializers.Serializer):
    channel = ChannelField()
    granted = serializers.BooleanField()
    changed_at = serializers.DateTimeField(allow_null=True)
    suppressed = serializers.BooleanField()
    suppression_reason = serializers.CharField(allow_blank=True)
    marketing_allowed = serializers.BooleanField()


class ConsentEventOutputSerializer(serializers.ModelSerializer):
    channel = ChannelField(read_only=True)
    recorded_by = user_ref()

    class Meta:
        model = ConsentEvent
        fields = [
            "id",
            "channel",
            "granted",
            "method",
            "source",
            "ip",
            "user_agent",
            "occurred_at",
            "recorded_by",
        ]


class CustomerConsentOutputSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    channels = ChannelStateSerializer(many=True)
    history = ConsentEventOutputSerializer(many=True)


class ConsentRecordInputSerializer(serializers.Serializer):
    channel = ChannelField()
    granted = serializers.BooleanField()
    method = serializers.ChoiceField(
        choices=[(m.value, m.label) for m in API_METHODS],
        default=ConsentMethod.API,
        help_text="api (default), import, or form (consent collected by your own form).",
    )
    # A declared field named `source` shadows Field.source only for type checkers: DRF moves
    # declared fields out of the class attributes.
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=200, required=False, allow_blank=True, default=""
    )
    ip = serializers.IPAddressField(
        required=False, allow_null=True, default=None, help_text="The person's own address."
    )
    user_agent = serializers.CharField(max_length=400, required=False, allow_blank=True, default="")


class SuppressionSerializer(serializers.ModelSerializer):
    channel = ChannelField()
    reason = serializers.ChoiceField(
        choices=SuppressionReason.choices, default=SuppressionReason.MANUAL
    )

    class Meta:
        model = Suppression
        fields = ["id", "channel", "address", "reason", "note", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators: list = []  # uniqueness is the service's: a repeat returns the entry
