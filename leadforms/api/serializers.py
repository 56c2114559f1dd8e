"""Input and output serializers for lead forms and submissions.

The input serializers check each value's type; the services (`form_create`, `form_update`,
`form_submit`) check the rules and name every field at fault (`fields[2].maps_to`).
"""

from __future__ import annotations

from rest_framework import serializers

from leadforms.models import LeadForm, Submission


class LeadFormSerializer(serializers.ModelSerializer):
    # DRF's metaclass pops declared fields, so `.fields` stays the serializer's own.
    fields = serializers.JSONField(  # type: ignore[assignment]
        help_text="List of {name, label, type (text, email, tel, textarea, select, checkbox), "
        "required, maps_to (first_name, last_name, phone, company or attributes.<key>), "
        "choices}. The email is always asked and is not listed."
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)

    class Meta:
        model = LeadForm
        fields = [
            "id",
            "name",
            "slug",
            "is_active",
            "fields",
            "consent_text",
            "double_opt_in",
            "success_message",
            "redirect_url",
            "tags",
            "default_source",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class LeadFormInputSerializer(serializers.Serializer):
    """A form to create, or (partial) the settings to change. The field list is checked by
    the service, which keys its errors by path (`fields[1].maps_to`)."""

    name = serializers.CharField(max_length=200)
    slug = serializers.CharField(
        max_length=80,
        required=False,
        allow_blank=True,
        help_text="Default: made from the name. Letters, digits and hyphens.",
    )
    is_active = serializers.BooleanField(required=False)
    fields = serializers.JSONField(  # type: ignore[assignment] # DRF pops declared fields
        required=False, help_text=LeadFormSerializer._declared_fields["fields"].help_text
    )
    consent_text = serializers.CharField(
        max_length=500, required=False, allow_blank=True, allow_null=True
    )
    double_opt_in = serializers.BooleanField(required=False)
    success_message = serializers.CharField(
        max_length=500, required=False, allow_blank=True, allow_null=True
    )
    redirect_url = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="An http:// or https:// address to send visitors to after submitting.",
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    default_source = serializers.CharField(
        max_length=100, required=False, allow_blank=True, allow_null=True
    )


class SubmissionOutputSerializer(serializers.ModelSerializer):
    form: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = Submission
        fields = [
            "id",
            "form",
            "state",
            "data",
            "customer",
            "created_customer",
            "consent_given",
            "ip",
            "user_agent",
            "referrer",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "created_at",
            "confirmed_at",
        ]


class SubmissionInputSerializer(serializers.Serializer):
    """Documents the body: the form's own fields travel in `data`."""

    # DRF's metaclass pops declared fields, so `.data` stays the serializer's output.
    data = serializers.DictField(  # type: ignore[assignment]
        help_text="The email and the form's fields by name; `consent`."
    )
    ip = serializers.IPAddressField(required=False, allow_null=True, default=None)
    user_agent = serializers.CharField(max_length=400, required=False, default="")
    referrer = serializers.CharField(max_length=1000, required=False, default="")
    utm = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        default=dict,
        help_text="utm_source, utm_medium, utm_campaign, utm_term, utm_content.",
    )


class StatsQuerySerializer(serializers.Serializer):
    """The period of a form's statistics: `start` and `end` dates, both optional."""

    start = serializers.DateField(required=False, help_text="First day counted (YYYY-MM-DD).")
    end = serializers.DateField(required=False, help_text="Last day counted (YYYY-MM-DD).")

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and end < start:
            raise serializers.ValidationError({"end": ["The end comes before the start."]})
        return attrs


class SourceCountSerializer(serializers.Serializer):
    # DRF takes declared fields off the class; the stubs see Field.source (a str) instead.
    source = serializers.CharField(  # type: ignore[assignment]
        help_text="The submissions' utm_source; empty when none."
    )
    submissions = serializers.IntegerField()
    new_customers = serializers.IntegerField()


class LeadFormStatsSerializer(serializers.Serializer):
    """A form's numbers (docs/metrics.md, "Lead forms"); spam is left out of all but `spam`."""

    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    submissions = serializers.IntegerField()
    spam = serializers.IntegerField()
    accepted = serializers.IntegerField()
    pending_confirmation = serializers.IntegerField()
    confirmed = serializers.IntegerField()
    confirmation_rate = serializers.FloatField(allow_null=True)
    new_customers = serializers.IntegerField()
    existing_customers = serializers.IntegerField()
    consent_given = serializers.IntegerField()
    advanced = serializers.IntegerField()
    advance_rate = serializers.FloatField(allow_null=True)
    by_source = SourceCountSerializer(many=True)
