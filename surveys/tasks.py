"""Celery tasks for surveys: thin wrappers that load by id and call a service."""

from __future__ import annotations

from celery import shared_task
from celery.app.task import Task
from django.conf import settings

from messaging.tasks import backoff_with_jitter
from surveys.services import (
    invitations_expire,
    survey_batch_enqueue,
    survey_batch_fail,
    survey_batch_run,
    survey_batches_resume,
)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def survey_batch_process(self: Task, batch_id: int) -> None:
    """Work on a bulk send for a while, then hand what is left to a fresh task.

    Each chunk commits on its own, so a retry (or a second delivery of this task after a
    worker died) resumes after the last committed chunk. An error is retried with backoff;
    after the last retry the batch is marked failed with the error, visibly.
    """
    try:
        batch = survey_batch_run(batch_id=batch_id)
    except Exception as error:
        if self.request.retries >= settings.FLYWHEEL_SEND_MAX_RETRIES:
            survey_batch_fail(batch_id=batch_id, error=f"{type(error).__name__}: {error}")
            return
        raise self.retry(
            countdown=backoff_with_jitter(self.request.retries),
            max_retries=settings.FLYWHEEL_SEND_MAX_RETRIES,
        ) from error
    if batch is not None and batch.is_running:
        survey_batch_enqueue(batch_id=batch_id)  # outside a transaction: published at once


@shared_task(acks_late=True)
def survey_batches_sweep() -> int:
    """Periodic: re-publish bulk sends that stopped moving (see survey_batches_resume)."""
    return survey_batches_resume()


@shared_task(acks_late=True)
def survey_invitations_expire() -> int:
    """Periodic: mark unanswered invitations past their expiry as expired."""
    return invitations_expire()
