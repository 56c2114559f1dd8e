"""Writes for webhooks: subscriptions, deliveries for events, attempts, retries.

The life of a delivery: an event commits (common.events) → `deliveries_create_for_event`
writes one Delivery per active subscription listening to it, once per event instance → after
commit a worker runs `delivery_attempt` (webhooks.tasks.delivery_send) → a 2xx marks it
delivered; anything else is recorded and retried with backoff until the last retry marks it
failed, where the Retry button (`delivery_retry`) can pick it up again. Every attempt is a
DeliveryAttempt row. A periodic sweep (`deliveries_requeue_stale`) re-publishes pending
deliveries whose task was lost, so nothing is silently left behind.

A delivery is sent while its row is locked and never after it was delivered; the X-Flywheel-
Delivery header stays the same on every attempt, so a receiver that saw a 2xx lost on the way
back can drop the repeat (docs/webhooks.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from common.exceptions import ApplicationError
from common.queue import enqueue
from webhooks import transport
from webhooks.guard import TargetRefusedError, target_resolve
from webhooks.models import (
    CALL_EVENT,
    TEST_EVENT,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Subscription,
    WebhookEvent,
    new_secret,
)
from webhooks.signing import body_encode, installation_secret, signed_headers

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 1000
ERROR_CHARS = 2000
MAX_NAME_LENGTH = 200
MAX_KEY_LENGTH = 200  # Delivery.idempotency_key; longer keys are replaced by their digest
# A queued attempt may start this late (clock skew, a busy queue) and still be on time.
EARLY_TOLERANCE = timedelta(seconds=1)
# The field of each event's payload that names the event instance.
EVENT_INSTANCE_FIELDS: dict[str, str] = {
    WebhookEvent.CUSTOMER_CREATED: "customer_id",
    WebhookEvent.CUSTOMER_STAGE_CHANGED: "transition_id",
    WebhookEvent.PURCHASE_RECORDED: "purchase_id",
    WebhookEvent.SURVEY_ANSWERED: "response_id",
}


# --- subscriptions ---------------------------------------------------------------------------


def _events_clean(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown:
        raise ApplicationError(f"Unknown events: {', '.join(unknown)}.", field="events")
    if not events:
        raise ApplicationError("Choose at least one event.", field="events")
    return [event for event in WebhookEvent.values if event in events]  # stable order, no dups


def _name_clean(name: str) -> str:
    name = name.strip()
    if not name:
        raise ApplicationError("Give the subscription a name.", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise ApplicationError(f"At most {MAX_NAME_LENGTH} characters.", field="name")
    return name


def subscription_create(
    *,
    name: str,
    url: str,
    events: list[str],
    is_active: bool = True,
    created_by: User | None = None,
) -> Subscription:
    """Subscribe `url` to `events`; the URL must pass the target guard (400 on `url`).

    The subscription gets a new random secret; the caller shows it to the creator.
    """
    target_resolve(url)
    return Subscription.objects.create(
        name=_name_clean(name),
        url=url,
        events=_events_clean(events),
        is_active=is_active,
        created_by=created_by,
    )


def subscription_update(
    *,
    subscription: Subscription,
    name: str | None = None,
    url: str | None = None,
    events: list[str] | None = None,
    is_active: bool | None = None,
) -> Subscription:
    """Change what is given; a new URL passes the target guard first.

    Pending deliveries go to the subscription's URL as it is when they are sent, so fixing a
    wrong URL and pressing Retry sends the failed ones to the right place.
    """
    fields = []
    if name is not None:
        subscription.name = _name_clean(name)
        fields.append("name")
    if url is not None and url != subscription.url:
        target_resolve(url)
        subscription.url = url
        fields.append("url")
    if events is not None:
        subscription.events = _events_clean(events)
        fields.append("events")
    if is_active is not None:
        subscription.is_active = is_active
        fields.append("is_active")
    if fields:
        subscription.save(update_fields=[*fields, "updated_at"])
    return subscription


def subscription_secret_rotate(*, subscription: Subscription) -> Subscription:
    """Give the subscription a new secret (the old one stops working at once)."""
    subscription.secret = new_secret()
    subscription.save(update_fields=["secret", "updated_at"])
    return subscription


def subscription_delete(*, subscription: Subscription) -> None:
    """Delete the subscription with its delivery log; its pending deliveries are not sent."""
    subscription.delete()


# --- creating deliveries ---------------------------------------------------------------------


def _json_safe(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as JSON will carry it (dates as ISO strings, decimals as strings)."""
    result: dict[str, Any] = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    return result


