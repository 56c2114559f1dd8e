"""Rate limit of the token endpoint, per visitor address."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from common.ratelimit import RateLimit, rate_limit_exceeded


class TokenObtainThrottle(BaseThrottle):
    """`FLYWHEEL_API_TOKEN_RATE_PER_MINUTE` requests per address to the token endpoint.

    Counted by the project's one rate limiter (common/ratelimit.py: the proxy-aware address,
    the shared cache), whatever the outcome: failed passwords lock out sooner
    (accounts/lockout.py); this caps how many tokens one address can have issued. DRF turns a
    refusal into 429 with `Retry-After`.
    """

    def __init__(self) -> None:
        self.seconds_left: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        limit = RateLimit(
            group="auth-token", count=settings.FLYWHEEL_API_TOKEN_RATE_PER_MINUTE, period_seconds=60
        )
        self.seconds_left = rate_limit_exceeded(request._request, limit=limit)
        return self.seconds_left is None

    def wait(self) -> float | None:
        return self.seconds_left
