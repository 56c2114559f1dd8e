"""A stage change in this process reaches a local receiver, signed, through a real worker."""

from __future__ import annotations

import json
import time

import pytest

from stages.models import ActorKind
from stages.services import customer_move_stage
from tests.webhooks.conftest import Reply
from webhooks.models import Delivery, DeliveryState
from webhooks.signing import signature

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _wait_for_state(delivery: Delivery, state: str, timeout: float = 30) -> Delivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.state == state:
            return delivery
        time.sleep(0.1)
    raise AssertionError(f"delivery stayed {delivery.state} ({delivery.last_error})")


def test_a_stage_change_is_posted_signed_and_retried_by_the_worker(
    allow_private, receiver, make_subscription, customer_factory, stages, start_worker
) -> None:
    worker = start_worker(
        FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS="true", FLYWHEEL_RETRY_BACKOFF_SECONDS="0.1"
    )
    customer = customer_factory()  # before the subscription: its entry is not sent
    subscription = make_subscription(receiver.url(), events=["customer.stage_changed"])
    receiver.reply(Reply(500, b"not yet"))

    transition = customer_move_stage(
        customer=customer, to_stage=stages["evaluation"], actor_kind=ActorKind.USER
    )

    failed, delivered = receiver.wait_for(2)
    delivery = _wait_for_state(Delivery.objects.get(), DeliveryState.DELIVERED)
    assert delivery.idempotency_key == f"customer.stage_changed:{transition.pk}"
    assert delivery.attempts == 2
    assert [a.status_code for a in delivery.attempt_log.order_by("pk")] == [500, 200]
    for request in (failed, delivered):
        assert request.headers["X-Flywheel-Delivery"] == str(delivery.uuid)
        expected = signature(
            secret=subscription.secret,
            timestamp=int(request.headers["X-Flywheel-Timestamp"]),
            body=request.body,
        )
        assert request.headers["X-Flywheel-Signature"] == f"sha256={expected}"
    data = json.loads(delivered.body)["data"]
    assert (data["customer_id"], data["from_stage"], data["to_stage"]) == (
        customer.pk,
        "awareness",
        "evaluation",
    )
    worker.wait_idle()
    assert len(receiver.received()) == 2, worker.log()
