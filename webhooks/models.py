"""Outgoing webhooks: who listens to which events, and the log of every delivery and attempt."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from common.models import TimeStampedModel

SECRET_PREFIX = "whsec_"  # noqa: S105 - a recognisable prefix, not a secret


def new_secret() -> str:
    """A random signing secret (256 bits), prefixed so that it is recognisable in a vault."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class WebhookEvent(models.TextChoices):
    """The events a subscription can listen to (see docs/webhooks.md for their payloads)."""

    CUSTOMER_CREATED = "customer.created", "Customer created"
    CUSTOMER_STAGE_CHANGED = "customer.stage_changed", "Customer changed stage"
    PURCHASE_RECORDED = "purchase.recorded", "Purchase recorded"
    SURVEY_ANSWERED = "survey.answered", "Survey answered"


# Sent by "Send test event", whatever the subscription listens to.
TEST_EVENT = "webhook.test"
# The automation engine's "call a webhook" action (webhooks.services.webhook_call).
CALL_EVENT = "automation.webhook"


class Subscription(TimeStampedModel):
    """A receiver's URL and the events it wants, signed with its own secret.

    The secret is generated on creation; it is shown to the creator once and stays readable
    by admins (it must be kept in clear to sign). The URL passed the target guard
    (webhooks.guard) when it was saved and is checked again at every delivery.
    """

    name = models.CharField(max_length=200)
    url = models.URLField(max_length=2000)
    events = ArrayField(models.CharField(max_length=64, choices=WebhookEvent.choices))
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="webhook_subscriptions",
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Delivery(TimeStampedModel):
    """One event for one receiver, sent until it is acknowledged with a 2xx or given up on.

    `idempotency_key` names the event instance (`customer.stage_changed:42`): one event never
    makes two deliveries to the same subscription. `uuid` is fixed at creation and sent as
    X-Flywheel-Delivery with every attempt, so that a receiver can drop a repeat. Deliveries
    of the automation engine's "call a webhook" action have no subscription and carry their
    own `url`.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    url = models.URLField(max_length=2000, blank=True)
    event = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=200)
    payload = models.JSONField(default=dict)
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "idempotency_key"],
                condition=Q(subscription__isnull=False),
                name="webhook_delivery_once_per_subscription",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(subscription__isnull=True),
                name="webhook_call_once_per_key",
            ),
        ]
        indexes = [
            models.Index(fields=["subscription", "created_at"], name="webhook_delivery_sub_idx"),
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_pending_idx",
                condition=Q(state="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.target_url} ({self.state})"

    @property
    def target_url(self) -> str:
        """Where the next attempt goes: the subscription's current URL, or the call's own."""
        return self.subscription.url if self.subscription is not None else self.url


class DeliveryAttempt(models.Model):
    """One POST of a delivery: where it went, what came back, how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(db_index=True)
    url = models.URLField(max_length=2000)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        outcome = self.status_code or self.error[:40] or "no answer"
        return f"attempt {self.attempted_at:%Y-%m-%d %H:%M:%S}: {outcome}"
