"""Reads for interactions, tasks and purchases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from interactions.models import Interaction, Purchase, Task, TaskState

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def interaction_queryset() -> QuerySet[Interaction]:
    return Interaction.objects.select_related("customer", "logged_by")


def task_queryset() -> QuerySet[Task]:
    return Task.objects.select_related("customer", "customer__stage", "assignee", "created_by")


def purchase_queryset() -> QuerySet[Purchase]:
    return Purchase.objects.select_related("customer", "recorded_by")


@dataclass(frozen=True)
class CurrencyValue:
    """A customer's purchases in one currency: never added to another currency's."""

    currency: str
    total: Decimal
    count: int

    @property
    def average(self) -> Decimal:
        return (self.total / self.count).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class CustomerValue:
    """Lifetime value, purchase count and average order value, per currency."""

    by_currency: list[CurrencyValue]

    @property
    def purchase_count(self) -> int:
        return sum(value.count for value in self.by_currency)


def customer_value(*, customer_id: int) -> CustomerValue:
    """Lifetime value per currency, largest first (docs/metrics.md, "Lifetime value")."""
    rows = (
        Purchase.objects.filter(customer_id=customer_id)
        .values("currency")
        .annotate(total=Sum("amount"), count=Count("id"))
        .order_by("-total", "currency")
    )
    return CustomerValue(
        by_currency=[
            CurrencyValue(currency=row["currency"], total=row["total"], count=row["count"])
            for row in rows
        ]
    )


@dataclass(frozen=True)
class TaskBuckets:
    """A user's open tasks: overdue, due today (in the site's time zone), and later."""

    overdue: list[Task]
    today: list[Task]
    upcoming: list[Task]


def task_buckets_for_user(
    *, user: User, now: datetime | None = None, upcoming_limit: int = 100
) -> TaskBuckets:
    """The "My tasks" page: open tasks assigned to `user`, by when they are due."""
    now = now or timezone.now()
    local_now = timezone.localtime(now)
    end_of_today = (local_now + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    open_tasks = (
        task_queryset().filter(assignee=user, state=TaskState.OPEN).order_by("due_at", "id")
    )
    return TaskBuckets(
        overdue=list(open_tasks.filter(due_at__lt=now)),
        today=list(open_tasks.filter(due_at__gte=now, due_at__lt=end_of_today)),
        upcoming=list(open_tasks.filter(due_at__gte=end_of_today)[:upcoming_limit]),
    )


def task_is_overdue(task: Task, *, now: datetime | None = None) -> bool:
    """Open and past its due time: friction (docs/metrics.md, "Overdue follow-ups")."""
    return task.state == TaskState.OPEN and task.due_at < (now or timezone.now())


def overdue_count_for_user(*, user: User, now: datetime | None = None) -> int:
    """How many of the user's open tasks are past due (the navigation's badge)."""
    return Task.objects.filter(
        assignee=user, state=TaskState.OPEN, due_at__lt=now or timezone.now()
    ).count()
