"""The audience of a campaign is fixed when it starts: a send goes to exactly the customers
the segment held then, however the segment changes while the chunks go out.

Customers who join the segment later are not sent to; those who leave it still are (they
were confirmed), unless consent or their record is gone by the time their chunk is sent.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CampaignState, Recipient, RecipientState
from campaigns.services import (
    campaign_create,
    campaign_schedule,
    campaign_send_now,
    campaign_send_step,
    campaigns_start_due,
)
from consent.services import consent_record
from customers.models import Customer
from customers.services import customer_delete
from messaging.models import OutboundMessage
from segments.models import Segment
from segments.services import segment_create, segment_members_add, segment_members_remove
from tests.campaigns.conftest import EMAIL_VARIANT, run_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def pilots() -> Segment:
    return segment_create(name="Pilots", kind="static")


def step(campaign: Campaign, chunk_size: int) -> Campaign:
    """One chunk, the rate's wait set aside."""
    Campaign.objects.filter(pk=campaign.pk).update(next_chunk_at=None)
    result = campaign_send_step(campaign_id=campaign.pk, chunk_size=chunk_size)
    assert result.campaign is not None
    return result.campaign


def recipients(campaign: Campaign) -> set[int]:
    return set(Recipient.objects.filter(campaign=campaign).values_list("customer_id", flat=True))


def test_a_campaign_reaches_exactly_the_customers_it_was_confirmed_for(consenting, pilots):
    confirmed = [consenting() for _ in range(6)]
    joiners = [consenting() for _ in range(3)]  # existing customers, added to the list later
    segment_members_add(segment=pilots, customer_ids=[c.pk for c in confirmed])
    campaign = campaign_create(name="Spring", segment=pilots, variants=[EMAIL_VARIANT])

    campaign = campaign_send_now(campaign=campaign)
    assert campaign.total == 6
    campaign = step(campaign, 2)
    # Between chunks: three join the list, two of those not yet sent to leave it.
    segment_members_add(segment=pilots, customer_ids=[c.pk for c in joiners])
    segment_members_remove(segment=pilots, customer_ids=[c.pk for c in confirmed[-2:]])
    campaign = step(campaign, 2)
    segment_members_add(segment=pilots, customer_ids=[consenting().pk])  # a new customer too
    campaign = run_send(campaign, chunk_size=2)

    assert campaign.state == CampaignState.SENT
    assert recipients(campaign) == {c.pk for c in confirmed}
    assert OutboundMessage.objects.count() == 6
    assert (campaign.total, campaign.processed, campaign.skipped) == (6, 6, 0)


def test_consent_withdrawn_or_a_customer_deleted_after_confirmation_is_still_respected(
    consenting, pilots
):
    confirmed = [consenting() for _ in range(5)]
    segment_members_add(segment=pilots, customer_ids=[c.pk for c in confirmed])
    campaign = campaign_send_now(
        campaign=campaign_create(name="Spring", segment=pilots, variants=[EMAIL_VARIANT])
    )
    campaign = step(campaign, 2)

    withdrawn, deleted = confirmed[2], confirmed[3]
    consent_record(customer=withdrawn, channel="email", granted=False, method="unsubscribe_link")
    customer_delete(customer=deleted)
    campaign = run_send(campaign, chunk_size=2)

    assert recipients(campaign) == {c.pk for c in confirmed} - {deleted.pk}
    assert Recipient.objects.get(customer=withdrawn).state == RecipientState.SKIPPED
    assert OutboundMessage.objects.count() == 3
    assert (campaign.total, campaign.processed, campaign.skipped) == (5, 5, 1)


def test_a_scheduled_campaign_fixes_its_audience_when_it_starts(consenting, pilots):
    first = [consenting() for _ in range(2)]
    before_start, after_start = consenting(), consenting()
    segment_members_add(segment=pilots, customer_ids=[c.pk for c in first])
    campaign = campaign_create(name="Later", segment=pilots, variants=[EMAIL_VARIANT])
    campaign_schedule(campaign=campaign, at=timezone.now() + timedelta(minutes=5))
    segment_members_add(segment=pilots, customer_ids=[before_start.pk])

    assert campaigns_start_due(now=timezone.now() + timedelta(minutes=6)) == 1
    campaign.refresh_from_db()
    assert campaign.total == 3
    segment_members_add(segment=pilots, customer_ids=[after_start.pk])
    campaign = run_send(campaign, chunk_size=1)

    assert recipients(campaign) == {c.pk for c in [*first, before_start]}


