"""Automation rules and the durable steps they schedule.

A Rule says: when this happens (trigger) to a customer who matches (conditions), wait
(delay), then do these things (actions). Each action for each customer and triggering event
becomes one Step row in PostgreSQL, unique by its idempotency key; Celery workers run the
steps (automation.services.step_execute), and beat sweeps for due and abandoned ones.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from common.models import TimeStampedModel


class TriggerType(models.TextChoices):
    """What starts a rule; the config each one takes is in automation.triggers."""

    STAGE_ENTERED = "stage_entered", "Entered a stage"
    STAGE_IDLE = "stage_idle", "Idle N days in a stage"
    PURCHASE_RECORDED = "purchase_recorded", "Purchase recorded"
    SUPPORT_CASE_CLOSED = "support_case_closed", "Support case closed"
    SURVEY_ANSWERED = "survey_answered", "Survey answered"
    FORM_SUBMITTED = "form_submitted", "Form submitted"


class StepState(models.TextChoices):
    """Where a step stands. Done, skipped, failed and cancelled are final (a failed step can
    be retried by hand, which makes it pending again)."""

    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STATES = (StepState.DONE, StepState.SKIPPED, StepState.FAILED, StepState.CANCELLED)


class Rule(TimeStampedModel):
    """Trigger + conditions + delay + actions, built by a marketer or an admin.

    `trigger_config`, `conditions` and `actions` are JSON validated by automation.services
    (rule_create / rule_update) against automation.triggers, .conditions and .actions. A rule
    that has acted is never deleted (its steps are the customers' history): it is paused.
    """

    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    trigger_type = models.CharField(max_length=32, choices=TriggerType.choices)
    trigger_config = models.JSONField(default=dict, blank=True)
    conditions = models.JSONField(default=dict, blank=True)
    delay_minutes = models.PositiveIntegerField(default=0)
    actions = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="automation_rules",
    )

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["trigger_type", "is_active"], name="automation_rule_trigger_idx")
        ]

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    """One action of one rule for one customer and one triggering event.

    `idempotency_key` is unique for (rule, customer, event, action index): the same event
    delivered twice, or swept twice, creates one step. `params` is a snapshot of the action's
    parameters when the step was created, so editing the rule later does not change what a
    scheduled step does. `queued_until` is the lease of a published task: the sweep leaves a
    pending step alone until it expires, and publishes it again if it is still pending then.
    `attempts` counts the runs started; it doubles as the fencing token of the current run.
    """

    rule = models.ForeignKey(Rule, on_delete=models.PROTECT, related_name="steps")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="automation_steps"
    )
    action_index = models.PositiveSmallIntegerField()
    action_type = models.CharField(max_length=32)
    params = models.JSONField(default=dict, blank=True)
    event_key = models.CharField(max_length=200)
    event_payload = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    idempotency_key = models.CharField(max_length=300, unique=True)
    due_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=StepState.choices, default=StepState.PENDING)
    queued_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweep: pending steps by due time, and runs abandoned by a dead worker.
            models.Index(
                fields=["due_at"], name="automation_step_due_idx", condition=Q(state="pending")
            ),
            models.Index(
                fields=["started_at"],
                name="automation_step_running_idx",
                condition=Q(state="running"),
            ),
            # A step's siblings (the rule's other actions for the same event), and the idle
            # sweep's "already acted on during this stay".
            models.Index(
                fields=["rule", "customer", "event_key", "action_index"],
                name="automation_step_group_idx",
            ),
            # "Customers acted on" per rule, and a rule's steps by state.
            models.Index(fields=["rule", "state", "customer"], name="automation_step_rule_idx"),
            models.Index(fields=["customer", "created_at"], name="automation_step_customer_idx"),
            models.Index(
                fields=["finished_at"],
                name="automation_step_failed_idx",
                condition=Q(state="failed"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.customer_id}/{self.event_key}#{self.action_index}"

    @property
    def summary(self) -> str:
        """What the step did or why it did not, in a few words."""
        if self.state == StepState.FAILED or (self.last_error and self.state != StepState.DONE):
            return self.last_error
        return str(self.result.get("summary") or self.result.get("reason") or "")
