"""Input and output shapes of the segment endpoints."""

from __future__ import annotations

from rest_framework import serializers

from accounts.api.serializers import user_ref
from segments.models import Segment, SegmentKind


class SegmentOutputSerializer(serializers.ModelSerializer):
    created_by = user_ref()
    # A plain string, not an enum: "kind" is an enum of other components already.
    kind = serializers.CharField(read_only=True, help_text="dynamic or static.")

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "definition",
            "created_by",
            "created_at",
            "updated_at",
        ]


class SegmentCreateInputSerializer(serializers.Serializer):
    """The definition is validated by the service, which names each offending path."""

    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    kind = serializers.CharField(
        default=SegmentKind.DYNAMIC,
        help_text="dynamic (the default: whoever matches `definition`) or static (a list).",
    )
    definition = serializers.JSONField(
        required=False,
        help_text='The rule tree: {"op": "and"|"or", "rules": [...]} (docs/metrics.md, '
        '"Segments"). Required for a dynamic segment; absent for a static list.',
    )


class SegmentUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    definition = serializers.JSONField(required=False)


class PreviewInputSerializer(serializers.Serializer):
    definition = serializers.JSONField()


class CountOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class MembersAddInputSerializer(serializers.Serializer):
    """Exactly one of: customer ids, a definition (everyone matching it now), a segment id
    (everyone in it now)."""

    customer_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    definition = serializers.JSONField(required=False)
    segment = serializers.IntegerField(required=False, help_text="Another segment's id.")


class MembersRemoveInputSerializer(serializers.Serializer):
    customer_ids = serializers.ListField(child=serializers.IntegerField())


class MembersChangedOutputSerializer(serializers.Serializer):
    changed = serializers.IntegerField(help_text="How many memberships were added or removed.")
    count = serializers.IntegerField(help_text="How many members the list has now.")


class FreezeInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class SegmentCustomerSerializer(serializers.Serializer):
    """A customer as a segment lists them."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    company = serializers.CharField()
    stage = serializers.CharField(source="stage.slug")
    phase = serializers.CharField(source="stage.phase")
    owner = user_ref()
    # A declared field named `source` shadows Field.source only for type checkers: DRF moves
    # declared fields out of the class attributes.
    source = serializers.CharField()  # type: ignore[assignment]
    tags = serializers.ListField(child=serializers.CharField())
    email_consent = serializers.BooleanField()
    sms_consent = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField(allow_null=True)


class PreviewOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = SegmentCustomerSerializer(many=True)
