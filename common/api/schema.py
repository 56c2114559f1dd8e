"""OpenAPI pieces shared by every endpoint: the shapes of error responses."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

_detail = inline_serializer(name="ErrorDetail", fields={"detail": serializers.CharField()})

_DESCRIPTIONS = {
    400: (
        "Bad input. The body maps each offending field to a list of messages; "
        "`non_field_errors` for a rule spanning fields, `body` for a request that is not JSON."
    ),
    401: "No credentials, or invalid ones.",
    403: "The user's role does not allow this operation.",
    404: "No such record.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Documented error responses for `codes` (400, 401, 403, 404)."""
    responses: dict[int, OpenApiResponse] = {}
    for code in codes:
        if code == 400:
            responses[code] = OpenApiResponse(
                response=OpenApiTypes.OBJECT,
                description=_DESCRIPTIONS[400],
                examples=[
                    OpenApiExample(
                        "Field error",
                        value={"email": ["A customer with the email 'ann@x.com' already exists."]},
                        status_codes=["400"],
                    ),
                    OpenApiExample(
                        "Malformed JSON",
                        value={"body": ["JSON parse error - Expecting value: line 1 column 1"]},
                        status_codes=["400"],
                    ),
                ],
            )
        else:
            responses[code] = OpenApiResponse(response=_detail, description=_DESCRIPTIONS[code])
    return responses
