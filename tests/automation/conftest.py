"""Fixtures for the automation tests: rules, running steps in-process, published tasks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.utils import timezone

from automation.models import Rule, Step, StepState
from automation.services import rule_create, step_execute


@pytest.fixture(autouse=True)
def published(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The step ids handed to the workers. In-process tests keep them here instead of
    publishing them to Redis; tests with a real worker (marked slow) publish for real."""
    sent: list[int] = []
    if request.node.get_closest_marker("slow") is None:
        from automation import tasks

        monkeypatch.setattr(tasks.step_run, "delay", lambda step_id: sent.append(step_id))
    return sent


@pytest.fixture
def make_rule(db: None) -> Callable[..., Rule]:
    """A rule through the service: `make_rule(actions=[...], trigger_type=..., ...)`."""

    def make(**kwargs: Any) -> Rule:
        kwargs.setdefault("name", "Rule")
        kwargs.setdefault("trigger_type", "stage_entered")
        kwargs.setdefault("trigger_config", {"stage": "purchase"})
        kwargs.setdefault("actions", [{"type": "add_tag", "params": {"tag": "buyer"}}])
        return rule_create(**kwargs)

    return make


@pytest.fixture
def emit(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run a service and deliver the events it emits (and what they schedule) as a commit
    would: `emit(customer_move_stage, customer=..., ...)`."""

    def run(function: Callable[..., Any], **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return function(**kwargs)

    return run


def run_steps(*, now: datetime | None = None, limit: int = 100) -> list[Step]:
    """Run every ready, due, pending step in-process (the next action of a rule becomes
    ready when the one before it is done), as workers would; return them."""
    now = now or timezone.now()
    ran: list[Step] = []
    for _ in range(limit):
        ready = [
            step
            for step in Step.objects.filter(state=StepState.PENDING, due_at__lte=now).order_by("pk")
            if step.action_index == 0
            or Step.objects.filter(
                rule_id=step.rule_id,
                customer_id=step.customer_id,
                event_key=step.event_key,
                action_index=step.action_index - 1,
                state=StepState.DONE,
            ).exists()
        ]
        if not ready:
            break
        for step in ready:
            step_execute(step_id=step.pk, now=now)
            step.refresh_from_db()
            ran.append(step)
    return ran


@pytest.fixture
def run() -> Callable[..., list[Step]]:
    """`run(now=...)`: run the ready, due steps in-process (see run_steps)."""
    return run_steps
