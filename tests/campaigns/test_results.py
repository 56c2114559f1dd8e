"""Results and costs computed from the raw rows (docs/metrics.md, Campaigns)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.models import Recipient
from campaigns.selectors import (
    acquisition_cost_by_source,
    campaign_costs,
    campaign_results,
    retention_cost,
)
from campaigns.services import campaign_send_now, conversions_record, tracking_record
from interactions.models import Purchase
from messaging.models import MessageState, OutboundMessage
from tests.campaigns.conftest import run_send

pytestmark = pytest.mark.django_db


def _sent(campaign):
    campaign_send_now(campaign=campaign)
    run_send(campaign)
    OutboundMessage.objects.update(state=MessageState.SENT)
    campaign.refresh_from_db()
    return list(Recipient.objects.filter(campaign=campaign).order_by("pk"))


def test_counts_and_rates(draft, consenting):
    campaign = draft([consenting() for _ in range(4)])
    first, second, *_ = _sent(campaign)
    tracking_record(recipient_id=first.pk, kind="open")
    tracking_record(recipient_id=first.pk, kind="click", url="https://example.com/a")
    tracking_record(recipient_id=first.pk, kind="click", url="https://example.com/b")
    tracking_record(recipient_id=second.pk, kind="bounce")

    results = campaign_results(campaign=campaign)

    total = results.total
    assert (total.sent, total.opens, total.clicks, total.bounces) == (4, 1, 1, 1)
    assert total.delivered == 3  # no delivery reports: sent - bounced
    assert total.rates["click"] == 0.25
    [variant] = results.variants
    assert variant.interval[0] < 0.25 < variant.interval[1]


def test_an_unsubscribe_through_consent_counts_for_the_campaign(draft, consenting):
    from consent.services import unsubscribe

    customer = consenting()
    campaign = draft([customer])
    _sent(campaign)

    unsubscribe(channel="email", method="unsubscribe_link", customer=customer)

    assert campaign_results(campaign=campaign).total.unsubscribes == 1


def test_acquisition_cost_per_new_customer(draft, consenting, customer_factory):
    lead = consenting(stage="awareness")
    campaign = draft([lead], cost=Decimal("90"), utm_campaign="spring", utm_source="newsletter")
    [recipient] = _sent(campaign)
    tracking_record(recipient_id=recipient.pk, kind="open")
    conversions_record(
        payload={
            "customer_id": lead.pk,
            "direction": "forward",
            "from_stage": "awareness",
            "to_stage": "evaluation",
            "occurred_at": timezone.now().isoformat(),
        }
    )
    customer_factory(utm_campaign="Spring", utm_source="newsletter")
    customer_factory(utm_campaign="Spring", utm_source="newsletter")
    customer_factory(utm_campaign="other")

    costs = campaign_costs(campaign=campaign)

    assert costs.acquired == 3  # two by the tag, one converted out of Attract
    assert costs.acquisition_cost == Decimal("30.00")
    now = timezone.now()
    [row] = acquisition_cost_by_source(start=now - timedelta(days=1), end=now + timedelta(days=1))
    assert (row.source, row.cost, row.new_customers) == ("newsletter", Decimal("90.00"), 2)
    assert row.cost_per_customer == Decimal("45.00")


def test_retention_cost_per_retained_customer(draft, consenting):
    loyal = [consenting(stage="post_purchase") for _ in range(3)]
    campaign = draft(loyal, cost=Decimal("30"))
    _sent(campaign)
    Purchase.objects.create(
        customer=loyal[0], amount=Decimal("20"), currency="EUR", occurred_at=timezone.now()
    )

    costs = campaign_costs(campaign=campaign)

    assert costs.is_retention
    assert costs.retained == 1
    assert costs.retention_cost == Decimal("30.00")
    now = timezone.now()
    [row] = retention_cost(start=now - timedelta(days=1), end=now + timedelta(days=1))
    assert (row.cost, row.retained) == (Decimal("30.00"), 1)


def test_the_dashboard_forms_render(client: Client, marketer, draft):
    client.force_login(marketer)
    campaign = draft()

    assert client.get("/campaigns/new/").status_code == 200
    assert client.get(f"/campaigns/{campaign.pk}/edit/").status_code == 200
    campaign_send_now(campaign=campaign)
    assert client.get(f"/campaigns/{campaign.pk}/edit/").status_code == 302
