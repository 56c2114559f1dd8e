"""Input and output serializers for the customer endpoints."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import user_ref
from common.validators import validate_no_nul
from customers.models import MAX_TAG_LENGTH, MAX_TAGS, Customer
from customers.timeline import TimelineEntry
from interactions.selectors import CurrencyValue, customer_value
from stages.models import Stage

User = get_user_model()


class StageSlugField(serializers.SlugRelatedField):
    """A stage named by its slug, with an error that says which slug is unknown."""

    default_error_messages = {
        "does_not_exist": "Unknown stage '{value}'.",
        "invalid": "Give the stage's slug as a string.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Stage.objects.all())
        super().__init__(slug_field="slug", **kwargs)


class CustomerOutputSerializer(serializers.ModelSerializer):
    """A customer as lists show it; `referral_count` comes from an annotation of the view's
    queryset (the customers whose `referred_by` is this one)."""

    stage: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    phase = serializers.CharField(source="stage.phase", read_only=True)
    referral_count = serializers.IntegerField(
        read_only=True, help_text="How many customers this one referred."
    )

    owner = user_ref()

    class Meta:
        model = Customer
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "company",
            "owner",
            "source",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "tags",
            "attributes",
            "email_consent",
            "email_consent_at",
            "sms_consent",
            "sms_consent_at",
            "stage",
            "phase",
            "stage_entered_at",
            "referred_by",
            "referral_code",
            "referral_count",
            "last_activity_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CurrencyValueOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=20, decimal_places=2)
    count = serializers.IntegerField()
    average = serializers.DecimalField(max_digits=20, decimal_places=2)


class CustomerDetailOutputSerializer(CustomerOutputSerializer):
    """One customer in full: also lifetime value per currency and open follow-ups
    (`open_tasks` comes from an annotation of the view's queryset)."""

    lifetime_value = serializers.SerializerMethodField(
        help_text="Purchases per currency, largest total first; currencies are never added "
        "together (docs/metrics.md, 'Lifetime value')."
    )
    open_tasks = serializers.IntegerField(
        read_only=True, help_text="Follow-up tasks still open for this customer."
    )

    class Meta(CustomerOutputSerializer.Meta):
        fields = [*CustomerOutputSerializer.Meta.fields, "lifetime_value", "open_tasks"]
        read_only_fields = fields

    @extend_schema_field(CurrencyValueOutputSerializer(many=True))
    def get_lifetime_value(self, customer: Customer) -> Any:
        values: list[CurrencyValue] = customer_value(customer_id=customer.pk).by_currency
        return CurrencyValueOutputSerializer(values, many=True).data


class CustomerInputSerializer(serializers.Serializer):
    """The writable fields of a customer. `stage` is accepted on create only."""

    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    # pk_field: without it a float such as 1.5 is silently truncated to the id 1.
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        pk_field=serializers.IntegerField(),
        required=False,
        allow_null=True,
    )
    # A declared field named `source` shadows Field.source only for type checkers: DRF moves
    # declared fields out of the class attributes.
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=100, required=False, allow_blank=True
    )
    utm_source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_medium = serializers.CharField(max_length=100, required=False, allow_blank=True)
    utm_campaign = serializers.CharField(max_length=200, required=False, allow_blank=True)
    utm_term = serializers.CharField(max_length=200, required=False, allow_blank=True)
    utm_content = serializers.CharField(max_length=200, required=False, allow_blank=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=MAX_TAG_LENGTH),
        max_length=MAX_TAGS,
        required=False,
    )
    attributes = serializers.JSONField(required=False, validators=[validate_no_nul])
    email_consent = serializers.BooleanField(required=False)
    sms_consent = serializers.BooleanField(required=False)
    referred_by = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(),
        pk_field=serializers.IntegerField(),
        required=False,
        allow_null=True,
    )
    stage = StageSlugField(required=False)

    def validate_attributes(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Attributes must be a JSON object.")
        return value


class CustomerCreateInputSerializer(CustomerInputSerializer):
    """A new customer; `referral_code` (the referrer's code) links them to who brought them."""

    referral_code = serializers.CharField(
        max_length=50,
        required=False,
        allow_blank=True,
        help_text="The referring customer's code (case and spaces ignored); sets referred_by.",
    )


# --- timeline ------------------------------------------------------------------------------


class TimelineQuerySerializer(serializers.Serializer):
    cursor = serializers.CharField(required=False, max_length=500)
    kinds = serializers.CharField(required=False, max_length=500)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500, default=50)


class TimelineEntryOutputSerializer(serializers.Serializer):
    """One record on the timeline. `data` is the record as its own endpoint shows it; the
    serializer per kind comes in the context (`data_serializers`)."""

    kind = serializers.CharField(
        help_text="transition, interaction, purchase, task, survey_response, "
        "survey_invitation or automation_step."
    )
    at = serializers.DateTimeField(help_text="When it happened (tasks: when they were created).")
    id = serializers.IntegerField()
    # DRF's metaclass pops declared fields, so `.data` stays the serializer's output.
    data = serializers.SerializerMethodField(  # type: ignore[assignment]
        help_text="The record, shaped as by its own endpoint: a transition as in "
        "/customers/{id}/transitions/, an interaction as /interactions/{id}/, a purchase "
        "as /purchases/{id}/, a task as /tasks/{id}/. Null if it was deleted meanwhile."
    )

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_data(self, entry: TimelineEntry) -> dict[str, Any] | None:
        if entry.record is None:
            return None
        return self.context["data_serializers"][entry.kind](entry.record).data
