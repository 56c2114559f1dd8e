"""Input and output serializers for interactions, tasks, purchases and their batches."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import user_ref
from customers.models import Customer
from interactions.models import (
    MAX_WEIGHT,
    CaseState,
    Channel,
    Direction,
    Effect,
    Interaction,
    InteractionKind,
    Outcome,
    Purchase,
    Task,
)
from interactions.selectors import task_is_overdue

User = get_user_model()

MAX_BATCH_ITEMS = 100
# PositiveIntegerField's upper bound in PostgreSQL: a longer duration would be a 500.
MAX_DURATION_SECONDS = 2**31 - 1
# Purchase.amount: DECIMAL(14, 2).
AMOUNT_MAX_DIGITS = 14
AMOUNT_DECIMAL_PLACES = 2


def _customer_field() -> serializers.PrimaryKeyRelatedField:
    # pk_field: without it a float such as 1.5 is silently truncated to the id 1.
    return serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), pk_field=serializers.IntegerField()
    )


def _user_field(**kwargs: Any) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), pk_field=serializers.IntegerField(), **kwargs
    )


# --- interactions --------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "string",
        "pattern": f"^({'|'.join(Direction.values)})?$",
        "description": f"{' or '.join(Direction.values)}; empty when it does not apply.",
    }
)
class InteractionDirectionField(serializers.ChoiceField):
    """Documented by a pattern, not an enum: the schema's enums are named after the field,
    and the transitions' `direction` (entry, forward, ...) already holds that name."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Direction.choices, **kwargs)


class InteractionOutputSerializer(serializers.ModelSerializer):
    direction = InteractionDirectionField(read_only=True)
    # Both are stored empty where they do not apply: the schema's enum says so.
    channel = serializers.ChoiceField(
        choices=Channel.choices, allow_blank=True, read_only=True, help_text="Empty when unknown."
    )
    case_state = serializers.ChoiceField(
        choices=CaseState.choices,
        allow_blank=True,
        read_only=True,
        help_text="open or closed for a support case; empty for every other kind.",
    )

    logged_by = user_ref()

    class Meta:
        model = Interaction
        fields = [
            "id",
            "customer",
            "kind",
            "direction",
            "channel",
            "occurred_at",
            "duration_seconds",
            "summary",
            "outcome",
            "effect",
            "weight",
            "logged_by",
            "case_state",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class InteractionUpdateInputSerializer(serializers.Serializer):
    """What may be corrected on a logged interaction (all optional)."""

    kind = serializers.ChoiceField(choices=InteractionKind.choices, required=False)
    summary = serializers.CharField(max_length=500, required=False)
    occurred_at = serializers.DateTimeField(
        required=False, help_text="Default now; at most a few minutes in the future."
    )
    direction = InteractionDirectionField(required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=Channel.choices, required=False, allow_blank=True)
    duration_seconds = serializers.IntegerField(
        min_value=0, max_value=MAX_DURATION_SECONDS, required=False, allow_null=True
    )
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)
    effect = serializers.ChoiceField(
        choices=Effect.choices,
        required=False,
        help_text="Override of the effect the kind and outcome imply (docs/metrics.md).",
    )
    weight = serializers.IntegerField(
        min_value=0,
        max_value=MAX_WEIGHT,
        required=False,
        help_text=f"0 for neutral, 1 to {MAX_WEIGHT} otherwise; defaults with the effect.",
    )


class InteractionCreateInputSerializer(InteractionUpdateInputSerializer):
    """A contact to log. `kind` and `summary` are required; the effect defaults from
    kind and outcome."""

    customer = _customer_field()
    kind = serializers.ChoiceField(choices=InteractionKind.choices)
    summary = serializers.CharField(max_length=500)


class SupportCaseCloseInputSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=Outcome.choices,
        required=False,
        help_text="How the case ended; a new outcome re-derives the effect.",
    )


