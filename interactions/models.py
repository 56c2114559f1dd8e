"""Interactions, follow-up tasks and purchases: the records that push or slow the wheel."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from common.models import TimeStampedModel


class Effect(models.TextChoices):
    """What a record does to the wheel: speeds it (force), slows it (friction), or neither."""

    FORCE = "force", "Force"
    FRICTION = "friction", "Friction"
    NEUTRAL = "neutral", "Neutral"


MAX_WEIGHT = 10


class InteractionKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    NOTE = "note", "Note"
    CHAT = "chat", "Chat"
    SUPPORT_CASE = "support_case", "Support case"
    SOCIAL = "social", "Social"
    OTHER = "other", "Other"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"


class Channel(models.TextChoices):
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    WEB = "web", "Web"
    CHAT = "chat", "Chat"
    IN_PERSON = "in_person", "In person"
    SOCIAL = "social", "Social"


class Outcome(models.TextChoices):
    """How an interaction went; with the kind it sets the default effect (docs/metrics.md)."""

    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"
    NO_ANSWER = "no_answer", "No answer"
    COMPLAINT = "complaint", "Complaint"
    RESOLVED = "resolved", "Resolved"


class CaseState(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Interaction(TimeStampedModel):
    """One contact with a customer, logged by a user (or an integration), with its effect.

    Support cases also carry a state: they open when logged and close once, at `closed_at`.
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="interactions"
    )
    kind = models.CharField(max_length=16, choices=InteractionKind.choices)
    direction = models.CharField(max_length=16, choices=Direction.choices, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True)
    occurred_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=500)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.NEUTRAL)
    effect = models.CharField(max_length=16, choices=Effect.choices)
    weight = models.PositiveSmallIntegerField(validators=[MaxValueValidator(MAX_WEIGHT)])
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="logged_interactions",
    )
    case_state = models.CharField(max_length=8, choices=CaseState.choices, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="interaction_customer_idx"),
            models.Index(fields=["occurred_at"], name="interaction_occurred_idx"),
            models.Index(fields=["logged_by", "occurred_at"], name="interaction_user_idx"),
            models.Index(
                fields=["case_state", "occurred_at"],
                name="interaction_open_case_idx",
                condition=Q(case_state="open"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="support_case") | Q(case_state=""),
                name="interaction_case_state_only_on_cases",
            ),
            models.CheckConstraint(
                condition=~Q(case_state="closed") | Q(closed_at__isnull=False),
                name="interaction_closed_case_has_closed_at",
            ),
        ]
        permissions = [
            ("change_any_interaction", "Can edit and delete interactions others logged"),
            ("close_any_case", "Can close any support case, whoever logged it"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary[:40]}"


class TaskState(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class CreatorKind(models.TextChoices):
    USER = "user", "User"
    AUTOMATION = "automation", "Automation"
    API = "api", "API"
    SYSTEM = "system", "System"


class Task(TimeStampedModel):
    """A follow-up owed to a customer. Open past its due time, it is friction (overdue)."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="tasks"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tasks",
    )
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True, max_length=5000)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=TaskState.choices, default=TaskState.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by_kind = models.CharField(
        max_length=16, choices=CreatorKind.choices, default=CreatorKind.USER
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="created_tasks",
    )

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "state", "due_at"], name="task_assignee_idx"),
            models.Index(fields=["customer", "created_at"], name="task_customer_idx"),
            models.Index(fields=["due_at"], name="task_open_due_idx", condition=Q(state="open")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="open", completed_at__isnull=True)
                | (~Q(state="open") & Q(completed_at__isnull=False)),
                name="task_completed_at_matches_state",
            ),
        ]
        permissions = [("change_any_task", "Can edit, complete and cancel anyone's tasks")]

    def __str__(self) -> str:
        return self.title


class Purchase(TimeStampedModel):
    """Money a customer paid. Amounts in different currencies are never added together.

    `external_id` is unique per `source`, so a shop that sends the same order twice records
    it once.
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="purchases"
    )
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    description = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=100, blank=True)
    # NULL, not "", when absent: the uniqueness per source holds only among real ids.
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recorded_purchases",
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "currency", "occurred_at"], name="purchase_cust_idx"),
            models.Index(fields=["occurred_at"], name="purchase_occurred_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(external_id__isnull=False),
                name="purchase_external_id_unique_per_source",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="purchase_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
