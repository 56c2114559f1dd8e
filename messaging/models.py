"""The outbox: every email and SMS the product sends, with its state and its errors."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from common.models import TimeStampedModel


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class MessageKind(models.TextChoices):
    """Marketing needs the customer's consent on the channel; transactional does not.

    Transactional: what the customer asked for or is owed (a survey about their own case, a
    receipt). Marketing: everything else.
    """

    TRANSACTIONAL = "transactional", "Transactional"
    MARKETING = "marketing", "Marketing"


class MessageState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Suppressed"


class OutboundMessage(TimeStampedModel):
    """One message to one recipient.

    `idempotency_key` names the reason for the message (e.g. `survey-invitation:42`): the
    same reason never produces two messages. `message_id` is fixed when the row is created,
    so that a retried send carries the same Message-ID and a provider can drop the copy.
    """

    channel = models.CharField(max_length=8, choices=Channel.choices)
    kind = models.CharField(max_length=16, choices=MessageKind.choices)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    to = models.CharField(max_length=254)
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    state = models.CharField(
        max_length=16, choices=MessageState.choices, default=MessageState.QUEUED
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    message_id = models.CharField(max_length=200)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="message_customer_idx"),
            models.Index(
                fields=["created_at"],
                name="message_unsent_idx",
                condition=Q(state="queued"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.to}: {self.subject or self.body_text[:40]}"


class MessageTemplate(TimeStampedModel):
    """A reusable email or SMS, personalised with `{{ field }}` placeholders.

    See messaging.templating for the fields and the (sandboxed) syntax.
    """

    name = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    kind = models.CharField(
        max_length=16, choices=MessageKind.choices, default=MessageKind.MARKETING
    )
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
