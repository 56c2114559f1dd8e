"""Lead capture: forms built in the dashboard and what visitors submit through them."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from common.models import TimeStampedModel


class LeadForm(TimeStampedModel):
    """A form on a public page (`/f/<slug>/`) or embedded in a website.

    Every form asks for the email (the key that matches a customer); `fields` adds the rest, a
    list of `{name, label, type, required, maps_to, choices}` validated by
    `leadforms.services.fields_validate`. A non-empty `consent_text` shows a consent checkbox.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    is_active = models.BooleanField(default=True)
    fields = models.JSONField(default=list, blank=True)
    consent_text = models.CharField(max_length=500, blank=True)
    double_opt_in = models.BooleanField(default=False)
    success_message = models.CharField(
        max_length=500, blank=True, default="Thank you! We will be in touch."
    )
    redirect_url = models.URLField(max_length=500, blank=True)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    default_source = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class SubmissionState(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    PENDING_CONFIRMATION = "pending_confirmation", "Waiting for confirmation"
    CONFIRMED = "confirmed", "Confirmed"
    SPAM = "spam", "Spam"


class Submission(models.Model):
    """One filled-in form, as sent (`data`), with where it came from and what it became."""

    form = models.ForeignKey(LeadForm, on_delete=models.PROTECT, related_name="submissions")
    data = models.JSONField(default=dict)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="form_submissions",
    )
    created_customer = models.BooleanField(default=False)
    consent_given = models.BooleanField(default=False)
    state = models.CharField(max_length=24, choices=SubmissionState.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    referrer = models.CharField(max_length=1000, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["form", "created_at"], name="submission_form_idx")]

    def __str__(self) -> str:
        return f"Submission {self.pk} to {self.form_id} ({self.state})"
