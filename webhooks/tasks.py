"""Celery tasks for webhooks: thin wrappers that load by id and call a service."""

from __future__ import annotations

from celery import shared_task
from celery.app.task import Task
from django.conf import settings

from messaging.tasks import backoff_with_jitter
from webhooks.services import DeliveryRetryError, deliveries_requeue_stale, delivery_attempt


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def delivery_send(self: Task, delivery_id: int) -> None:
    """Send one delivery; retry failures with backoff, the last one marks it failed.

    The retry count is this task's (a Retry in the dashboard starts a fresh round). The
    delivery's `next_attempt_at` is set to the same moment as the retry, so that a second
    task for it (from the sweep) does not send it early.
    """
    retries = self.request.retries
    last = retries >= settings.FLYWHEEL_WEBHOOK_MAX_RETRIES
    retry_in = None if last else backoff_with_jitter(retries)
    try:
        delivery_attempt(delivery_id=delivery_id, retry_in=retry_in)
    except DeliveryRetryError as error:
        raise self.retry(countdown=error.retry_in, max_retries=retries + 1) from error


@shared_task(acks_late=True)
def deliveries_sweep() -> int:
    """Periodic: re-publish pending deliveries whose task was lost (deliveries_requeue_stale)."""
    return deliveries_requeue_stale()
