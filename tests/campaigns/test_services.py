"""Drafting, the state machine, the variant split and the chunked send."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, CampaignState, Recipient, RecipientState, Variant
from campaigns.services import (
    campaign_cancel,
    campaign_create,
    campaign_key,
    campaign_pause,
    campaign_resume,
    campaign_schedule,
    campaign_send_now,
    campaign_send_step,
    campaign_update,
    campaigns_start_due,
    variant_for,
)
from common.exceptions import ApplicationError
from messaging.models import MessageKind, OutboundMessage
from tests.campaigns.conftest import EMAIL_VARIANT, run_send

pytestmark = pytest.mark.django_db


def test_splits_must_add_up_to_100(consenting):
    customer = consenting()
    with pytest.raises(ApplicationError) as error:
        campaign_create(
            name="Bad",
            customer_ids=[customer.pk],
            variants=[{**EMAIL_VARIANT, "split": 60}, {**EMAIL_VARIANT, "name": "B", "split": 30}],
        )
    assert error.value.field == "variants"
    assert "90%" in error.value.message
    assert not Campaign.objects.exists()


def test_a_variant_error_names_the_variant_and_field(consenting):
    with pytest.raises(ApplicationError) as error:
        campaign_create(
            name="Bad",
            customer_ids=[consenting().pk],
            variants=[{**EMAIL_VARIANT, "subject": ""}],
        )
    assert error.value.field == "variants[0].subject"


def test_only_a_draft_can_be_edited(draft):
    campaign = draft()
    campaign_update(campaign=campaign, data={"name": "Renamed"})
    campaign_send_now(campaign=campaign)

    with pytest.raises(ApplicationError) as error:
        campaign_update(campaign=campaign, data={"name": "Again"})

    assert error.value.field == "state"
    campaign.refresh_from_db()
    assert campaign.name == "Renamed"


def test_the_state_machine(draft):
    campaign = draft()
    with pytest.raises(ApplicationError):
        campaign_schedule(campaign=campaign, at=timezone.now() - timedelta(minutes=1))
    campaign = campaign_schedule(campaign=campaign, at=timezone.now() + timedelta(hours=1))
    assert campaign.state == CampaignState.SCHEDULED
    with pytest.raises(ApplicationError):
        campaign_resume(campaign=campaign)
    assert campaign_pause(campaign=campaign).state == CampaignState.PAUSED
    assert campaign_resume(campaign=campaign).state == CampaignState.SCHEDULED  # not started
    assert campaign_send_now(campaign=campaign).state == CampaignState.SENDING
    assert campaign_pause(campaign=campaign).state == CampaignState.PAUSED
    assert campaign_resume(campaign=campaign).state == CampaignState.SENDING
    campaign = run_send(campaign)
    assert campaign.state == CampaignState.SENT
    for action in (campaign_pause, campaign_resume, campaign_cancel, campaign_send_now):
        with pytest.raises(ApplicationError) as error:
            action(campaign=campaign)
        assert error.value.field == "state"


def test_a_cancelled_campaign_sends_nothing_more(draft):
    campaign = draft()
    campaign_send_now(campaign=campaign)
    campaign_cancel(campaign=campaign)

    result = campaign_send_step(campaign_id=campaign.pk)

    assert result.campaign is not None
    assert result.campaign.state == CampaignState.CANCELLED
    assert not Recipient.objects.exists()


def test_a_second_send_now_is_refused(draft):
    campaign = draft()
    campaign_send_now(campaign=campaign)

    with pytest.raises(ApplicationError) as error:
        campaign_send_now(campaign=campaign)

    assert error.value.field == "state"
    assert "sending" in error.value.message


def test_a_campaign_without_an_audience_cannot_start(consenting):
    campaign = campaign_create(name="Nobody", variants=[EMAIL_VARIANT])
    with pytest.raises(ApplicationError) as error:
        campaign_send_now(campaign=campaign)
    assert error.value.field == "segment"
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DRAFT


def test_scheduled_campaigns_start_when_due(draft):
    campaign = draft()
    campaign_schedule(campaign=campaign, at=timezone.now() + timedelta(minutes=5))

    assert campaigns_start_due() == 0
    assert campaigns_start_due(now=timezone.now() + timedelta(minutes=6)) == 1

    campaign.refresh_from_db()
    assert campaign.state == CampaignState.SENDING
    assert campaign.total == 3


def test_variant_assignment_is_deterministic_and_close_to_the_splits():
    campaign = Campaign(pk=7)
    variants = [Variant(pk=1, name="A", split=20), Variant(pk=2, name="B", split=80)]

    first = [variant_for(7, customer_id, variants).name for customer_id in range(20_000)]
    again = [variant_for(7, customer_id, variants).name for customer_id in range(20_000)]

    assert first == again
    share = Counter(first)["A"] / len(first)
    assert 0.19 < share < 0.21, share
    assert campaign.pk == 7


def test_every_customer_gets_one_message_with_their_variant(draft, consenting):
    customers = [consenting(first_name=f"N{i}") for i in range(7)]
    campaign = draft(
        customers,
        variants=[
            {**EMAIL_VARIANT, "name": "A", "split": 50},
            {**EMAIL_VARIANT, "name": "B", "split": 50, "subject": "B for {{ first_name }}"},
        ],
    )
    campaign_send_now(campaign=campaign)

    campaign = run_send(campaign, chunk_size=3)

    assert campaign.state == CampaignState.SENT
    assert (campaign.total, campaign.processed, campaign.skipped) == (7, 7, 0)
    recipients = Recipient.objects.filter(campaign=campaign).select_related("message", "variant")
    assert recipients.count() == 7
    for recipient in recipients:
        message = recipient.message
        assert message is not None
        assert message.kind == MessageKind.MARKETING
        assert message.idempotency_key == campaign_key(campaign.pk, recipient.customer_id)
        assert recipient.message_ref == message.message_id
        name = recipient.customer.first_name
        expected = f"Hello {name}" if recipient.variant.name == "A" else f"B for {name}"
        assert message.subject == expected
        assert "/t/o/" in message.body_html  # the open pixel
        assert "https://example.com/offer" not in message.body_html  # the link is tracked
        assert 'href="mailto:help@example.com"' in message.body_html
    assert OutboundMessage.objects.count() == 7


def test_customers_without_an_address_or_consent_are_skipped_with_the_reason(
    draft, consenting, customer_factory
):
    ok = consenting()
    no_consent = customer_factory(email_consent=False)
    campaign = draft([ok, no_consent])
    campaign_send_now(campaign=campaign)

    campaign = run_send(campaign)

    skipped = Recipient.objects.get(customer=no_consent)
    assert skipped.state == RecipientState.SKIPPED
    assert "consent" in skipped.reason
    assert skipped.message is None
    assert campaign.skipped == 1
    assert OutboundMessage.objects.count() == 1


def test_an_sms_campaign_without_a_phone_is_skipped(consenting):
    with_phone = consenting(phone="+33600000001", sms_consent=True)
    without = consenting(sms_consent=True)
    campaign = campaign_create(
        name="SMS",
        channel="sms",
        customer_ids=[with_phone.pk, without.pk],
        variants=[{"name": "A", "split": 100, "body_text": "Hi {{ first_name }}"}],
    )
    campaign_send_now(campaign=campaign)

    run_send(campaign)

    assert Recipient.objects.get(customer=without).reason == "The customer has no phone number."
    message = Recipient.objects.get(customer=with_phone).message
    assert message is not None
    assert message.to == "+33600000001"
    assert message.body_text.startswith(f"Hi {with_phone.first_name}")


def test_the_send_rate_holds_the_next_chunk_back(draft, consenting):
    campaign = draft([consenting() for _ in range(5)], send_rate_per_minute=2)
    campaign_send_now(campaign=campaign)

    first = campaign_send_step(campaign_id=campaign.pk)
    second = campaign_send_step(campaign_id=campaign.pk)

    assert Recipient.objects.count() == 2  # a chunk is at most a minute's rate
    assert 59 < first.wait_seconds <= 60
    assert second.more
    assert second.wait_seconds > 55
    assert Recipient.objects.count() == 2  # held back: nothing more was sent


def test_running_a_sent_campaign_again_changes_nothing(draft):
    campaign = draft()
    campaign_send_now(campaign=campaign)
    run_send(campaign)
    messages = list(OutboundMessage.objects.values_list("pk", flat=True))

    Campaign.objects.filter(pk=campaign.pk).update(state="sending", cursor=0)
    run_send(campaign)

    assert list(OutboundMessage.objects.values_list("pk", flat=True)) == messages
    assert Recipient.objects.count() == 3


def test_customers_created_after_the_start_are_not_included(draft, consenting):
    campaign = draft()
    campaign_send_now(campaign=campaign)
    late = consenting()
    Campaign.objects.filter(pk=campaign.pk).update(customer_ids=[*campaign.customer_ids, late.pk])

    run_send(campaign)

    assert not Recipient.objects.filter(customer=late).exists()


def test_a_segment_is_the_audience(consenting):
    from segments.services import segment_create

    vip = [consenting(tags=["vip"]) for _ in range(2)]
    consenting(tags=["other"])
    segment = segment_create(
        name="VIPs",
        definition={"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]},
    )
    campaign = campaign_create(name="Seg", segment=segment, variants=[EMAIL_VARIANT])
    campaign_send_now(campaign=campaign)

    run_send(campaign)

    assert set(Recipient.objects.values_list("customer_id", flat=True)) == {c.pk for c in vip}
