"""Tasks that belong to no domain."""

from __future__ import annotations

import redis
from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True, reject_on_worker_lost=True)
def noop(counter_key: str) -> None:
    """Do nothing but count itself: the baseline the benchmarks compare real tasks with."""
    redis.Redis.from_url(settings.REDIS_URL).incr(counter_key)


@shared_task(acks_late=True)
def events_sweep() -> int:
    """Periodic: deliver events whose dispatch after commit never happened or failed."""
    from common.events import events_redispatch

    return events_redispatch()


@shared_task(acks_late=True)
def events_prune_old() -> int:
    """Daily: forget events dispatched more than 30 days ago."""
    from common.events import events_prune

    return events_prune()


@shared_task(acks_late=True)
def idempotency_keys_prune() -> int:
    """Hourly: forget the API's idempotency keys once they are older than their retention."""
    from common.api.idempotency import idempotency_keys_prune as prune

    return prune()
