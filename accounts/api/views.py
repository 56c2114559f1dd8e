"""Sign-in and personal API tokens: issue one, list them, revoke one, revoke all."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth import authenticate, user_logged_in
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import (
    TokenObtainInputSerializer,
    TokenObtainOutputSerializer,
    TokenOutputSerializer,
)
from accounts.api.throttles import TokenObtainThrottle
from accounts.authentication import TokenAuthentication
from accounts.selectors import api_token_list
from accounts.services import api_token_create, api_token_revoke, api_tokens_revoke_all
from common.api.parsers import JSONParser
from common.api.request import request_user
from common.api.schema import error_responses

TOO_MANY = OpenApiResponse(
    response=inline_serializer(name="TooManyRequests", fields={"detail": serializers.CharField()}),
    description=(
        "Too many failed sign-ins for the account or from the address (a lockout), or too "
        "many requests from the address. `Retry-After` gives the seconds to wait."
    ),
)


class TokenObtainApi(APIView):
    """Exchange a username and password for a new personal API token.

    No authentication runs here: a client holding a revoked token, or a browser with a
    dashboard session but no CSRF token, must still be able to log in. The password is checked
    through Django's `authenticate()` with the Django request, so that the lockout backend
    refuses a locked-out account or address and the failure is counted; axes' middleware then
    answers 429 (accounts/lockout.py).
    """

    authentication_classes = ()
    permission_classes = ()
    throttle_classes = (TokenObtainThrottle,)
    parser_classes = (FormParser, MultiPartParser, JSONParser)

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenObtainInputSerializer,
        responses={200: TokenObtainOutputSerializer, **error_responses(400), 429: TOO_MANY},
    )
    def post(self, request: Request) -> Response:
        serializer = TokenObtainInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        django_request = request._request
        user = authenticate(
            request=django_request, username=data["username"], password=data["password"]
        )
        if user is None:
            raise ValidationError(
                {"non_field_errors": ["Unable to log in with provided credentials."]}
            )
        token, secret = api_token_create(user=user, name=data["name"])
        # Resets the account's failed sign-ins from this address (axes) and stamps last_login.
        user_logged_in.send(sender=user.__class__, request=django_request, user=user)
        issued = {
            "token": secret,
            "expiry": token.expiry,
            "id": token.public_id,
            "name": token.name,
        }
        return Response(TokenObtainOutputSerializer(issued).data)


class TokenListApi(APIView):
    """The signed-in user's API tokens that still work (never the tokens themselves)."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        operation_id="auth_tokens_list",
        responses={200: TokenOutputSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        tokens = api_token_list(user=request_user(request))
        context = {"current": request.auth}
        return Response(TokenOutputSerializer(tokens, many=True, context=context).data)


class TokenRevokeApi(APIView):
    """Revoke one of one's own API tokens; another user's is not found (404)."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        operation_id="auth_tokens_destroy",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, public_id: UUID) -> Response:
        if not api_token_revoke(user=request_user(request), public_id=public_id):
            raise NotFound()
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutApi(APIView):
    """Revoke the token this request is authenticated with."""

    authentication_classes = (TokenAuthentication,)
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        operation_id="auth_logout", request=None, responses={204: None, **error_responses(401, 403)}
    )
    def post(self, request: Request) -> Response:
        token: Any = request.auth
        api_token_revoke(user=request_user(request), public_id=token.public_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllApi(APIView):
    """Revoke every API token of the signed-in user, the one in use included."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        operation_id="auth_logout_all",
        request=None,
        responses={204: None, **error_responses(401, 403)},
    )
    def post(self, request: Request) -> Response:
        api_tokens_revoke_all(user=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
