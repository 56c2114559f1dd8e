"""The one rate limiter of the public pages: so many posts per client address per window.

Counting is django-ratelimit's (a fixed window per address in the shared cache, so every web
process sees the same count); the address is `common.clientip.client_key`, which believes
`X-Forwarded-For` only from our own proxies. When the cache cannot be reached the request is let
through and the failure logged: a public form that stays open for a few minutes without a limit
is better than one that answers 500 to everybody.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

from common.clientip import client_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimit:
    """`count` posts per client address every `period_seconds`, counted under `group`."""

    group: str
    count: int
    period_seconds: int

    @property
    def rate(self) -> str:
        return f"{self.count}/{self.period_seconds}s"


def _client(group: str, request: HttpRequest) -> str:
    return client_key(request)


def rate_limit_exceeded(request: HttpRequest, *, limit: RateLimit) -> int | None:
    """Count this request against `limit`: the seconds until the client may post again when it
    is over the limit, else None (also None, logged, when the cache is unreachable)."""
    try:
        usage = get_usage(request, group=limit.group, key=_client, rate=limit.rate, increment=True)
    except (RedisError, OSError, ValueError):
        logger.warning(
            "Rate limit %s not applied: the cache is unreachable", limit.group, exc_info=True
        )
        return None
    if usage is None:
        return None
    if usage["limit"] == 0:
        # django-ratelimit's answer when the cache returned no count (a cache that swallows
        # its errors): it would refuse everyone; we let the request through instead.
        logger.warning("Rate limit %s not applied: the cache returned no count", limit.group)
        return None
    if not usage["should_limit"]:
        return None
    return max(int(usage["time_left"]), 1)


def retry_after(response: HttpResponse, seconds: int) -> HttpResponse:
    """Tell the client when it may post again (RFC 9110 `Retry-After`, in seconds)."""
    response["Retry-After"] = str(seconds)
    return response


def wait_message(seconds: int) -> str:
    """The visitor's message for a 429, with the wait in minutes."""
    minutes = max(1, -(-seconds // 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many submissions from your address; please try again in {minutes} {unit}."
