"""Input and output serializers for the customer endpoints."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from common.validators import validate_no_nul
from customers.models import MAX_TAG_LENGTH, MAX_TAGS, Customer
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
    stage = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    phase = serializers.CharField(source="stage.phase", read_only=True)

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
            "last_activity_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


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
    source = serializers.CharField(max_length=100, required=False, allow_blank=True)
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
