"""Eight simultaneous purchases with one (source, external_id): one record, one 201."""

from __future__ import annotations

import pytest
from django.urls import reverse

from interactions.models import Purchase
from tests.concurrent_posts import THREADS, post_at_once


@pytest.mark.django_db(transaction=True)
def test_only_the_request_that_recorded_the_order_says_created(api_as, sales_rep, customer_factory):
    customer = customer_factory()
    body = {"customer": customer.pk, "amount": "25.00", "currency": "USD", "external_id": "A-7"}

    codes = post_at_once(lambda: api_as(sales_rep), reverse("api:purchase-list"), body)

    assert codes == [200] * (THREADS - 1) + [201]
    assert Purchase.objects.filter(customer=customer).count() == 1
