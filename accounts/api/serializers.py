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


class UserRefSerializer(serializers.Serializer):
    """A person as every API answer shows one (a customer's owner, who logged a contact, who
    moved a stage, who created a rule): `{"id", "username", "name"}`, or null when nobody
    (the system, an automation, a deleted user). Inputs name people by id alone."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.SerializerMethodField(help_text="The full name; empty when not given.")

    def get_name(self, user: object) -> str:
        return str(user.get_full_name())  # type: ignore[attr-defined]


def user_ref(**kwargs: object) -> UserRefSerializer:
    """The read-only, nullable user reference of an output serializer."""
    return UserRefSerializer(read_only=True, allow_null=True, **kwargs)  # type: ignore[arg-type]
