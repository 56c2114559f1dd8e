"""Rate limit of the token endpoint, per visitor address."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from common.clientip import client_key


class TokenObtainThrottle(SimpleRateThrottle):
    """`FLYWHEEL_API_TOKEN_RATE` requests per address to the token endpoint, any outcome.

    Failed passwords lock out sooner (accounts/lockout.py); this caps the tokens an address
    can have issued. The address is the proxy-aware one of common/clientip.py.
    """

    scope = "auth_token"

    def get_rate(self) -> str | None:
        return str(settings.FLYWHEEL_API_TOKEN_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_key(request)}
