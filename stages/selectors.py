"""Reads for stages and their history."""

from __future__ import annotations

from django.db.models import QuerySet

from stages.models import Stage, StageTransition


def stage_list(*, include_archived: bool = True) -> QuerySet[Stage]:
    """Stages in wheel order (position), optionally without the archived ones."""
    stages = Stage.objects.order_by("position", "id")
    if not include_archived:
        stages = stages.filter(is_archived=False)
    return stages


def transition_list(*, customer_id: int) -> QuerySet[StageTransition]:
    """A customer's history, oldest first."""
    return (
        StageTransition.objects.filter(customer_id=customer_id)
        .select_related("from_stage", "to_stage", "actor_user")
        .order_by("occurred_at", "id")
    )
