"""Consent to marketing, per channel, with its history; and the suppression list.

`Customer.email_consent` / `sms_consent` hold the current state; `ConsentEvent` holds how it got
there (append-only, written only by `consent.services.consent_record`). A `Suppression` blocks
marketing to an address whatever its consent flag says: an unsubscribe, a bounce, a complaint
or a manual entry.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from messaging.models import Channel


class ConsentMethod(models.TextChoices):
    """How a consent was given or withdrawn."""

    FORM = "form", "Form"
    DOUBLE_OPT_IN = "double_opt_in", "Double opt-in"
    DASHBOARD = "dashboard", "Dashboard"
    API = "api", "API"
    IMPORT = "import", "Import"
    UNSUBSCRIBE_LINK = "unsubscribe_link", "Unsubscribe link"
    ONE_CLICK = "one_click", "One-click unsubscribe"
    COMPLAINT = "complaint", "Complaint"
    BOUNCE = "bounce", "Bounce"


class ConsentEvent(models.Model):
    """One change (or confirmation) of a customer's consent on a channel. Never edited.

    `source` says where it came from (`form:<slug>`, `campaign:<id>`, …); `ip` and `user_agent`
    are those of the person's own request when there was one (a form, a link).
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="consent_events"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    granted = models.BooleanField()
    method = models.CharField(max_length=20, choices=ConsentMethod.choices)
    source = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    occurred_at = models.DateTimeField(db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "channel", "occurred_at"], name="consent_cust_idx")
        ]

    def __str__(self) -> str:
        verb = "granted" if self.granted else "withdrawn"
        return f"{self.channel} consent {verb} ({self.method}) for customer {self.customer_id}"


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
    BOUNCE = "bounce", "Bounced"
    COMPLAINT = "complaint", "Complaint"
    MANUAL = "manual", "Added by hand"


class Suppression(models.Model):
    """An address that receives no marketing on a channel, whoever it belongs to.

    `address` is normalised (`consent.services.address_normalize`): a lower-case email, or a
    phone number reduced to `+` and digits.
    """

    channel = models.CharField(max_length=8, choices=Channel.choices)
    address = models.CharField(max_length=254)
    reason = models.CharField(max_length=16, choices=SuppressionReason.choices)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "address"], name="suppression_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.address} ({self.reason})"
