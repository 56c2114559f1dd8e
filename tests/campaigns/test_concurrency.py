"""One message per recipient, whatever runs at the same time: the database's guarantee.

Real PostgreSQL connections in threads (transactional tests: each thread commits on its own
connection). Two send loops at once take turns on the campaign's row lock; and even the
chunk's inner writes, run twice at once without that lock, collide on UNIQUE (campaign,
customer) and on the outbox's unique idempotency key instead of writing twice.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from campaigns.models import Campaign, Recipient
from campaigns.services import (
    _send_chunk,
    campaign_send_now,
    campaign_send_run,
)
from messaging.models import OutboundMessage
from segments.selectors import AudienceChunk

# Slow: real threads on real connections, and (transactional) the flush afterwards empties
# what the migrations seeded, as the other real-concurrency tests do.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _in_threads(target, count: int = 2) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            target()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def _assert_one_each(campaign: Campaign, customers: int) -> None:
    per_customer = Counter(
        Recipient.objects.filter(campaign=campaign).values_list("customer_id", flat=True)
    )
    assert len(per_customer) == customers
    assert set(per_customer.values()) == {1}
    keys = Counter(
        OutboundMessage.objects.filter(customer__isnull=False).values_list("customer_id", flat=True)
    )
    assert len(keys) == customers
    assert set(keys.values()) == {1}


def test_two_concurrent_send_loops_send_one_message_per_customer(draft, consenting):
    customers = [consenting() for _ in range(40)]
    campaign = draft(customers, send_rate_per_minute=1_000_000)
    campaign_send_now(campaign=campaign)

    errors = _in_threads(lambda: campaign_send_run(campaign_id=campaign.pk), count=3)

    assert not errors, errors
    campaign.refresh_from_db()
    assert campaign.state == "sent"
    assert campaign.processed == 40
    _assert_one_each(campaign, 40)


def test_the_database_refuses_a_second_message_even_without_the_lock(draft, consenting):
    """Two chunks over the same customers at once, bypassing the campaign's row lock."""
    customers = [consenting() for _ in range(30)]
    campaign = draft(customers)
    campaign_send_now(campaign=campaign)
    ids = sorted(c.pk for c in customers)

    def chunk() -> None:
        from django.db import transaction
        from django.utils import timezone

        with transaction.atomic():
            whole = AudienceChunk(customer_ids=ids, walked=len(ids), last_id=ids[-1])
            _send_chunk(Campaign.objects.get(pk=campaign.pk), whole, now=timezone.now())

    errors = _in_threads(chunk)

    # Whichever waited on the other's uncommitted rows either skipped them (ON CONFLICT DO
    # NOTHING) or failed on a unique constraint and rolled back: never a second message.
    for error in errors:
        assert "unique" in str(error).lower() or "duplicate" in str(error).lower(), error
    _assert_one_each(campaign, 30)


def test_a_double_click_on_send_now_starts_once(draft):
    campaign = draft()
    outcomes: list[str] = []

    def click() -> None:
        try:
            campaign_send_now(campaign=Campaign.objects.get(pk=campaign.pk))
            outcomes.append("started")
        except Exception as error:
            outcomes.append(type(error).__name__)

    assert not _in_threads(click)
    assert sorted(outcomes) == ["CampaignStateError", "started"]
