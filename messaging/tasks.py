"""Celery tasks for messages: thin wrappers that load by id and call a service."""

from __future__ import annotations

import random

from celery import shared_task
from celery.app.task import Task
from django.conf import settings

from messaging.services import (
    DeliveryError,
    message_deliver,
    message_mark_failed,
    messages_requeue_stale,
)

BACKOFF_MAX_SECONDS = 30 * 60


def backoff_with_jitter(retries: int) -> float:
    """Exponential backoff (base, then doubling, at most 30 min), jittered by half.

    The base is FLYWHEEL_RETRY_BACKOFF_SECONDS (10 s by default).
    """
    ceiling = min(BACKOFF_MAX_SECONDS, settings.FLYWHEEL_RETRY_BACKOFF_SECONDS * 2**retries)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def message_send(self: Task, message_id: int) -> None:
    """Send one outbox message; retry provider failures, then mark the message failed."""
    try:
        message_deliver(message_id=message_id)
    except DeliveryError as error:
        if self.request.retries >= settings.FLYWHEEL_SEND_MAX_RETRIES:
            message_mark_failed(message_id=message_id, error=str(error))
            return
        raise self.retry(
            countdown=backoff_with_jitter(self.request.retries),
            max_retries=settings.FLYWHEEL_SEND_MAX_RETRIES,
        ) from error


@shared_task(acks_late=True, reject_on_worker_lost=True)
def message_send_chunk(message_ids: list[int]) -> None:
    """Send a chunk of a bulk send; a message that fails goes on to its own retried task.

    If the worker dies mid-chunk, the chunk is delivered again and the messages already
    sent are skipped (their state is `sent`).
    """
    for message_id in message_ids:
        try:
            message_deliver(message_id=message_id)
        except DeliveryError:
            message_send.apply_async((message_id,), countdown=backoff_with_jitter(0), retries=1)


@shared_task(acks_late=True)
def messages_sweep() -> int:
    """Periodic: re-publish messages left queued (see messages_requeue_stale)."""
    return messages_requeue_stale()
