"""The merged timeline: every record once, newest first, pages that neither overlap nor skip."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from common.exceptions import ApplicationError
from customers.timeline import customer_timeline
from interactions.models import Interaction, Purchase, Task
from stages.models import StageTransition

pytestmark = pytest.mark.django_db


def _fill(customer, user, *, n: int, same_time: bool = False):
    base = timezone.now() - timedelta(days=10)
    at = (lambda i: base) if same_time else (lambda i: base + timedelta(minutes=i))
    Interaction.objects.bulk_create(
        Interaction(
            customer=customer, kind="call", summary=f"call {i}", occurred_at=at(i),
            effect="neutral", weight=0, logged_by=user,
        )
        for i in range(n)
    )  # fmt: skip
    Purchase.objects.bulk_create(
        Purchase(customer=customer, amount=Decimal(i + 1), currency="EUR", occurred_at=at(i))
        for i in range(n)
    )
    tasks = Task.objects.bulk_create(
        Task(customer=customer, title=f"task {i}", due_at=at(i), assignee=user) for i in range(n)
    )
    Task.objects.filter(pk__in=[t.pk for t in tasks]).update(created_at=at(0))


def _walk(customer_id: int, limit: int):
    entries, cursor = [], None
    while True:
        page = customer_timeline(customer_id=customer_id, cursor=cursor, limit=limit)
        entries += page.entries
        cursor = page.next_cursor
        if cursor is None:
            return entries


@pytest.mark.parametrize("same_time", [False, True])
def test_walking_every_page_returns_every_record_once_newest_first(
    customer_factory, sales_rep, same_time
):
    customer = customer_factory()
    _fill(customer, sales_rep, n=40, same_time=same_time)

    entries = _walk(customer.pk, limit=7)

    keys = [(e.kind, e.id) for e in entries]
    assert len(keys) == len(set(keys)) == 40 * 3 + 1  # plus the entry transition
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    assert {e.kind for e in entries} == {"interaction", "purchase", "task", "transition"}
    assert all(e.record is not None and e.record.pk == e.id for e in entries)


def test_kinds_narrow_the_timeline(customer_factory, sales_rep):
    customer = customer_factory()
    _fill(customer, sales_rep, n=3)

    page = customer_timeline(customer_id=customer.pk, kinds=["purchase"])

    assert {e.kind for e in page.entries} == {"purchase"}
    assert len(page.entries) == 3


def test_a_long_history_costs_the_same_queries_as_a_short_one(
    customer_factory, sales_rep, django_assert_max_num_queries
):
    short, long = customer_factory(), customer_factory()
    _fill(short, sales_rep, n=3)
    _fill(long, sales_rep, n=1000)

    with django_assert_max_num_queries(5):
        customer_timeline(customer_id=short.pk, limit=50)
    with django_assert_max_num_queries(5):
        page = customer_timeline(customer_id=long.pk, limit=50)

    assert len(page.entries) == 50
    assert StageTransition.objects.filter(customer=long).count() == 1


def test_a_forged_cursor_is_a_clear_error(customer_factory):
    customer = customer_factory()

    with pytest.raises(ApplicationError) as error:
        customer_timeline(customer_id=customer.pk, cursor="not-a-cursor!!")

    assert error.value.field == "cursor"
