"""Publishing Celery tasks after the commit, when the broker may be unreachable.

Every service hands its tasks to the workers through `enqueue`: the tasks are published once
the current transaction commits, and a publish that fails (Redis down, or not answering in
time) never turns the committed write into an error. The work is in the database already;
the tasks that could not be published are written to `UnpublishedTask`, and the
`unpublished_publish` sweep (Celery beat, every 30 seconds) publishes them as soon as the
broker answers again. The request learns of it through `publish_delayed()`, so that the
dashboard and the API can say that sending is delayed (common/middleware.py).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from celery import current_app
from celery.app.task import Task
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from common.models import UnpublishedTask

logger = logging.getLogger(__name__)

# What a broker that is down or does not answer raises from apply_async.
BROKER_ERRORS = (OperationalError, RedisConnectionError, RedisTimeoutError, OSError)

DELAYED_MESSAGE = (
    "Saved; sending is delayed while the queue is unreachable; it will go out automatically."
)


class _Delayed:
    """Whether a publish failed during the current request (see common/middleware.py)."""

    def __init__(self) -> None:
        self.delayed = False


_current: contextvars.ContextVar[_Delayed | None] = contextvars.ContextVar(
    "publish_delayed", default=None
)


def publish_tracking_start() -> _Delayed:
    """Start noting failed publishes for the current request; returns the note."""
    note = _Delayed()
    _current.set(note)
    return note


def publish_delayed() -> bool:
    """Whether a task of the current request could not be published (it will be later)."""
    note = _current.get()
    return note is not None and note.delayed


def enqueue(task: Task, *calls: Sequence[Any], countdown: float = 0) -> None:
    """Publish `task` once per argument tuple in `calls` when the transaction commits.

    Outside a transaction they are published at once. If the broker is unreachable, the
    unpublished calls are recorded and published later by the sweep; nothing is raised.
    """
    if not calls:
        return
    arguments = [list(call) for call in calls]
    transaction.on_commit(lambda: _publish(task, arguments, countdown=countdown))


def _publish(task: Task, calls: list[list[Any]], *, countdown: float) -> None:
    for index, args in enumerate(calls):
        try:
            if countdown > 0:
                task.apply_async(args, countdown=countdown)
            else:
                task.delay(*args)
        except BROKER_ERRORS as error:
            # The broker is down: the rest would fail the same way, each after its own
            # timeout. Keep them all for the sweep, and let the request finish.
            _record_unpublished(task.name, calls[index:], countdown=countdown, error=error)
            return


def _record_unpublished(
    name: str, calls: Iterable[list[Any]], *, countdown: float, error: Exception
) -> None:
    rows = [
        UnpublishedTask(
            task=name,
            args=args,
            not_before=timezone.now() + timedelta(seconds=countdown),
            error=f"{type(error).__name__}: {error}"[:2000],
        )
        for args in calls
    ]
    UnpublishedTask.objects.bulk_create(rows)
    note = _current.get()
    if note is not None:
        note.delayed = True
    logger.warning(
        "Broker unreachable (%s: %s): %d %s task(s) kept to publish later",
        type(error).__name__,
        error,
        len(rows),
        name,
    )


def unpublished_publish(*, limit: int = 1000) -> int:
    """Publish the tasks whose publish failed, oldest first; returns how many went out.

    Stops at the first failure (the broker is still down). Rows are locked while they are
    published, so two sweeps never publish the same task twice.
    """
    published = 0
    with transaction.atomic():
        due = list(
            UnpublishedTask.objects.select_for_update(skip_locked=True)
            .filter(not_before__lte=timezone.now())
            .order_by("id")[:limit]
        )
        for row in due:
            try:
                current_app.send_task(row.task, args=row.args)
            except BROKER_ERRORS as error:
                logger.warning("Broker still unreachable (%s); %s waits", error, row)
                break
            row.delete()
            published += 1
    return published
