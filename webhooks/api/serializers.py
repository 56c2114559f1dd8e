"""Input and output serializers for webhook subscriptions and deliveries."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import TextChoices
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import user_ref
from webhooks.guard import MAX_URL_LENGTH
from webhooks.models import Delivery, DeliveryAttempt, DeliveryState, Subscription, WebhookEvent
from webhooks.services import MAX_NAME_LENGTH


def _pattern(choices: type[TextChoices]) -> str:
    return f"^({'|'.join(re.escape(value) for value in choices.values)})$"


# Documented by a pattern, not an enum: the schema names enums after the field, and other
# resources already have fields called `state` and `event`.
@extend_schema_field(
    {
        "type": "string",
        "pattern": _pattern(WebhookEvent),
        "description": f"One of {', '.join(WebhookEvent.values)}.",
    }
)
class WebhookEventField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=WebhookEvent.choices, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "pattern": _pattern(DeliveryState),
        "description": f"One of {', '.join(DeliveryState.values)}.",
    }
)
class DeliveryStateField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=DeliveryState.choices, **kwargs)


def _events_field(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=WebhookEventField(),
        allow_empty=False,
        help_text="The events to receive.",
        **kwargs,
    )


class SubscriptionOutputSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=WebhookEventField(), read_only=True)

    created_by = user_ref()

    class Meta:
        model = Subscription
        fields = [
            "id",
            "name",
            "url",
            "events",
            "is_active",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SubscriptionCreatedOutputSerializer(SubscriptionOutputSerializer):
    """The new subscription with its signing secret: the only answer of the API that has it."""

    secret = serializers.CharField(read_only=True)

    class Meta(SubscriptionOutputSerializer.Meta):
        fields = [*SubscriptionOutputSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class SubscriptionCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=MAX_NAME_LENGTH)
    url = serializers.CharField(
        max_length=MAX_URL_LENGTH,
        help_text="http or https; private and loopback addresses are refused.",
    )
    events = _events_field()
    is_active = serializers.BooleanField(default=True)


class SubscriptionUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=MAX_NAME_LENGTH, required=False)
    url = serializers.CharField(max_length=MAX_URL_LENGTH, required=False)
    events = _events_field(required=False)
    is_active = serializers.BooleanField(required=False)


class DeliveryOutputSerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="target_url", read_only=True, help_text="Where it goes.")
    state = DeliveryStateField(read_only=True)
    payload = serializers.JSONField(read_only=True, help_text="The event's data.")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "uuid",
            "subscription",
            "url",
            "event",
            "idempotency_key",
            "payload",
            "state",
            "attempts",
            "last_status_code",
            "last_error",
            "response_excerpt",
            "next_attempt_at",
            "delivered_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DeliveryAttemptOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = [
            "id",
            "attempted_at",
            "url",
            "status_code",
            "succeeded",
            "duration_ms",
            "error",
            "response_excerpt",
        ]
        read_only_fields = fields


class DeliveryDetailOutputSerializer(DeliveryOutputSerializer):
    """A delivery with every attempt, newest first."""

    attempt_log = DeliveryAttemptOutputSerializer(many=True, read_only=True)

    class Meta(DeliveryOutputSerializer.Meta):
        fields = [*DeliveryOutputSerializer.Meta.fields, "attempt_log"]
        read_only_fields = fields
