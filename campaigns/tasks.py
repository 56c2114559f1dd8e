"""Celery tasks for campaigns: thin wrappers that load by id and call a service."""

from __future__ import annotations

from celery import shared_task
from celery.app.task import Task
from django.conf import settings

from campaigns.services import (
    campaign_enqueue,
    campaign_fail,
    campaign_send_run,
    campaigns_resume_stalled,
    campaigns_start_due,
)
from messaging.tasks import backoff_with_jitter


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def campaign_send_chunk(self: Task, campaign_id: int) -> None:
    """Send a campaign's chunks for a while, then hand the rest to a fresh task, delayed as
    long as the campaign's send rate requires.

    Each chunk commits on its own, so a retry (or a second delivery of this task after a
    worker died) resumes after the last committed chunk. After the last retry the campaign is
    paused with the error, visibly, and can be resumed.
    """
    try:
        result = campaign_send_run(campaign_id=campaign_id)
    except Exception as error:
        if self.request.retries >= settings.FLYWHEEL_SEND_MAX_RETRIES:
            campaign_fail(campaign_id=campaign_id, error=f"{type(error).__name__}: {error}")
            return
        raise self.retry(
            countdown=backoff_with_jitter(self.request.retries),
            max_retries=settings.FLYWHEEL_SEND_MAX_RETRIES,
        ) from error
    if result.more:
        # Outside a transaction: published at once, with the rate's countdown.
        campaign_enqueue(campaign_id=campaign_id, countdown=result.wait_seconds)


@shared_task(acks_late=True)
def campaigns_start_scheduled() -> int:
    """Periodic (every minute): start the scheduled campaigns whose time has come."""
    return campaigns_start_due()


@shared_task(acks_late=True)
def campaigns_resume_stalled_sweep() -> int:
    """Periodic: re-publish sending campaigns whose task was lost."""
    return campaigns_resume_stalled()
