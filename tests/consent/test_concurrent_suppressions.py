"""Eight simultaneous suppressions of one address: one row, one 201."""

from __future__ import annotations

import pytest
from django.urls import reverse

from consent.models import Suppression
from tests.concurrent_posts import THREADS, post_at_once


@pytest.mark.django_db(transaction=True)
def test_only_the_request_that_suppressed_the_address_says_created(api_as, admin_user):
    body = {"channel": "email", "address": "Gone@Example.com", "reason": "manual"}

    codes = post_at_once(lambda: api_as(admin_user), reverse("api:suppression-list"), body)

    assert codes == [200] * (THREADS - 1) + [201]
    assert Suppression.objects.filter(address="gone@example.com").count() == 1
