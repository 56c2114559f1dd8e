"""Benchmark: a campaign to N customers, from "send now" to the last email handed to the
email backend (a backend that accepts everything: the provider's network is not measured).

The lead wires it into bench/run.py as the `campaign_send` scenario:

    from bench.campaigns import campaign_send_bench
    SCENARIOS["campaign_send"] = campaign_send_bench
"""

from __future__ import annotations

import time

from bench.harness import Measurement, wait_until


def campaign_send_bench(scale: int) -> Measurement:
    from bench.generate import customers_generate
    from campaigns.models import MAX_SEND_RATE_PER_MINUTE, Recipient
    from campaigns.services import campaign_create, campaign_send_now
    from customers.models import Customer
    from messaging.models import MessageState

    # Another scenario of the same run may have generated the bench customers already.
    customer_ids = list(
        Customer.objects.filter(email__endswith="@bench.example", email_consent=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:scale]
    )
    if len(customer_ids) < scale:
        customer_ids = customers_generate(count=scale)  # with email consent
    campaign = campaign_create(
        name=f"Bench campaign ({scale:,})",
        customer_ids=customer_ids,
        send_rate_per_minute=MAX_SEND_RATE_PER_MINUTE,
        variants=[
            {
                "name": "A",
                "split": 50,
                "subject": "Hello {{ first_name }}",
                "body_text": "Hi {{ first_name }}, see https://example.com/",
                "body_html": '<p>Hi {{ first_name }}, <a href="https://example.com/">see</a></p>',
            },
            {
                "name": "B",
                "split": 50,
                "subject": "News for {{ first_name }}",
                "body_text": 'Hi {{ first_name|default:"there" }}',
                "body_html": "<p>[[phase:delight]]Thank you![[/phase]] "
                '<a href="https://example.com/b">Read</a></p>',
            },
        ],
    )
    started = time.monotonic()
    campaign_send_now(campaign=campaign)
    wait_until(
        lambda: Recipient.objects.filter(
            campaign=campaign, message__state=MessageState.SENT
        ).count(),
        total=scale,
        label="Campaign messages sent",
    )
    return Measurement("campaign_send", scale, time.monotonic() - started)
