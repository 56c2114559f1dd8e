"""Lifecycle stages grouped into the flywheel's three phases, and the history of moves."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Phase(models.TextChoices):
    """The three phases of the flywheel, in the order a customer goes round it."""

    ATTRACT = "attract", "Attract"
    ENGAGE = "engage", "Engage"
    DELIGHT = "delight", "Delight"


PHASE_ORDER = {Phase.ATTRACT: 0, Phase.ENGAGE: 1, Phase.DELIGHT: 2}


class Stage(models.Model):
    """A company-defined lifecycle stage, belonging to one phase, ordered by `position`.

    Stages are archived, not deleted, once they have been used: an archived stage accepts no
    new customers but keeps its history.
    """

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    phase = models.CharField(max_length=16, choices=Phase.choices)
    position = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True, max_length=2000)
    is_archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]
        permissions = [("manage_stage", "Can add, rename, reorder, archive and delete stages")]

    def __str__(self) -> str:
        return self.name


class Direction(models.TextChoices):
    """How a move relates to the order of stages, derived when the move is recorded."""

    ENTRY = "entry", "Entry"
    FORWARD = "forward", "Forward"
    SKIP = "skip", "Skip"
    BACKWARD = "backward", "Backward"
    NEW_CYCLE = "new_cycle", "New cycle"


class ActorKind(models.TextChoices):
    """Who or what moved the customer."""

    USER = "user", "User"
    AUTOMATION = "automation", "Automation"
    API = "api", "API"
    IMPORT = "import", "Import"
    SURVEY = "survey", "Survey"
    SYSTEM = "system", "System"


class StageTransition(models.Model):
    """One move of one customer, append-only: written by `stages.services` and never updated.

    The transitions of a customer form a chain: each `from_stage` is the previous `to_stage`,
    and the first has no `from_stage` (the customer's entry).
    """

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="transitions"
    )
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="transitions_in")
    occurred_at = models.DateTimeField(db_index=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stage_transitions",
    )
    reason = models.CharField(max_length=500, blank=True)
    direction = models.CharField(max_length=16, choices=Direction.choices)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["customer", "occurred_at", "id"], name="transition_chain_idx"),
            models.Index(fields=["to_stage", "occurred_at"], name="transition_to_stage_idx"),
        ]

    def __str__(self) -> str:
        source = self.from_stage.slug if self.from_stage else "∅"
        return f"{self.customer_id}: {source} → {self.to_stage.slug}"
