"""What every dashboard page's navigation shows about tasks."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from interactions.selectors import overdue_count_for_user


def overdue_task_count(request: HttpRequest) -> dict[str, Any]:
    """The navigation's "My tasks (N overdue)"."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm("interactions.view_task"):
        return {}
    return {"overdue_task_count": overdue_count_for_user(user=user)}
