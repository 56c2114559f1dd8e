"""Domain events: recorded with the change, delivered to subscribers after the commit.

Services call `event_emit` for each state change; subscribers (automation, webhooks,
analytics) register with `@subscribe("event.name")` in their AppConfig.ready. The event is
a row written in the caller's transaction: a rolled-back transaction emits nothing, and a
committed one is delivered even if the process dies right after the commit — the periodic
`events_redispatch` sweep picks up what was never marked dispatched. Subscribers must
therefore be idempotent for the same event.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(event: str) -> Callable[[Handler], Handler]:
    """Register the decorated function for `event` (idempotent for the same function)."""

    def register(handler: Handler) -> Handler:
        if handler not in _handlers[event]:
            _handlers[event].append(handler)
        return handler

    return register


def unsubscribe(event: str, handler: Handler) -> None:
    if handler in _handlers[event]:
        _handlers[event].remove(handler)


def event_emit(event: str, payload: dict[str, Any]) -> None:
    """Record `event` now and deliver it to its subscribers once the transaction commits."""
    from common.models import Event

    recorded = Event.objects.create(name=event, payload=payload)
    transaction.on_commit(lambda: _dispatch(recorded.pk, event, payload))


def _dispatch(event_id: int, event: str, payload: dict[str, Any]) -> bool:
    """Run every subscriber; mark the event dispatched only if all of them succeeded."""
    from common.models import Event

    ok = True
    for handler in list(_handlers[event]):
        try:
            # Each subscriber in its own transaction (or savepoint): all of its work or none.
            with transaction.atomic():
                handler(event, payload)
        except Exception:
            # One failing subscriber must not stop the others; the sweep will try again.
            ok = False
            logger.exception("Event subscriber %r failed for %s #%s", handler, event, event_id)
    Event.objects.filter(pk=event_id).update(
        attempts=F("attempts") + 1, dispatched_at=timezone.now() if ok else None
    )
    return ok


def events_redispatch(*, older_than: timedelta = timedelta(minutes=2), limit: int = 1000) -> int:
    """Deliver again the events committed but never marked dispatched; returns how many."""
    from common.models import Event

    cutoff = timezone.now() - older_than
    delivered = 0
    with transaction.atomic():
        pending = list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True, created_at__lt=cutoff)
            .order_by("id")[:limit]
        )
        for event in pending:
            delivered += _dispatch(event.pk, event.name, event.payload)
    return delivered


def events_prune(*, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete dispatched events older than `older_than` (the table is a queue, not a log)."""
    from common.models import Event

    cutoff = timezone.now() - older_than
    deleted, _ = Event.objects.filter(dispatched_at__lt=cutoff).delete()
    return deleted