def event_instance_key(event: str, payload: dict[str, Any]) -> str:
    """The idempotency key of an event instance: `customer.stage_changed:42`.

    An event without a known identifying field is keyed by a digest of its payload.
    """
    field = EVENT_INSTANCE_FIELDS.get(event)
    if field and payload.get(field) is not None:
        return f"{event}:{payload[field]}"
    digest = hashlib.sha256(
        json.dumps(payload, cls=DjangoJSONEncoder, sort_keys=True).encode()
    ).hexdigest()
    return f"{event}:sha256:{digest}"


def deliveries_enqueue(*, delivery_ids: list[int]) -> None:
    """Hand deliveries to the workers once the current transaction commits."""
    from webhooks.tasks import delivery_send

    enqueue(delivery_send, *[(delivery_id,) for delivery_id in delivery_ids])


def _delivery_create(**fields: Any) -> Delivery | None:
    """Insert a delivery unless its (subscription, key) exists; None when it does."""
    try:
        with transaction.atomic():
            return Delivery.objects.create(next_attempt_at=timezone.now(), **fields)
    except IntegrityError:
        return None


def deliveries_create_for_event(*, event: str, payload: dict[str, Any]) -> list[Delivery]:
    """One delivery of `event` per active subscription listening to it; returns the new ones.

    Idempotent per (subscription, event instance): the same event announced twice makes no
    second delivery. The deliveries are handed to the workers after commit.
    """
    key = event_instance_key(event, payload)
    data = _json_safe(payload)
    created: list[Delivery] = []
    with transaction.atomic():
        subscriptions = Subscription.objects.filter(is_active=True, events__contains=[event])
        for subscription in subscriptions:
            delivery = _delivery_create(
                subscription=subscription, event=event, idempotency_key=key, payload=data
            )
            if delivery is not None:
                created.append(delivery)
        deliveries_enqueue(delivery_ids=[delivery.pk for delivery in created])
    return created


def event_received(event: str, payload: dict[str, Any]) -> None:
    """common.events subscriber (registered in WebhooksConfig.ready for WebhookEvent)."""
    deliveries_create_for_event(event=event, payload=payload)


def subscription_send_test(*, subscription: Subscription, sent_by: User | None = None) -> Delivery:
    """Queue a `webhook.test` delivery to the subscription, whatever events it listens to.

    Sent even while the subscription is inactive, so that a receiver can be tried out first.
    """
    now = timezone.now()
    delivery = Delivery.objects.create(
        subscription=subscription,
        event=TEST_EVENT,
        idempotency_key=f"{TEST_EVENT}:{uuid.uuid4()}",
        payload={
            "subscription_id": subscription.pk,
            "sent_by": sent_by.get_username() if sent_by else None,
            "message": "A test event from Flywheel CRM.",
        },
        next_attempt_at=now,
    )
    deliveries_enqueue(delivery_ids=[delivery.pk])
    return delivery


