"""The customer: the centre of the flywheel."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Lower, Upper

from common.models import TimeStampedModel
from stages.models import Stage

MAX_TAG_LENGTH = 50
MAX_TAGS = 50
REFERRAL_CODE_LENGTH = 10
# No 0/O or 1/I/L: a code is read aloud and typed from paper.
REFERRAL_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_referral_code() -> str:
    """A random code a customer shares so that the people they bring are linked to them."""
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))


class Customer(TimeStampedModel):
    """A person the company attracts, engages and delights.

    `stage` and `stage_entered_at` are written only by `stages.services` (a move is always a
    transition). The email is unique regardless of case: `Ann@X.com` and `ann@x.com` are the
    same person.
    """

    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    company = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
    )

    source = models.CharField(max_length=100, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)

    tags = ArrayField(models.CharField(max_length=MAX_TAG_LENGTH), default=list, blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    email_consent = models.BooleanField(default=False)
    email_consent_at = models.DateTimeField(null=True, blank=True)
    sms_consent = models.BooleanField(default=False)
    sms_consent_at = models.DateTimeField(null=True, blank=True)

    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="customers")
    stage_entered_at = models.DateTimeField()
    referred_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )
    last_activity_at = models.DateTimeField(null=True, blank=True, db_index=True)
    referral_code = models.CharField(
        max_length=REFERRAL_CODE_LENGTH, unique=True, default=new_referral_code, editable=False
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="customer_email_ci_unique"),
        ]
        indexes = [
            models.Index(fields=["stage", "stage_entered_at"], name="customer_stage_idx"),
            models.Index(fields=["owner", "stage"], name="customer_owner_stage_idx"),
            GinIndex(fields=["tags"], name="customer_tags_gin"),
            # Segments compile attribute rules to `attributes @> {...}`.
            GinIndex(
                fields=["attributes"], opclasses=["jsonb_path_ops"], name="customer_attrs_gin"
            ),
            models.Index(fields=["source"], name="customer_source_idx"),
            GinIndex(
                OpClass(Upper("email"), name="gin_trgm_ops"),
                OpClass(Upper("first_name"), name="gin_trgm_ops"),
                OpClass(Upper("last_name"), name="gin_trgm_ops"),
                OpClass(Upper("company"), name="gin_trgm_ops"),
                name="customer_search_trgm",
            ),
        ]
        permissions = [
            ("move_customer", "Can move a customer between stages"),
            ("export_customer", "Can export the customer list as CSV"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Referral(models.Model):
    """A customer brought by another, with where the referrer stood on the wheel then.

    A referral by a Delight customer closes the loop: the analytics count those.
    """

    referrer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="referrals_made")
    referred = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="referral_received"
    )
    referrer_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    referrer_phase = models.CharField(max_length=16)
    occurred_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["referrer_phase", "occurred_at"], name="referral_phase_idx")
        ]

    def __str__(self) -> str:
        return f"{self.referrer_id} → {self.referred_id}"
