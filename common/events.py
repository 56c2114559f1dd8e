"""A small in-process event bus whose events are delivered only after the transaction commits.

Services call `event_emit` for each state change; subscribers (automation, webhooks,
analytics rollups) register with `@subscribe("event.name")` in their AppConfig.ready and
typically enqueue a Celery task. A rolled-back transaction emits nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

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
    """Deliver `event` to its subscribers once the current transaction commits."""
    transaction.on_commit(lambda: _dispatch(event, payload))


def _dispatch(event: str, payload: dict[str, Any]) -> None:
    for handler in list(_handlers[event]):
        try:
            handler(event, payload)
        except Exception:
            # One failing subscriber must not stop the others; the failure is logged loudly.
            logger.exception("Event subscriber %r failed for %s", handler, event)
