"""API authentication with personal tokens (`Authorization: Token <token>`)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's token authentication, looking at the presented token only.

    knox deletes every expired token of the user on each request, one more query per request
    for rows that cannot be used anyway; here only the presented token is checked (an expired
    one is deleted and refused); the others go when the user is next issued a token.
    """

    def _cleanup_token(self, auth_token: Any) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False
