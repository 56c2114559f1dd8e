"""Celery tasks for automation: thin wrappers that load a step by id and call a service.

`step_run` is acknowledged only after it ran and is handed to another worker if its
worker dies (acks_late, reject_on_worker_lost); whatever Celery does, the step's row decides
whether anything happens (automation.services.step_execute). Beat runs the two sweeps.
"""

from __future__ import annotations

from celery import shared_task
from celery.app.task import Task

from automation.services import step_execute, steps_create_for_idle, steps_sweep_due


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def step_run(self: Task, step_id: int) -> str | None:
    """Run one automation step. A transient failure is recorded on the step with its backoff
    (failed after the last attempt); a short backoff is also scheduled here as a retry."""
    outcome = step_execute(step_id=step_id)
    if outcome.retry_in is not None:
        # max_retries=None: the step's attempts in PostgreSQL decide when to give up.
        raise self.retry(countdown=outcome.retry_in, max_retries=None)
    return outcome.state


@shared_task(acks_late=True)
def steps_sweep() -> dict[str, int]:
    """Periodic (every 30 s): run again steps abandoned by dead workers; publish due steps."""
    return steps_sweep_due()


@shared_task(acks_late=True)
def idle_sweep() -> int:
    """Periodic (hourly): schedule the "idle N days in a stage" rules."""
    return steps_create_for_idle()
