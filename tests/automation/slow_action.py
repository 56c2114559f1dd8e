"""A test-only action: sleep, then create a task. It gives a test the time to kill the worker
in the middle of a step. Registered by importing this module: the tests import it, and the
worker they start imports it through worker_settings (CELERY_IMPORTS)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from automation.actions import ActionContext, ActionSpec, action_register

SLOW_TASK = "test_slow_task"


def _validate(params: dict[str, Any], field: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    seconds, title = params.get("seconds"), params.get("title")
    errors: dict[str, list[str]] = {}
    if not isinstance(seconds, int | float) or not 0 <= seconds <= 30:
        errors[f"{field}.seconds"] = ["Give seconds from 0 to 30."]
    if not isinstance(title, str) or not title:
        errors[f"{field}.title"] = ["Give a title."]
    return {"seconds": seconds, "title": title}, errors


def _run(context: ActionContext) -> dict[str, Any]:
    from interactions.services import task_create

    time.sleep(context.step.params["seconds"])
    task = task_create(
        customer=context.customer,
        title=context.step.params["title"],
        due_at=context.now + timedelta(days=1),
        assignee=None,
        created_by_kind="automation",
    )
    return {"task_id": task.pk, "summary": f"Slept, then created task #{task.pk}"}


action_register(
    ActionSpec(
        type=SLOW_TASK,
        label="(test) Sleep, then create a task",
        validate=_validate,
        run=_run,
        describe=lambda params: f"Sleep {params.get('seconds')} s, then create a task",
    )
)
