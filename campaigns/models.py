"""Campaigns: who gets which variant of a message, and what each recipient did with it.

A campaign goes to the customers of a segment (or to an explicit list of customers), on one
channel, in one or more variants split by percentages. Sending is chunked by a Celery task
(`campaigns.services.campaign_send_step`); tracking records deliveries, opens, clicks,
bounces, complaints, unsubscribes and conversions against the recipient.

The guarantee "at most one message per recipient per campaign" is the database's: a
`Recipient` is unique per (campaign, customer), and its outbox message carries the
idempotency key `campaign:<campaign>:customer:<customer>`, itself unique in the outbox.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from common.models import TimeStampedModel
from messaging.models import Channel

MAX_ATTRIBUTION_DAYS = 365
MAX_SEND_RATE_PER_MINUTE = 1_000_000


class CampaignState(models.TextChoices):
    """draft → scheduled → sending → sent; sending ⇄ paused; anything unsent → cancelled."""

    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"


class AbMetric(models.TextChoices):
    """The rate on which variants are compared (docs/metrics.md, Campaigns)."""

    OPEN = "open", "Open rate"
    CLICK = "click", "Click rate"
    CONVERSION = "conversion", "Conversion rate"


class Campaign(TimeStampedModel):
    """One marketing send: an audience, a channel, variants, a schedule, a rate and a cost.

    The audience is `segment`, or `customer_ids` when given. It is fixed when sending starts
    (send now, or the scheduled time): the customers it holds then are copied into
    `audience_snapshot`, `total` is their number, and the send goes to exactly them — whoever
    joins the segment later is not sent to, whoever leaves it still is (consent is checked as
    each chunk is sent). Only a draft can be edited. `processed`, `skipped` and `cursor` (the
    last customer id of the snapshot handled) move with each committed chunk;
    `next_chunk_at` keeps the send under `send_rate_per_minute` whichever worker picks the
    next chunk up.
    """

    name = models.CharField(max_length=200)
    segment = models.ForeignKey(
        "segments.Segment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    customer_ids = ArrayField(models.BigIntegerField(), null=True, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    state = models.CharField(
        max_length=16, choices=CampaignState.choices, default=CampaignState.DRAFT
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    send_rate_per_minute = models.PositiveIntegerField(
        default=10_000,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SEND_RATE_PER_MINUTE)],
    )
    cost = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(max_length=3, default="EUR")
    utm_source = models.CharField(
        max_length=100,
        blank=True,
        help_text="The acquisition source this campaign's cost counts for.",
    )
    utm_campaign = models.CharField(
        max_length=200,
        blank=True,
        help_text="The utm_campaign tag of new customers this campaign brought in.",
    )
    attribution_window_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1), MaxValueValidator(MAX_ATTRIBUTION_DAYS)]
    )
    ab_metric = models.CharField(max_length=16, choices=AbMetric.choices, default=AbMetric.CLICK)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaigns_created",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    audience_snapshot = models.OneToOneField(
        "segments.AudienceSnapshot",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    cursor = models.BigIntegerField(default=0)
    next_chunk_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["scheduled_at"],
                name="campaign_scheduled_idx",
                condition=Q(state="scheduled"),
            ),
        ]
        permissions = [
            ("send_campaign", "Can schedule, send, pause, resume and cancel campaigns"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_running(self) -> bool:
        return self.state == CampaignState.SENDING

    @property
    def percent(self) -> int:
        """How far the send is, 0-100 (100 once sent)."""
        if self.state == CampaignState.SENT:
            return 100
        if not self.total:
            return 0
        return min(100, self.processed * 100 // self.total)

    @property
    def source_label(self) -> str:
        """The acquisition source its cost counts for: `utm_source`, else the channel."""
        return self.utm_source or self.channel


class Variant(models.Model):
    """One version of the message; `split` percent of the recipients get it.

    The splits of a campaign's variants add up to 100 (checked by the service). For SMS only
    `body_text` is sent. Texts are personalised with messaging.templating.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=100)
    split = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    subject = models.CharField(max_length=300, blank=True)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)

    class Meta:
        ordering = ["campaign", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="variant_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.name}"


class RecipientState(models.TextChoices):
    """queued: its message is in the outbox (the delivery is the message's state);
    skipped: deliberately not sent (`reason`); failed: the message could not be written."""

    QUEUED = "queued", "Queued"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class Recipient(models.Model):
    """One customer of one campaign, at most once: UNIQUE (campaign, customer).

    `phase` is the customer's phase when the campaign reached them (retention cost counts
    campaigns aimed at Delight). `message_ref` is the outbox message's Message-ID, indexed so
    that the provider's webhook finds the recipient.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="campaign_receipts"
    )
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="recipients")
    message = models.ForeignKey(
        "messaging.OutboundMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    message_ref = models.CharField(max_length=200, blank=True, db_index=True)
    state = models.CharField(
        max_length=16, choices=RecipientState.choices, default=RecipientState.QUEUED
    )
    phase = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "customer"], name="recipient_once_per_campaign"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="recipient_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.customer_id} ({self.state})"


class TrackingKind(models.TextChoices):
    DELIVERED = "delivered", "Delivered"
    OPEN = "open", "Opened"
    CLICK = "click", "Clicked"
    BOUNCE = "bounce", "Bounced"
    COMPLAINT = "complaint", "Complained"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
    CONVERSION = "conversion", "Converted"


class TrackingEvent(models.Model):
    """What a recipient did, once per (recipient, kind, url): the first open, the first click
    on each link, the first bounce… (`url` is "" but for clicks). Counting a kind is therefore
    counting distinct recipients, and a repeated pixel load or webhook changes nothing."""

    recipient = models.ForeignKey(Recipient, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=TrackingKind.choices)
    url = models.URLField(max_length=2000, blank=True)
    occurred_at = models.DateTimeField()
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "url"], name="tracking_event_first_only"
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "occurred_at"], name="tracking_kind_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.kind}"


class ProviderEvent(models.Model):
    """Every call of the email provider's webhook, as received (the audit of bounces and
    complaints); `recipient` is set when its Message-ID named a campaign message."""

    event = models.CharField(max_length=32)
    message_ref = models.CharField(max_length=200, blank=True)
    recipient = models.ForeignKey(
        Recipient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} {self.message_ref}"
