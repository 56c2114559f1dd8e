"""A small campaign sent end to end by a real Celery worker to a real (local) SMTP server."""

from __future__ import annotations

import re
from collections import Counter
from email.message import Message

import pytest

from campaigns.models import Campaign, CampaignState, Recipient
from campaigns.services import campaign_send_now
from campaigns.tracking import click_from_token
from tests.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _html(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no HTML part")


def test_a_campaign_reaches_every_consenting_customer_once(
    draft, consenting, customer_factory, smtp_sink, start_worker
):
    customers = [consenting(first_name=f"W{i}") for i in range(12)]
    refusing = customer_factory(email_consent=False)
    campaign = draft(
        [*customers, refusing],
        variants=[
            {
                "name": "A",
                "split": 50,
                "subject": "A for {{ first_name }}",
                "body_text": "Hi",
                "body_html": '<p><a href="https://example.com/a">Go</a></p>',
            },
            {
                "name": "B",
                "split": 50,
                "subject": "B for {{ first_name }}",
                "body_text": "Hi",
                "body_html": '<p><a href="https://example.com/b">Go</a></p>',
            },
        ],
    )
    worker = start_worker(smtp=smtp_sink, concurrency=2)

    campaign_send_now(campaign=campaign)
    received = smtp_sink.wait_for(12, timeout=60)

    wait_until(
        lambda: Campaign.objects.get(pk=campaign.pk).state == CampaignState.SENT,
        what="the campaign to be sent",
    )
    worker.wait_idle()  # nothing more arrives
    received = smtp_sink.messages
    assert len(received) == 12
    assert Counter(m["To"] for m in received) == Counter(c.email for c in customers)
    for message in received:
        assert message["List-Unsubscribe"]
        recipient = Recipient.objects.select_related("variant", "customer").get(
            message_ref=message["Message-ID"]
        )
        assert message["Subject"] == f"{recipient.variant.name} for {recipient.customer.first_name}"
        [token] = re.findall(r"/t/c/([^/\"]+)/", _html(message))
        assert click_from_token(token) == (
            recipient.pk,
            f"https://example.com/{recipient.variant.name.lower()}",
        )
    assert Recipient.objects.get(customer=refusing).state == "skipped"
    assert Campaign.objects.get(pk=campaign.pk).skipped == 1