# --- tasks -----------------------------------------------------------------------------------


class TaskOutputSerializer(serializers.ModelSerializer):
    is_overdue = serializers.SerializerMethodField()

    assignee = user_ref()
    created_by = user_ref()

    class Meta:
        model = Task
        fields = [
            "id",
            "customer",
            "title",
            "notes",
            "due_at",
            "state",
            "is_overdue",
            "completed_at",
            "assignee",
            "created_by",
            "created_by_kind",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_is_overdue(self, task: Task) -> bool:
        return task_is_overdue(task)


class TaskUpdateInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    due_at = serializers.DateTimeField(required=False)
    assignee = _user_field(required=False, allow_null=True)


class TaskCreateInputSerializer(TaskUpdateInputSerializer):
    customer = _customer_field()
    title = serializers.CharField(max_length=200)
    due_at = serializers.DateTimeField()
    assignee = _user_field(
        required=False, allow_null=True, help_text="Default: the customer's owner."
    )


# --- purchases -------------------------------------------------------------------------------


class PurchaseOutputSerializer(serializers.ModelSerializer):
    recorded_by = user_ref()

    class Meta:
        model = Purchase
        fields = [
            "id",
            "customer",
            "amount",
            "currency",
            "occurred_at",
            "description",
            "source",
            "external_id",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = fields


class PurchaseCreateInputSerializer(serializers.Serializer):
    customer = _customer_field()
    amount = serializers.DecimalField(
        max_digits=AMOUNT_MAX_DIGITS,
        decimal_places=AMOUNT_DECIMAL_PLACES,
        help_text="Greater than zero, at most 2 decimal places; a string ('19.90') or a number.",
    )
    currency = serializers.CharField(max_length=3, help_text="ISO 4217 code, any case.")
    occurred_at = serializers.DateTimeField(required=False, help_text="Default now.")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    source = serializers.CharField(  # type: ignore[assignment] # a field, not Field.source
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="The system the order comes from (e.g. 'shop').",
    )
    external_id = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The order's id in `source`. The same (source, external_id) is recorded once.",
    )

    def validate_amount(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("The amount must be greater than zero.")
        return value


# --- batches ---------------------------------------------------------------------------------


class BatchEnvelopeSerializer(serializers.Serializer):
    """The envelope of a batch: each item is validated on its own, after this."""

    # Any JSON value, null included: a bad item is that item's error, not the batch's.
    items = serializers.ListField(
        child=serializers.JSONField(allow_null=True), min_length=1, max_length=MAX_BATCH_ITEMS
    )


class InteractionBatchInputSerializer(serializers.Serializer):
    """The documented shape of an interaction batch (validation is per item)."""

    items = InteractionCreateInputSerializer(  # type: ignore[call-arg]  # the stubs lag DRF
        many=True, min_length=1, max_length=MAX_BATCH_ITEMS
    )


class PurchaseBatchInputSerializer(serializers.Serializer):
    """The documented shape of a purchase batch (validation is per item)."""

    items = PurchaseCreateInputSerializer(  # type: ignore[call-arg]  # the stubs lag DRF
        many=True, min_length=1, max_length=MAX_BATCH_ITEMS
    )


class BatchItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in `items`, from 0.")
    status = serializers.ChoiceField(choices=["created", "existing", "error"])
    id = serializers.IntegerField(
        allow_null=True, help_text="The record written or found; null on error."
    )
    # DRF's metaclass pops declared fields, so `.errors` stays the serializer's own.
    errors = serializers.SerializerMethodField(  # type: ignore[assignment]
        help_text="On error: each offending field mapped to its messages, as in a 400 body."
    )

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }
    )
    def get_errors(self, result: dict[str, Any]) -> dict[str, Any] | None:
        return result["errors"]


class BatchResultSerializer(serializers.Serializer):
    results = BatchItemResultSerializer(many=True)
    created = serializers.IntegerField()
    existing = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]
