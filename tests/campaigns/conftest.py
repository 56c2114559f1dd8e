"""Helpers for the campaign tests: customers with consent, a draft, running a send inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from campaigns.models import Campaign
from campaigns.services import campaign_create, campaign_send_step
from customers.models import Customer

EMAIL_VARIANT = {
    "name": "A",
    "split": 100,
    "subject": "Hello {{ first_name }}",
    "body_text": 'Hi {{ first_name|default:"there" }}',
    "body_html": '<p>Hi {{ first_name }}</p><p><a href="https://example.com/offer?x=1&amp;y=2">'
    'Offer</a> <a href="mailto:help@example.com">Mail us</a></p>',
}


@pytest.fixture(autouse=True)
def _no_publishing(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Unit tests run the send steps inline: nothing is published to a broker (the
    real-worker tests keep publishing)."""
    if "start_worker" in request.fixturenames:
        return
    monkeypatch.setattr("campaigns.services.campaign_enqueue", lambda **kwargs: None)
    monkeypatch.setattr("campaigns.services.message_enqueue", lambda **kwargs: None)


@pytest.fixture
def consenting(customer_factory: Any) -> Callable[..., Customer]:
    def make(**kwargs: Any) -> Customer:
        kwargs.setdefault("email_consent", True)
        return customer_factory(**kwargs)

    return make


@pytest.fixture
def draft(consenting: Callable[..., Customer]) -> Callable[..., Campaign]:
    def make(
        customers: list[Customer] | None = None,
        variants: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> Campaign:
        customers = customers if customers is not None else [consenting() for _ in range(3)]
        return campaign_create(
            name=fields.pop("name", "Spring"),
            customer_ids=[c.pk for c in customers],
            variants=variants or [EMAIL_VARIANT],
            **fields,
        )

    return make


def run_send(campaign: Campaign, *, chunk_size: int = 500, limit: int = 1000) -> Campaign:
    """Run the chunks inline, ignoring the rate's wait (tests check it separately)."""
    for _ in range(limit):
        Campaign.objects.filter(pk=campaign.pk).update(next_chunk_at=None)
        result = campaign_send_step(campaign_id=campaign.pk, chunk_size=chunk_size)
        if not result.more:
            break
    campaign.refresh_from_db()
    return campaign
