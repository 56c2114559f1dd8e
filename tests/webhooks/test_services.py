"""Subscriptions, deliveries for events, and sending them to a real local HTTP receiver.

The task runs eagerly here (`delivery_send.apply`): Celery then runs every retry at once, in
this process; tests/webhooks/test_worker_delivery.py does the same through a real worker.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from common.events import event_emit
from common.exceptions import ApplicationError
from interactions.services import purchase_record
from stages.models import ActorKind
from stages.services import customer_move_stage
from tests.webhooks.conftest import Reply
from webhooks import guard, services
from webhooks.models import (
    CALL_EVENT,
    TEST_EVENT,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    WebhookEvent,
)
from webhooks.services import (
    deliveries_create_for_event,
    deliveries_requeue_stale,
    delivery_attempt,
    delivery_retry,
    subscription_create,
    subscription_send_test,
    subscription_update,
    webhook_call,
)
from webhooks.signing import installation_secret, signature
from webhooks.tasks import delivery_send

pytestmark = pytest.mark.django_db

STAGE_CHANGED = WebhookEvent.CUSTOMER_STAGE_CHANGED


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    """The delivery ids handed to the workers (instead of publishing them)."""
    ids: list[int] = []
    monkeypatch.setattr(delivery_send, "delay", ids.append)
    return ids


@pytest.fixture
def fast_retries(settings) -> None:
    settings.FLYWHEEL_RETRY_BACKOFF_SECONDS = 0
    settings.FLYWHEEL_WEBHOOK_MAX_RETRIES = 2


def _payload(transition_id: int = 1) -> dict:
    return {"transition_id": transition_id, "customer_id": 5, "to_stage": "purchase"}


def _delivery(subscription, *, key: str = "customer.stage_changed:1") -> Delivery:
    [delivery] = deliveries_create_for_event(event=STAGE_CHANGED, payload=_payload())
    return delivery


# --- subscriptions -------------------------------------------------------------------------


def test_a_subscription_gets_a_secret_and_its_events_in_a_stable_order(
    allow_private, make_subscription, admin_user
) -> None:
    subscription = make_subscription(
        "http://127.0.0.1:9/hook",
        events=["purchase.recorded", "customer.created", "purchase.recorded"],
        created_by=admin_user,
    )
    other = make_subscription("http://127.0.0.1:9/other")

    assert subscription.events == ["customer.created", "purchase.recorded"]
    assert subscription.secret.startswith("whsec_")
    assert len(subscription.secret) > 40
    assert subscription.secret != other.secret
    assert subscription.created_by == admin_user


@pytest.mark.parametrize(("events", "field"), [([], "events"), (["customer.deleted"], "events")])
def test_events_must_be_known_and_not_empty(allow_private, events, field) -> None:
    with pytest.raises(ApplicationError) as refused:
        subscription_create(name="x", url="http://127.0.0.1/", events=events)

    assert refused.value.field == field


def test_private_targets_are_refused_by_default_on_create_and_update(make_subscription) -> None:
    with pytest.raises(ApplicationError) as refused:
        subscription_create(name="x", url="http://127.0.0.1:8000/", events=[STAGE_CHANGED])
    assert refused.value.as_dict() == {"url": ["Private and loopback addresses are refused."]}

    subscription = make_subscription("https://93.184.216.34/hook")
    with pytest.raises(ApplicationError):
        subscription_update(subscription=subscription, url="http://[::1]/hook")
    subscription.refresh_from_db()
    assert subscription.url == "https://93.184.216.34/hook"


# --- deliveries for events ----------------------------------------------------------------


def test_a_subscription_receives_only_the_events_it_lists(
    allow_private, make_subscription, queued
) -> None:
    moves = make_subscription("http://127.0.0.1:9/moves", events=[STAGE_CHANGED])
    sales = make_subscription("http://127.0.0.1:9/sales", events=["purchase.recorded"])
    make_subscription("http://127.0.0.1:9/off", events=[STAGE_CHANGED], is_active=False)

    created = deliveries_create_for_event(event=STAGE_CHANGED, payload=_payload())

    assert [d.subscription for d in created] == [moves]
    assert not Delivery.objects.filter(subscription=sales).exists()
    assert Delivery.objects.count() == 1


def test_the_same_event_twice_makes_one_delivery(
    allow_private, make_subscription, django_capture_on_commit_callbacks, queued
) -> None:
    make_subscription("http://127.0.0.1:9/hook")

    with django_capture_on_commit_callbacks(execute=True):
        first = deliveries_create_for_event(event=STAGE_CHANGED, payload=_payload(7))
        again = deliveries_create_for_event(event=STAGE_CHANGED, payload=_payload(7))
        other = deliveries_create_for_event(event=STAGE_CHANGED, payload=_payload(8))

    assert (len(first), len(again), len(other)) == (1, 0, 1)
    assert Delivery.objects.filter(idempotency_key="customer.stage_changed:7").count() == 1
    assert queued == [first[0].pk, other[0].pk]


def test_events_from_the_services_become_deliveries_after_commit(
    allow_private,
    make_subscription,
    customer_factory,
    stages,
    django_capture_on_commit_callbacks,
    queued,
) -> None:
    make_subscription(
        "http://127.0.0.1:9/hook",
        events=["customer.created", "customer.stage_changed", "purchase.recorded"],
    )

    with django_capture_on_commit_callbacks(execute=True):
        customer = customer_factory()
        transition = customer_move_stage(
            customer=customer, to_stage=stages["evaluation"], actor_kind=ActorKind.API
        )
        purchase, _ = purchase_record(
            customer=customer,
            amount=Decimal("12.50"),
            currency="EUR",
            recorded_by=None,
            actor_kind=ActorKind.API,
            move_stage=False,
        )

    keys = set(Delivery.objects.values_list("idempotency_key", flat=True))
    entry = customer.transitions.order_by("pk").first()
    assert keys == {
        f"customer.created:{customer.pk}",
        f"customer.stage_changed:{entry.pk}",
        f"customer.stage_changed:{transition.pk}",
        f"purchase.recorded:{purchase.pk}",
    }
    move = Delivery.objects.get(idempotency_key=f"customer.stage_changed:{transition.pk}")
    assert move.payload["to_stage"] == "evaluation"
    assert move.payload["from_stage"] == "awareness"
    sale = Delivery.objects.get(event="purchase.recorded")
    assert sale.payload["amount"] == "12.50"
    assert len(queued) == 4


def test_survey_answers_are_delivered_by_event_name(
    allow_private, make_subscription, django_capture_on_commit_callbacks, queued
) -> None:
    make_subscription("http://127.0.0.1:9/hook", events=["survey.answered"])
    answer = {
        "customer_id": 1,
        "invitation_id": 2,
        "response_id": 3,
        "survey_kind": "nps",
        "score": 9,
        "category": "promoter",
    }

    with django_capture_on_commit_callbacks(execute=True):
        event_emit("survey.answered", answer)
        event_emit("survey.answered", answer)

    [delivery] = Delivery.objects.all()
    assert delivery.idempotency_key == "survey.answered:3"
    assert delivery.payload == answer


# --- sending ---------------------------------------------------------------------------------


def test_the_receiver_gets_the_signed_payload(
    allow_private, receiver, make_subscription, queued
) -> None:
    subscription = make_subscription(receiver.url("/in?source=flywheel"))
    delivery = _delivery(subscription)

    delivery_send.apply(args=[delivery.pk])

    [request] = receiver.received()
    assert request.path == "/in?source=flywheel"
    headers = request.headers
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["X-Flywheel-Event"] == "customer.stage_changed"
    assert headers["X-Flywheel-Delivery"] == str(delivery.uuid)
    expected = signature(
        secret=subscription.secret,
        timestamp=int(headers["X-Flywheel-Timestamp"]),
        body=request.body,
    )
    assert headers["X-Flywheel-Signature"] == f"sha256={expected}"
    body = json.loads(request.body)
    assert body["id"] == str(delivery.uuid)
    assert body["event"] == "customer.stage_changed"
    assert body["data"] == _payload()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)
    assert delivery.response_excerpt == "ok"
    assert delivery.delivered_at is not None


def test_failures_are_retried_until_delivered_and_every_attempt_is_recorded(
    allow_private, receiver, make_subscription, fast_retries, queued
) -> None:
    receiver.reply(Reply(500, b"boom"), Reply(503, b"busy"))
    delivery = _delivery(make_subscription(receiver.url()))

    delivery_send.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    assert delivery.attempts == 3
    attempts = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("pk"))
    assert [a.status_code for a in attempts] == [500, 503, 200]
    assert [a.succeeded for a in attempts] == [False, False, True]
    assert attempts[0].error == "The receiver answered 500."
    assert attempts[0].response_excerpt == "boom"
    deliveries = {r.headers["X-Flywheel-Delivery"] for r in receiver.received()}
    assert deliveries == {str(delivery.uuid)}  # the same id on every attempt


def test_after_the_last_retry_it_fails_visibly_and_retry_queues_it_again(
    allow_private,
    receiver,
    make_subscription,
    fast_retries,
    queued,
    django_capture_on_commit_callbacks,
) -> None:
    receiver.default = Reply(500, b"down")
    delivery = _delivery(make_subscription(receiver.url()))

    delivery_send.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.attempts == 3  # the first and FLYWHEEL_WEBHOOK_MAX_RETRIES=2 retries
    assert delivery.last_status_code == 500
    assert delivery.last_error == "The receiver answered 500."
    assert delivery.next_attempt_at is None

    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        delivery = delivery_retry(delivery=delivery)
    assert delivery.state == DeliveryState.PENDING
    assert queued == [delivery.pk]

    receiver.default = Reply(204, b"")
    delivery_send.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    assert delivery.attempts == 4


def test_only_a_failed_delivery_can_be_retried(allow_private, make_subscription, queued) -> None:
    delivery = _delivery(make_subscription("http://127.0.0.1:9/"))

    with pytest.raises(ApplicationError, match="Only a failed delivery"):
        delivery_retry(delivery=delivery)


def test_redirects_are_not_followed(allow_private, receiver, make_subscription, queued) -> None:
    receiver.reply(Reply(302, b"", {"Location": receiver.url("/elsewhere")}))
    delivery = _delivery(make_subscription(receiver.url()))

    with pytest.raises(services.DeliveryRetryError):
        delivery_attempt(delivery_id=delivery.pk, retry_in=60)

    assert [r.path for r in receiver.received()] == ["/hook"]
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING
    assert delivery.last_status_code == 302
    assert "not followed" in delivery.last_error
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=50)


def test_a_slow_receiver_times_out(
    allow_private, receiver, make_subscription, settings, queued
) -> None:
    settings.FLYWHEEL_WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.reply(Reply(200, delay=2))
    delivery = _delivery(make_subscription(receiver.url()))

    started = time.monotonic()
    delivery_attempt(delivery_id=delivery.pk, retry_in=None)

    assert time.monotonic() - started < 1.5
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert delivery.last_status_code is None
    assert delivery.last_error == "Timed out after 0.3 s."
    [attempt] = delivery.attempt_log.all()
    assert attempt.duration_ms >= 250


def test_a_refused_connection_is_recorded_and_retried(
    allow_private, make_subscription, queued
) -> None:
    from tests.realworld import free_port

    delivery = _delivery(make_subscription(f"http://127.0.0.1:{free_port()}/hook"))

    with pytest.raises(services.DeliveryRetryError):
        delivery_attempt(delivery_id=delivery.pk, retry_in=1)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING
    assert "ConnectionRefusedError" in delivery.last_error


def test_410_gone_deactivates_the_subscription_without_retries(
    allow_private, receiver, make_subscription, queued
) -> None:
    receiver.reply(Reply(410, b"gone"))
    subscription = make_subscription(receiver.url())
    delivery = _delivery(subscription)

    delivery_attempt(delivery_id=delivery.pk, retry_in=60)  # no DeliveryRetryError

    delivery.refresh_from_db()
    subscription.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert "410" in delivery.last_error
    assert not subscription.is_active
    with pytest.raises(ApplicationError, match="inactive"):
        delivery_retry(delivery=delivery)


def test_pending_deliveries_of_an_inactive_subscription_fail_unsent(
    allow_private, receiver, make_subscription, queued
) -> None:
    subscription = make_subscription(receiver.url())
    delivery = _delivery(subscription)
    subscription_update(subscription=subscription, is_active=False)

    delivery_attempt(delivery_id=delivery.pk, retry_in=60)

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    assert "inactive" in delivery.last_error
    assert receiver.received() == []


def test_a_delivered_delivery_is_never_sent_again(
    allow_private, receiver, make_subscription, queued
) -> None:
    delivery = _delivery(make_subscription(receiver.url()))

    delivery_attempt(delivery_id=delivery.pk, retry_in=None)
    delivery_attempt(delivery_id=delivery.pk, retry_in=None)
    delivery_send.apply(args=[delivery.pk])

    assert len(receiver.received()) == 1


def test_a_second_task_does_not_send_before_the_next_attempt_is_due(
    allow_private, receiver, make_subscription, queued
) -> None:
    receiver.reply(Reply(500))
    delivery = _delivery(make_subscription(receiver.url()))
    with pytest.raises(services.DeliveryRetryError):
        delivery_attempt(delivery_id=delivery.pk, retry_in=300)

    delivery_attempt(delivery_id=delivery.pk, retry_in=300)  # e.g. a duplicate from the sweep

    assert len(receiver.received()) == 1


def test_a_gone_delivery_is_skipped() -> None:
    assert delivery_attempt(delivery_id=999_999, retry_in=None) is None


def test_dns_rebinding_is_refused_at_delivery_time(
    receiver, make_subscription, monkeypatch, queued
) -> None:
    answers = {"hooks.example": ["93.184.216.34"]}
    monkeypatch.setattr(guard, "host_resolve", lambda host, port: answers[host])
    delivery = _delivery(make_subscription(f"http://hooks.example:{receiver.port}/hook"))

    answers["hooks.example"] = ["127.0.0.1"]  # the name now points inside
    with pytest.raises(services.DeliveryRetryError):
        delivery_attempt(delivery_id=delivery.pk, retry_in=60)

    assert receiver.received() == []
    delivery.refresh_from_db()
    assert delivery.last_error == "Private and loopback addresses are refused."
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code is None


def test_the_request_goes_to_the_checked_address_with_the_name_as_host(
    allow_private, receiver, make_subscription, monkeypatch, queued
) -> None:
    # hooks.example does not exist in DNS: only the checked address can have been used.
    monkeypatch.setattr(guard, "host_resolve", lambda host, port: ["127.0.0.1"])
    delivery = _delivery(make_subscription(f"http://hooks.example:{receiver.port}/hook"))

    delivery_attempt(delivery_id=delivery.pk, retry_in=None)

    [request] = receiver.received()
    assert request.headers["Host"] == f"hooks.example:{receiver.port}"


def test_a_test_event_goes_whatever_the_subscription_lists(
    allow_private, receiver, make_subscription, admin_user, queued
) -> None:
    subscription = make_subscription(receiver.url(), events=["purchase.recorded"], is_active=False)

    delivery = subscription_send_test(subscription=subscription, sent_by=admin_user)
    delivery_send.apply(args=[delivery.pk])

    assert queued == []  # after commit only
    [request] = receiver.received()
    assert request.headers["X-Flywheel-Event"] == TEST_EVENT
    assert json.loads(request.body)["data"]["subscription_id"] == subscription.pk


# --- the sweep -------------------------------------------------------------------------------


def test_the_sweep_republishes_pending_deliveries_left_behind(
    allow_private, make_subscription, django_capture_on_commit_callbacks, queued
) -> None:
    subscription = make_subscription("http://127.0.0.1:9/")
    stale, fresh = (
        deliveries_create_for_event(event=STAGE_CHANGED, payload=_payload(n))[0] for n in (1, 2)
    )
    done = deliveries_create_for_event(event=STAGE_CHANGED, payload=_payload(3))[0]
    long_ago = timezone.now() - timedelta(minutes=30)
    Delivery.objects.filter(pk__in=[stale.pk, done.pk]).update(next_attempt_at=long_ago)
    Delivery.objects.filter(pk=done.pk).update(state=DeliveryState.DELIVERED)
    assert subscription.deliveries.count() == 3

    with django_capture_on_commit_callbacks(execute=True):
        count = deliveries_requeue_stale()

    assert count == 1
    assert queued == [stale.pk]
    stale.refresh_from_db()
    assert stale.next_attempt_at is not None
    assert stale.next_attempt_at > long_ago  # not republished again by the next sweep
    assert fresh.pk not in queued


# --- the automation's one-off call -----------------------------------------------------------


def test_webhook_call_sends_once_signed_with_the_installation_secret(
    allow_private, receiver, settings, django_capture_on_commit_callbacks, queued
) -> None:
    settings.FLYWHEEL_WEBHOOK_SECRET = "installation-secret"

    with django_capture_on_commit_callbacks(execute=True):
        delivery, created = webhook_call(
            url=receiver.url("/automation"), payload={"rule": 4}, idempotency_key="rule:4:c:9"
        )
        again, created_again = webhook_call(
            url=receiver.url("/automation"), payload={"rule": 4}, idempotency_key="rule:4:c:9"
        )
    delivery_send.apply(args=[delivery.pk])

    assert (created, created_again, again.pk) == (True, False, delivery.pk)
    assert queued == [delivery.pk]
    assert (delivery.subscription, delivery.event) == (None, CALL_EVENT)
    [request] = receiver.received()
    expected = signature(
        secret=installation_secret(),
        timestamp=int(request.headers["X-Flywheel-Timestamp"]),
        body=request.body,
    )
    assert request.headers["X-Flywheel-Signature"] == f"sha256={expected}"
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED


def test_webhook_call_is_guarded_like_a_subscription(queued) -> None:
    with pytest.raises(ApplicationError) as refused:
        webhook_call(url="http://169.254.169.254/latest/", payload={}, idempotency_key="x")

    assert refused.value.field == "url"
    assert not Delivery.objects.exists()


def test_a_response_postgresql_cannot_store_is_still_recorded(
    allow_private, receiver, make_subscription, queued
) -> None:
    receiver.reply(Reply(500, b"bad\x00bytes\xff" + b"x" * 5000))
    delivery = _delivery(make_subscription(receiver.url()))

    with pytest.raises(services.DeliveryRetryError):
        delivery_attempt(delivery_id=delivery.pk, retry_in=60)

    delivery.refresh_from_db()
    assert delivery.response_excerpt.startswith("bad\ufffdbytes\ufffd")
    assert len(delivery.response_excerpt) == services.EXCERPT_CHARS
