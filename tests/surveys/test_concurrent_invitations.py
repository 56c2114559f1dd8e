"""Eight simultaneous invitations with one `idempotency_key`: one invitation, one 201."""

from __future__ import annotations

import pytest
from django.urls import reverse

from messaging.models import OutboundMessage
from surveys.models import Invitation
from tests.concurrent_posts import THREADS, post_at_once


@pytest.mark.django_db(transaction=True)
def test_only_the_request_that_made_the_invitation_says_created(
    api_as, support, surveys, customer_factory
):
    customer = customer_factory()
    url = reverse("api:survey-invitations", args=[surveys["csat"].pk])

    codes = post_at_once(
        lambda: api_as(support), url, {"customer": customer.pk, "idempotency_key": "ticket-9"}
    )

    assert codes == [200] * (THREADS - 1) + [201]
    assert Invitation.objects.filter(customer=customer).count() == 1
    assert OutboundMessage.objects.count() <= 1
