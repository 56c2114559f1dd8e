"""Satisfaction surveys: the survey, an invitation per customer, the answer, and bulk sends.

The scales and thresholds are in `surveys.scoring`; writes go through `surveys.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from common.models import TimeStampedModel
from interactions.models import Effect
from surveys.scoring import Category, SurveyKind

MAX_COMMENT_LENGTH = 2000
MAX_EXPIRY_DAYS = 365


class Survey(TimeStampedModel):
    """One question on one scale (NPS 0-10, CSAT 1-5, CES 1-7), plus an optional comment.

    `kind` is fixed once the survey has been sent: answers are read on the scale they were
    given on. An inactive survey sends no new invitations; links already sent keep working
    until they expire (`expiry_days` after they were sent).
    """

    kind = models.CharField(max_length=8, choices=SurveyKind.choices)
    name = models.CharField(max_length=200, unique=True)
    question = models.CharField(max_length=500)
    low_label = models.CharField(
        max_length=100, blank=True, help_text="What the lowest score means (blank: the default)."
    )
    high_label = models.CharField(
        max_length=100, blank=True, help_text="What the highest score means (blank: the default)."
    )
    comment_label = models.CharField(
        max_length=300,
        blank=True,
        default="Anything you would like to tell us? (optional)",
        help_text="The label of the optional comment box; blank hides the box.",
    )
    email_subject = models.CharField(max_length=300, default="One quick question")
    is_active = models.BooleanField(default=True)
    expiry_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(MAX_EXPIRY_DAYS)]
    )

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class InvitationState(models.TextChoices):
    """pending: recorded, its email not yet written; sent: the email is in the outbox (its
    delivery is the message's state); answered; expired: unanswered past `expires_at`;
    skipped: deliberately not sent (`reason` says why); failed: could not be queued."""

    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    ANSWERED = "answered", "Answered"
    EXPIRED = "expired", "Expired"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"


class InvitationSource(models.TextChoices):
    MANUAL = "manual", "Sent by hand"
    BULK = "bulk", "Bulk send"
    AUTOMATION = "automation", "Automation"
    API = "api", "API"


class SurveyBatch(models.Model):
    """A bulk send of a survey to the customers matching `filters`, to `customer_ids`, or to
    the customers in `segment`.

    `segment_name` is the segment's name when the send was asked for, and is set exactly when
    the audience is a segment: the link is cleared if the segment is deleted later (which is
    refused while the send is in progress), and the page still says whom it went to.

    The audience is fixed when the send is asked for: the customers it holds then are copied
    into `audience_snapshot` (`total` is their number), and the send goes to exactly them —
    whoever joins the segment or starts matching the filters later is not invited, whoever
    leaves still is.

    A Celery task works through the snapshot in chunks, each committed with its counts, so
    that the dashboard shows progress and a run that dies resumes where it stopped. Preparing
    records one invitation per customer (its key `batch:<id>:<customer id>` makes a second
    one impossible); sending then queues each pending invitation's email once. A customer
    deleted since is passed over: `processed` counts them, no invitation does.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        PREPARING = "preparing", "Selecting customers"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="batches")
    filters = models.JSONField(default=dict, blank=True)
    customer_ids = ArrayField(models.BigIntegerField(), null=True, blank=True)
    segment = models.ForeignKey(
        "segments.Segment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_batches",
    )
    segment_name = models.CharField(max_length=200, blank=True)
    audience_snapshot = models.OneToOneField(
        "segments.AudienceSnapshot",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0)  # the last customer id of the snapshot handled
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_batches",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "bulk survey send"
        verbose_name_plural = "bulk survey sends"

    def __str__(self) -> str:
        return f"Bulk send {self.pk} of {self.survey_id}"

    @property
    def is_running(self) -> bool:
        return self.state not in (self.State.DONE, self.State.FAILED)

    @property
    def percent(self) -> int:
        """How far the send is, 0-100 (100 once done, even for no customers)."""
        if self.state == self.State.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, self.processed * 100 // self.total)


class Invitation(TimeStampedModel):
    """One customer asked to answer one survey, through a signed single-use link.

    The link carries no stored secret: it is the invitation's id signed with the site's key
    (`surveys.tokens`). `idempotency_key` names the reason for the invitation (`manual:<uuid>`,
    `batch:<batch>:<customer>`, an automation's key): the same reason never invites twice.
    """

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="survey_invitations"
    )
    batch = models.ForeignKey(
        SurveyBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="invitations",
    )
    state = models.CharField(
        max_length=16, choices=InvitationState.choices, default=InvitationState.PENDING
    )
    source = models.CharField(max_length=16, choices=InvitationSource.choices)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_invitations_sent",
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    message = models.ForeignKey(
        "messaging.OutboundMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(
        max_length=500, blank=True, help_text="Why it was skipped or could not be sent."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="invitation_customer_idx"),
            models.Index(fields=["survey", "state"], name="invitation_survey_state_idx"),
            models.Index(
                fields=["batch", "id"],
                name="invitation_batch_pending_idx",
                condition=Q(state="pending"),
            ),
            models.Index(
                fields=["expires_at"],
                name="invitation_open_expiry_idx",
                condition=Q(state__in=["pending", "sent"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="answered") | Q(answered_at__isnull=False),
                name="invitation_answered_has_answered_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} to {self.customer_id} ({self.state})"


class Response(models.Model):
    """A customer's answer to an invitation: once per invitation, never changed.

    `kind` is the survey's kind when answered; `category` derives from it and the score
    (`surveys.scoring`), `effect` and `weight` from the category; `stage` is where the
    customer stood when answering, before any move the answer caused.
    """

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="survey_responses"
    )
    kind = models.CharField(max_length=8, choices=SurveyKind.choices)
    score = models.SmallIntegerField()
    comment = models.TextField(blank=True, max_length=MAX_COMMENT_LENGTH)
    category = models.CharField(max_length=16, choices=Category.choices)
    effect = models.CharField(max_length=16, choices=Effect.choices)
    weight = models.PositiveSmallIntegerField()
    stage = models.ForeignKey(
        "stages.Stage", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-answered_at", "-id"]
        indexes = [
            models.Index(fields=["survey", "answered_at"], name="response_survey_idx"),
            models.Index(fields=["kind", "answered_at"], name="response_kind_idx"),
            models.Index(fields=["customer", "answered_at"], name="response_customer_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=10), name="response_score_0_to_10"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.score} from {self.customer_id}"
