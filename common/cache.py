"""The cache backend: Django's Redis cache, that a Redis outage turns into a cache that misses.

The cache only ever saves work (dashboard numbers, segment counts) or counts requests (the
public forms' rate limits); none of it is worth a 500. While Redis cannot be reached, reads
are misses, writes do nothing, `incr` counts from zero, and each failure is logged. After a
failure the process leaves Redis alone for a few seconds, so that a page making many cache
calls pays for one connect timeout, not one per call.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Errors that mean "Redis is not there": a refused or timed-out connection, a server still
# loading its data. Other Redis errors (a wrong type under a key) are bugs, and are raised.
OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)

F = TypeVar("F", bound=Callable[..., Any])


def _tolerant(fallback: Callable[..., Any]) -> Callable[[F], F]:
    """Call the wrapped method unless Redis is known to be down; on an outage error, log it,
    remember the outage for `retry_after` seconds and answer `fallback(*args, **kwargs)`."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: OutageTolerantRedisCache, *args: Any, **kwargs: Any) -> Any:
            if time.monotonic() < self._down_until:
                return fallback(*args, **kwargs)
            try:
                return method(self, *args, **kwargs)
            except OUTAGE_ERRORS as error:
                self._down_until = time.monotonic() + self.retry_after
                logger.warning(
                    "Cache unreachable (%s: %s); %s answers without it for %ss",
                    type(error).__name__,
                    error,
                    method.__name__,
                    self.retry_after,
                )
                return fallback(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _default(key: Any, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return default


def _incr_fallback(key: Any, delta: int = 1, *args: Any, **kwargs: Any) -> int:
    return delta


class OutageTolerantRedisCache(RedisCache):
    """django.core.cache.backends.redis.RedisCache that answers as a cold cache while Redis
    is unreachable. OPTIONS `RETRY_AFTER` (seconds, default 5) is how long a failure keeps
    the process from trying Redis again; the other OPTIONS go to redis-py's connection pool
    (`socket_connect_timeout` and `socket_timeout` bound how long a call can hang)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        self.retry_after = float(options.pop("RETRY_AFTER", 5))
        super().__init__(server, {**params, "OPTIONS": options})
        self._down_until = 0.0

    @_tolerant(lambda *args, **kwargs: False)
    def add(self, *args: Any, **kwargs: Any) -> bool:
        return super().add(*args, **kwargs)

    @_tolerant(_default)
    def get(self, *args: Any, **kwargs: Any) -> Any:
        return super().get(*args, **kwargs)

    @_tolerant(lambda *args, **kwargs: None)
    def set(self, *args: Any, **kwargs: Any) -> None:
        super().set(*args, **kwargs)

    @_tolerant(lambda *args, **kwargs: False)
    def touch(self, *args: Any, **kwargs: Any) -> bool:
        return super().touch(*args, **kwargs)

    @_tolerant(lambda *args, **kwargs: False)
    def delete(self, *args: Any, **kwargs: Any) -> bool:
        return super().delete(*args, **kwargs)

    @_tolerant(lambda *args, **kwargs: {})
    def get_many(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        return super().get_many(*args, **kwargs)

    @_tolerant(lambda *args, **kwargs: False)
    def has_key(self, *args: Any, **kwargs: Any) -> bool:
        return super().has_key(*args, **kwargs)

    @_tolerant(_incr_fallback)
    def incr(self, *args: Any, **kwargs: Any) -> int:
        return super().incr(*args, **kwargs)

    @_tolerant(lambda *args, **kwargs: [])
    def set_many(self, *args: Any, **kwargs: Any) -> list[Any]:
        return super().set_many(*args, **kwargs)

    @_tolerant(lambda *args, **kwargs: None)
    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        super().delete_many(*args, **kwargs)

    @_tolerant(lambda *args, **kwargs: None)
    def clear(self) -> None:
        super().clear()
