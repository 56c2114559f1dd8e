"""A Redis outage while people work: their writes succeed, they are told that sending is
delayed, and once the broker is back every message goes out exactly once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from common.middleware import DELAYED_HEADER
from common.models import UnpublishedTask
from common.queue import DELAYED_MESSAGE, unpublished_publish
from flywheel_crm.celery import app
from messaging.models import MessageState, OutboundMessage
from messaging.services import messages_requeue_stale, template_create
from surveys.models import Survey
from tests.campaigns.conftest import EMAIL_VARIANT
from tests.realworld import free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _publish_to(url: str) -> None:
    """Point this process's publishing at `url` (a dead port: as during a Redis outage)."""
    app.conf.broker_url = url
    app._pool = app.amqp._producer_pool = None


def test_writes_during_an_outage_succeed_and_are_sent_once_when_redis_returns(
    settings, admin_user, api_as, client, customer_factory, smtp_sink, start_worker
):
    working_url = app.conf.broker_url
    nps = Survey.objects.filter(kind="nps").earliest("pk")
    invited, *bulk = [customer_factory(email_consent=True) for _ in range(3)]
    template = template_create(name="Welcome", subject="Welcome", body_text="Hi")
    api = api_as(admin_user)
    client.force_login(admin_user)

    _publish_to(f"redis://127.0.0.1:{free_port()}/0")
    try:
        invitation = api.post(
            reverse("api:survey-invitations", args=[nps.pk]), {"customer": invited.pk}
        )
        batch = api.post(
            reverse("api:survey-batches", args=[nps.pk]),
            {"customer_ids": [c.pk for c in bulk]},
        )
        created = api.post(
            "/api/v1/campaigns/",
            {
                "name": "Launch",
                "customer_ids": [c.pk for c in bulk],
                "variants": [EMAIL_VARIANT],
            },
        )
        send_now = api.post(f"/api/v1/campaigns/{created.data['id']}/send-now/")
        test_send = client.post(
            reverse("messaging:template-test-send", args=[template.pk]),
            {"customer": invited.pk},
        )
    finally:
        _publish_to(working_url)

    for response in (invitation, batch, send_now):
        assert response.status_code in (200, 201, 202), response.content
        assert response[DELAYED_HEADER] == "true"
    assert test_send.status_code == 302
    assert DELAYED_MESSAGE in client.get(test_send["Location"]).text
    assert UnpublishedTask.objects.count() == 4  # invitation, batch, campaign, test send
    assert Campaign.objects.get().state == "sending"

    # Redis is back: the sweep (Celery beat, every 30 s) publishes what was kept.
    start_worker(smtp=smtp_sink, concurrency=2)
    assert unpublished_publish() == 4
    expected = 1 + 2 + 2 + 1  # the invitation, the bulk survey, the campaign, the test send
    smtp_sink.wait_for(expected, timeout=40)
    # Publishing everything again (a late sweep, a lost ack) sends nothing twice.
    messages_requeue_stale(older_than=timedelta(0))
    assert unpublished_publish() == 0
    smtp_sink.wait_for(expected)
    time.sleep(3)
    assert smtp_sink.count() == expected
    assert not OutboundMessage.objects.exclude(state=MessageState.SENT).exists()
