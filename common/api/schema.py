"""OpenAPI pieces shared by every endpoint: the shapes of error responses, and the
`Idempotency-Key` header every write takes."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

from common.api.idempotency import HEADER, IN_PROGRESS, MAX_KEY_LENGTH, REPLAYED_HEADER
from common.middleware import DELAYED_HEADER

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


def idempotency_key_postprocess(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular hook: every authenticated write takes the optional `Idempotency-Key`
    header and may answer 409 for it (common/api/idempotency.py), documented here once
    rather than on each view. Public operations (no `security`) ignore the header. A write's
    success may also carry the replay header and the queue-delayed header
    (common/middleware.py), documented on its 2xx answers."""
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _WRITE_OPERATIONS or not operation.get("security"):
                continue
            operation.setdefault("parameters", []).append(dict(_IDEMPOTENCY_KEY_PARAMETER))
            operation["responses"].setdefault("409", dict(_IDEMPOTENCY_CONFLICT))
            for status, response in operation["responses"].items():
                if str(status).startswith("2"):
                    response.setdefault("headers", {}).update(_SUCCESS_HEADERS)
    return result


_WRITE_OPERATIONS = frozenset({"post", "put", "patch", "delete"})
_IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "description": (
        "Makes this request safe to resend: a key of your choosing (1 to "
        f"{MAX_KEY_LENGTH} visible ASCII characters, e.g. a UUID), new for each new request. "
        "A resend with the same key, method, path and body is not run again; it gets the "
        f"first answer back, with `{REPLAYED_HEADER}: true`. Only successful answers are "
        "kept (24 hours at least): after a 4xx the request wrote nothing, and the key may "
        "be used for the corrected request. A malformed key is a 400 on `Idempotency-Key`."
    ),
}
_SUCCESS_HEADERS: dict[str, Any] = {
    REPLAYED_HEADER: {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "Present on a resend with an `Idempotency-Key`: the first answer, "
        "replayed; nothing was run again.",
    },
    DELAYED_HEADER: {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "The write is saved, but the task queue was unreachable: the work it "
        "starts (emails, SMS, webhooks, automations) goes out within a minute of the queue "
        "answering again.",
    },
}
_IDEMPOTENCY_CONFLICT: dict[str, Any] = {
    "description": (
        "The `Idempotency-Key` was used for another request (another method, path or body), "
        "or a request with it is still running (then with `Retry-After`). Nothing written."
    ),
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {HEADER: {"type": "array", "items": {"type": "string"}}},
            },
            "example": {HEADER: [IN_PROGRESS]},
        }
    },
}


def error_responses_postprocess(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular hook: the errors any operation can answer, documented where they can
    happen rather than on each view: 401 and 403 on every operation that needs credentials,
    404 on every operation with a path parameter (a URL the API does not route is a JSON 404
    too), 400 on every operation that reads query parameters, headers (`Idempotency-Key`,
    added by the hook before this one) or a body. An operation's own
    description of these codes, where it has one, is kept."""
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in _OPERATION_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            parameters = operation.get("parameters", [])
            wanted: list[int] = []
            if any(p.get("in") in ("query", "header") for p in parameters) or (
                "requestBody" in operation
            ):
                wanted.append(400)
            if _is_secured(operation):
                wanted += [401, 403]
            if any(p.get("in") == "path" for p in parameters):
                wanted.append(404)
            for code in wanted:
                responses.setdefault(str(code), _error_response(code))
    return result


def _is_secured(operation: dict[str, Any]) -> bool:
    # A public operation has no `security`, or lists the empty requirement `{}`.
    return any(requirement for requirement in operation.get("security", []))


def _error_response(code: int) -> dict[str, Any]:
    if code == 400:
        # Keyed by field; a nested field's errors may be an object of their own.
        schema: dict[str, Any] = {"type": "object", "additionalProperties": {}}
    else:
        schema = {"type": "object", "properties": {"detail": {"type": "string"}}}
    return {"description": _DESCRIPTIONS[code], "content": {"application/json": {"schema": schema}}}


_OPERATION_METHODS = frozenset({"get", "post", "put", "patch", "delete"})
