"""Input and output of the sign-in and API token endpoints."""

from __future__ import annotations

from rest_framework import serializers


class TokenObtainInputSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the token is for (a script, a tool), to recognise it in the list.",
    )


class TokenObtainOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The token itself: shown only in this response.")
    expiry = serializers.DateTimeField(help_text="When the token stops working.")
    id = serializers.UUIDField(help_text="Names the token in the list and to revoke it.")
    name = serializers.CharField()


class TokenOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField()
    current = serializers.SerializerMethodField(
        help_text="Whether this request was authenticated with this token."
    )

    def get_current(self, token: object) -> bool:
        return token == self.context.get("current")
