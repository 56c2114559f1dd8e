"""Celery tasks of the analytics app: a thin interface to its services."""

from __future__ import annotations

from celery import shared_task

from analytics.services import rollups_fold


@shared_task
def rollups_fold_sweep() -> int:
    """Fold the deltas the triggers appended since the last sweep (Celery beat, every minute)."""
    return rollups_fold()