def test_a_crash_mid_chunk_then_resume_sends_each_confirmed_customer_exactly_once(
    consenting, pilots, monkeypatch
):
    confirmed = [consenting() for _ in range(7)]
    late = [consenting() for _ in range(2)]
    segment_members_add(segment=pilots, customer_ids=[c.pk for c in confirmed])
    campaign = campaign_send_now(
        campaign=campaign_create(name="Spring", segment=pilots, variants=[EMAIL_VARIANT])
    )
    campaign = step(campaign, 3)

    def crash(**kwargs: object) -> None:  # the worker dies once the chunk's messages exist
        raise SystemExit("worker killed")

    monkeypatch.setattr(services, "message_enqueue", crash)
    with pytest.raises(SystemExit):
        step(campaign, 3)
    monkeypatch.setattr(services, "message_enqueue", lambda **kwargs: None)
    segment_members_add(segment=pilots, customer_ids=[c.pk for c in late])
    segment_members_remove(segment=pilots, customer_ids=[confirmed[-1].pk])
    # A second worker picks the campaign up where the last committed chunk left it, and a
    # run whose progress was lost walks the frozen list again without sending twice.
    campaign = step(campaign, 3)
    Campaign.objects.filter(pk=campaign.pk).update(cursor=0, processed=0)
    campaign = run_send(campaign, chunk_size=3)

    assert recipients(campaign) == {c.pk for c in confirmed}
    per_customer = list(OutboundMessage.objects.values_list("customer_id", flat=True))
    assert sorted(per_customer) == sorted(c.pk for c in confirmed)
    assert (campaign.state, campaign.total, campaign.processed) == ("sent", 7, 7)


def test_explicit_customers_are_fixed_too(draft, consenting):
    chosen = [consenting() for _ in range(3)]
    campaign = campaign_send_now(campaign=draft(chosen))
    customer_delete(customer=chosen[0])

    campaign = run_send(campaign, chunk_size=1)

    assert recipients(campaign) == {c.pk for c in chosen[1:]}
    assert (campaign.total, campaign.processed) == (3, 3)


def test_the_api_and_the_pages_show_the_fixed_count_and_when(api_as, marketer, consenting, pilots):
    segment_members_add(segment=pilots, customer_ids=[consenting().pk for _ in range(4)])
    campaign = campaign_create(name="Spring", segment=pilots, variants=[EMAIL_VARIANT])
    browser = Client()
    browser.force_login(marketer)

    confirm = browser.get(f"/campaigns/{campaign.pk}/send-now/")
    assert confirm.status_code == 200
    assert "<strong>4</strong> customers" in confirm.content.decode()
    assert "fixed when you confirm" in confirm.content.decode()
    before = api_as(marketer).get(f"/api/v1/campaigns/{campaign.pk}/").data
    assert (before["total"], before["audience_fixed_at"]) == (0, None)

    browser.post(f"/campaigns/{campaign.pk}/send-now/")
    segment_members_add(segment=pilots, customer_ids=[consenting().pk])
    campaign.refresh_from_db()
    snapshot = campaign.audience_snapshot
    assert snapshot is not None
    data = api_as(marketer).get(f"/api/v1/campaigns/{campaign.pk}/").data
    assert data["total"] == 4
    assert data["audience_fixed_at"] == snapshot.frozen_at.isoformat().replace("+00:00", "Z")
    fixed_on = timezone.localtime(snapshot.frozen_at).strftime("%Y-%m-%d %H:%M")
    for page in (f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/progress/"):
        html = browser.get(page).content.decode()
        assert "4 recipients, fixed on <time datetime=" in html, page
        assert fixed_on in html, page
    assert Customer.objects.count() == 5


def test_the_confirmation_says_when_there_is_no_audience_and_offers_no_send(marketer):
    campaign = campaign_create(name="Nobody", variants=[EMAIL_VARIANT])
    browser = Client()
    browser.force_login(marketer)

    html = browser.get(f"/campaigns/{campaign.pk}/send-now/").content.decode()

    assert "Choose a segment or customers to send to." in html
    assert "Send to" not in html
