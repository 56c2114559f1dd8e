"""Fixing a send's audience: the ids are copied inside the database, whatever their number,
and walked in id order past customers deleted since."""

from __future__ import annotations

import pytest

from customers.models import Customer
from customers.services import customer_delete
from segments.selectors import audience_chunk
from segments.services import audience_freeze

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("count", [3, 60])
def test_freezing_costs_the_same_few_queries_for_any_number_of_customers(
    customer_factory, django_assert_num_queries, count
):
    for _ in range(count):
        customer_factory(tags=["vip"])
    customer_factory()

    # The snapshot row, INSERT … SELECT, the total (and the savepoint around them).
    with django_assert_num_queries(5):
        snapshot = audience_freeze(customers=Customer.objects.filter(tags__contains=["vip"]))

    assert snapshot.total == count


def test_the_walk_goes_in_id_order_and_passes_over_customers_deleted_since(customer_factory):
    customers = [customer_factory() for _ in range(5)]
    ids = [c.pk for c in customers]
    snapshot = audience_freeze(customers=Customer.objects.all())
    customer_delete(customer=customers[1])
    customer_delete(customer=customers[2])

    first = audience_chunk(snapshot_id=snapshot.pk, after=0, size=3)
    assert first is not None
    second = audience_chunk(snapshot_id=snapshot.pk, after=first.last_id, size=3)
    assert second is not None

    assert (first.customer_ids, first.walked, first.last_id) == ([ids[0]], 3, ids[2])
    assert (second.customer_ids, second.walked, second.last_id) == (ids[3:], 2, ids[4])
    assert audience_chunk(snapshot_id=snapshot.pk, after=second.last_id, size=3) is None