def webhook_call(
    *, url: str, payload: dict[str, Any], idempotency_key: str, event: str = CALL_EVENT
) -> tuple[Delivery, bool]:
    """A one-off signed POST of `payload` to `url` (the automation "call a webhook" action).

    Signed with the installation's secret (FLYWHEEL_WEBHOOK_SECRET), guarded, retried and
    logged like any delivery; once per `idempotency_key`. Returns the delivery and whether it
    is new. A URL the guard refuses raises TargetRefusedError (field `url`). A key longer
    than the column is replaced by its SHA-256 digest.
    """
    if len(idempotency_key) > MAX_KEY_LENGTH:
        idempotency_key = "sha256:" + hashlib.sha256(idempotency_key.encode()).hexdigest()
    existing = Delivery.objects.filter(subscription=None, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    target_resolve(url)
    with transaction.atomic():
        delivery = _delivery_create(
            subscription=None,
            url=url,
            event=event,
            idempotency_key=idempotency_key,
            payload=_json_safe(payload),
        )
        if delivery is None:
            return Delivery.objects.get(subscription=None, idempotency_key=idempotency_key), False
        deliveries_enqueue(delivery_ids=[delivery.pk])
    return delivery, True


# --- sending ---------------------------------------------------------------------------------


class DeliveryRetryError(Exception):
    """The attempt failed and the delivery stays pending: send it again in `retry_in` s."""

    def __init__(self, message: str, *, retry_in: float) -> None:
        super().__init__(message)
        self.retry_in = retry_in


def delivery_envelope(delivery: Delivery) -> dict[str, Any]:
    """What the receiver gets: the delivery's id, the event's name and time, and its data."""
    return {
        "id": str(delivery.uuid),
        "event": delivery.event,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }


def _delivery_secret(delivery: Delivery) -> str:
    return delivery.subscription.secret if delivery.subscription else installation_secret()


def _not_sendable(delivery: Delivery) -> str:
    """Why a pending delivery must not be sent now ('' when it may be)."""
    subscription = delivery.subscription
    if subscription is not None and not subscription.is_active and delivery.event != TEST_EVENT:
        return "The subscription is inactive: not sent. Activate it, then retry."
    return ""


def delivery_attempt(*, delivery_id: int, retry_in: float | None) -> Delivery | None:
    """Send one pending delivery once, record the attempt, and settle its state.

    `retry_in`: seconds until the next attempt should this one fail, or None when it is the
    last (a failure then marks the delivery failed). Returns the delivery, or None if it is
    gone. Delivered and failed deliveries are left alone, and so is a pending one whose next
    attempt is not due yet (a second task for the same delivery). Raises DeliveryRetryError after
    a failed attempt that will be retried.

    2xx: delivered. 410 Gone: the receiver asked to stop; the delivery fails without retries
    and its subscription is deactivated. Anything else (other statuses, redirects, timeouts,
    refused connections, a target the guard now refuses): retried, then failed.
    """
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.state != DeliveryState.PENDING:
            return delivery
        now = timezone.now()
        if delivery.next_attempt_at and delivery.next_attempt_at > now + EARLY_TOLERANCE:
            return delivery
        refusal = _not_sendable(delivery)
        if refusal:
            delivery.state = DeliveryState.FAILED
            delivery.last_error = refusal
            delivery.next_attempt_at = None
            delivery.save(update_fields=["state", "last_error", "next_attempt_at", "updated_at"])
            return delivery

        attempt = _attempt_send(delivery)
        delivery.attempts += 1
        delivery.last_status_code = attempt.status_code
        delivery.response_excerpt = attempt.response_excerpt
        delivery.last_error = attempt.error
        retry = False
        if attempt.succeeded:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = attempt.attempted_at
            delivery.next_attempt_at = None
        elif attempt.status_code == 410:
            delivery.state = DeliveryState.FAILED
            delivery.last_error = "410 Gone: the receiver asked to stop."
            delivery.next_attempt_at = None
            if delivery.subscription is not None:
                Subscription.objects.filter(pk=delivery.subscription.pk).update(
                    is_active=False, updated_at=now
                )
                delivery.last_error += " The subscription was deactivated."
        elif retry_in is None:
            delivery.state = DeliveryState.FAILED
            delivery.next_attempt_at = None
        else:
            retry = True
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
        delivery.save()
    if retry:
        raise DeliveryRetryError(delivery.last_error, retry_in=retry_in or 0)
    return delivery


def _attempt_send(delivery: Delivery) -> DeliveryAttempt:
    """POST the delivery once and write the attempt (in the caller's transaction)."""
    url = delivery.target_url
    attempted_at = timezone.now()
    try:
        target = target_resolve(url)
    except TargetRefusedError as refused:
        return DeliveryAttempt.objects.create(
            delivery=delivery, attempted_at=attempted_at, url=url, error=refused.message
        )
    timestamp = int(time.time())
    body = body_encode(delivery_envelope(delivery))
    headers = signed_headers(
        secret=_delivery_secret(delivery),
        timestamp=timestamp,
        body=body,
        event=delivery.event,
        delivery_id=str(delivery.uuid),
    )
    answer = transport.post(
        target=target,
        body=body,
        headers=headers,
        timeout=settings.FLYWHEEL_WEBHOOK_TIMEOUT_SECONDS,
    )
    succeeded = answer.status_code is not None and 200 <= answer.status_code < 300
    error = answer.error
    if not succeeded and not error:
        error = f"The receiver answered {answer.status_code}."
    return DeliveryAttempt.objects.create(
        delivery=delivery,
        attempted_at=attempted_at,
        url=url,
        status_code=answer.status_code,
        succeeded=succeeded,
        duration_ms=answer.duration_ms,
        error=_storable(error)[:ERROR_CHARS],
        response_excerpt=_storable(answer.body)[:EXCERPT_CHARS],
    )


def _storable(text: str) -> str:
    """`text` without NUL characters, which PostgreSQL cannot store (a receiver may send them)."""
    return text.replace("\x00", "\ufffd")


def delivery_mark_failed(*, delivery_id: int, error: str) -> None:
    """Give up on a pending delivery (its task could not run it to the end)."""
    Delivery.objects.filter(pk=delivery_id, state=DeliveryState.PENDING).update(
        state=DeliveryState.FAILED,
        last_error=error[:ERROR_CHARS],
        next_attempt_at=None,
        updated_at=timezone.now(),
    )


def delivery_retry(*, delivery: Delivery) -> Delivery:
    """Queue a failed delivery again, with a fresh round of retries (the Retry button).

    A delivery of an inactive subscription cannot be retried until it is active again.
    """
    if delivery.state != DeliveryState.FAILED:
        raise ApplicationError(
            f"Only a failed delivery can be retried; this one is {delivery.state}.", field="state"
        )
    if _not_sendable(delivery):
        raise ApplicationError(
            "The subscription is inactive: activate it before retrying.", field="subscription"
        )
    with transaction.atomic():
        updated = Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.FAILED).update(
            state=DeliveryState.PENDING, next_attempt_at=timezone.now(), updated_at=timezone.now()
        )
        if updated:
            deliveries_enqueue(delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    return delivery


def deliveries_requeue_stale(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Re-publish pending deliveries whose next attempt is overdue by `older_than`.

    A process can die between committing a delivery and publishing its task, or a worker
    can lose a task waiting for its retry time; this periodic sweep (Celery beat) hands such
    deliveries to the workers again. Rows a task is sending right now are locked and skipped;
    a second task for a delivery that is already being handled returns without sending.
    """
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        stale = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(
                Q(next_attempt_at__lt=cutoff)
                | Q(next_attempt_at__isnull=True, updated_at__lt=cutoff),
                state=DeliveryState.PENDING,
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:10_000]
        )
        if stale:
            Delivery.objects.filter(pk__in=stale).update(
                next_attempt_at=timezone.now(), updated_at=timezone.now()
            )
            deliveries_enqueue(delivery_ids=stale)
    return len(stale)
