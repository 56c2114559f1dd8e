"""Input and output serializers for the message template library.

Choices are documented as plain strings (with their values in the help text), as in the
campaigns API: the schema's enums are named after the field, and `channel` names several.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from messaging.models import Channel, MessageTemplate
from messaging.templating import sms_length, template_fields

CHANNEL_HELP = "email or sms."
KIND_HELP = (
    "marketing (needs the customer's consent on the channel) or transactional (what the "
    "customer asked for or is owed)."
)
TEXT_HELP = (
    'Personalised with `{{ field }}` or `{{ field|default:"text" }}` and '
    "`[[stage:slug,…]]…[[/stage]]`, `[[phase:attract|engage|delight]]…[[/phase]]` blocks "
    "(docs/api.md, Message templates)."
)


class SmsLengthSerializer(serializers.Serializer):
    encoding = serializers.CharField(help_text="GSM-7 or UCS-2.")
    length = serializers.IntegerField(help_text="Characters as the network counts them.")
    segments = serializers.IntegerField(help_text="How many SMS parts it is sent in.")
    per_segment = serializers.IntegerField(help_text="160/153 (GSM-7) or 70/67 (UCS-2).")


def sms_length_data(channel: str, text: str) -> dict[str, Any] | None:
    if channel != Channel.SMS:
        return None
    length = sms_length(text)
    return {
        "encoding": length.encoding,
        "length": length.length,
        "segments": length.segments,
        "per_segment": length.per_segment,
    }


class TemplateOutputSerializer(serializers.ModelSerializer):
    channel = serializers.CharField(help_text=CHANNEL_HELP)
    kind = serializers.CharField(help_text=KIND_HELP)
    fields_used = serializers.SerializerMethodField(
        help_text="The personalisation fields the template uses."
    )
    sms = serializers.SerializerMethodField(
        help_text="For an SMS template, the length of its text as written (values change it); "
        "null for email."
    )

    class Meta:
        model = MessageTemplate
        fields = [
            "id",
            "name",
            "channel",
            "kind",
            "subject",
            "body_text",
            "body_html",
            "fields_used",
            "sms",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_fields_used(self, template: MessageTemplate) -> list[str]:
        return template_fields(f"{template.subject}\n{template.body_text}\n{template.body_html}")

    @extend_schema_field(SmsLengthSerializer(allow_null=True))
    def get_sms(self, template: MessageTemplate) -> dict[str, Any] | None:
        return sms_length_data(template.channel, template.body_text)


class TemplateInputSerializer(serializers.Serializer):
    """The writable parts of a template; the service validates them (400 keyed by field)."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    channel = serializers.CharField(required=False, help_text=CHANNEL_HELP)
    kind = serializers.CharField(required=False, help_text=KIND_HELP)
    subject = serializers.CharField(
        required=False, allow_blank=True, help_text="Email only. " + TEXT_HELP
    )
    body_text = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text=TEXT_HELP
    )
    body_html = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Email only; values are HTML-escaped. " + TEXT_HELP,
    )


class TemplateCreateInputSerializer(TemplateInputSerializer):
    name = serializers.CharField(max_length=200)
    body_text = serializers.CharField(trim_whitespace=False, help_text=TEXT_HELP)


class TemplateCustomerInputSerializer(serializers.Serializer):
    customer = serializers.IntegerField(
        min_value=1, help_text="The id of the customer to personalise for."
    )


class TemplateRenderedSerializer(serializers.Serializer):
    subject = serializers.CharField(help_text="Empty for an SMS.")
    body_text = serializers.CharField()
    body_html = serializers.CharField(help_text="Empty for an SMS or a text-only email.")
    sms = SmsLengthSerializer(allow_null=True, help_text="The personalised SMS's length.")


class TemplateTestSendOutputSerializer(serializers.Serializer):
    message = serializers.IntegerField(help_text="The outbox message's id.")
    to = serializers.EmailField()
    subject = serializers.CharField()
