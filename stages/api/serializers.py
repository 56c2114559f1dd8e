"""Serializers for stages and transitions."""

from __future__ import annotations

from rest_framework import serializers

from accounts.api.serializers import user_ref
from customers.api.serializers import StageSlugField
from stages.models import Phase, Stage, StageTransition


class StageOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stage
        fields = ["id", "slug", "name", "phase", "position", "description", "is_archived"]
        read_only_fields = fields


class StageCreateInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=50)
    name = serializers.CharField(max_length=100)
    phase = serializers.ChoiceField(choices=Phase.choices)
    position = serializers.IntegerField(min_value=0, max_value=1_000_000, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class StageUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    phase = serializers.ChoiceField(choices=Phase.choices, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    is_archived = serializers.BooleanField(required=False)


class StageReorderInputSerializer(serializers.Serializer):
    slugs = serializers.ListField(child=serializers.SlugField(max_length=50), min_length=1)


class TransitionOutputSerializer(serializers.ModelSerializer):
    from_stage: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    to_stage: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    actor_user = user_ref()

    class Meta:
        model = StageTransition
        fields = [
            "id",
            "customer",
            "from_stage",
            "to_stage",
            "occurred_at",
            "direction",
            "actor_kind",
            "actor_user",
            "reason",
        ]
        read_only_fields = fields


class TransitionInputSerializer(serializers.Serializer):
    to_stage = StageSlugField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
