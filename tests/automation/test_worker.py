"""Automation with a real Celery worker: an event's step run by the worker, a delayed step
run once the sweep finds it due, and a step whose worker is SIGKILLed mid-action completed
exactly once by another worker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from automation.models import Step, StepState
from automation.services import steps_sweep_due
from interactions.models import Task
from stages.models import ActorKind
from stages.services import customer_move_stage
from tests.automation.slow_action import SLOW_TASK

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKER_SETTINGS = {"DJANGO_SETTINGS_MODULE": "tests.automation.worker_settings"}


def wait_for(step: Step, state: str, *, timeout: float = 20) -> Step:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        step.refresh_from_db()
        if step.state == state:
            return step
        time.sleep(0.05)
    raise AssertionError(f"step stayed {step.state} ({step.last_error})")


def move_to_purchase(customer, stages) -> None:
    customer_move_stage(customer=customer, to_stage=stages["purchase"], actor_kind=ActorKind.USER)


def test_an_event_is_run_by_the_worker(start_worker, make_rule, customer_factory, stages):
    start_worker()
    make_rule(actions=[{"type": "create_task", "params": {"title": "Say thanks"}}])
    customer = customer_factory()

    move_to_purchase(customer, stages)  # commits: the event, then the step, then its task

    step = wait_for(Step.objects.get(), StepState.DONE)
    task = Task.objects.get(customer=customer, title="Say thanks")
    assert step.result["task_id"] == task.pk
    assert step.attempts == 1


def test_a_delayed_step_is_run_by_the_sweep_once_due(
    start_worker, make_rule, customer_factory, stages
):
    worker = start_worker()
    make_rule(delay_minutes=60, actions=[{"type": "add_tag", "params": {"tag": "later"}}])
    customer = customer_factory()
    move_to_purchase(customer, stages)
    step = Step.objects.get()
    assert step.due_at > timezone.now() + timedelta(minutes=59)

    assert steps_sweep_due()["published"] == 0  # beat's sweep: not due yet
    worker.wait_idle()
    step.refresh_from_db()
    assert step.state == StepState.PENDING

    # An hour passes (the step's due time is moved back rather than the clock forward).
    Step.objects.filter(pk=step.pk).update(due_at=timezone.now() - timedelta(seconds=1))
    assert steps_sweep_due()["published"] == 1

    wait_for(step, StepState.DONE)
    customer.refresh_from_db()
    assert "later" in customer.tags


def test_a_worker_killed_mid_step_leaves_it_to_be_done_exactly_once(
    start_worker, make_rule, customer_factory, stages
):
    import tests.automation.slow_action  # noqa: F401 - the action the rule uses

    first = start_worker(**WORKER_SETTINGS)
    make_rule(actions=[{"type": SLOW_TASK, "params": {"seconds": 2, "title": "Exactly once"}}])
    customer = customer_factory()
    move_to_purchase(customer, stages)
    step = wait_for(Step.objects.get(), StepState.RUNNING)
    time.sleep(0.5)  # inside the action, which sleeps 2 s before creating the task

    first.kill()

    step.refresh_from_db()
    assert step.state == StepState.RUNNING  # claimed by the dead worker...
    assert not Task.objects.filter(title="Exactly once").exists()  # ...whose work rolled back

    second = start_worker(**WORKER_SETTINGS)
    deadline = time.monotonic() + 10
    # Beat's sweep finds the abandoned run once PostgreSQL has dropped the dead connection's
    # lock (at once, in practice); stale_after=0 instead of waiting the two minutes.
    while steps_sweep_due(stale_after=timedelta(0))["recovered"] == 0:
        assert time.monotonic() < deadline, "the abandoned step was never recovered"
        time.sleep(0.1)

    step = wait_for(step, StepState.DONE)
    assert step.attempts == 2
    assert "stopped before it finished" in step.last_error
    second.wait_idle()
    assert Task.objects.filter(title="Exactly once").count() == 1
    assert Step.objects.get(pk=step.pk).state == StepState.DONE
