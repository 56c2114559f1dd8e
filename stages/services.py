"""Writes for stages: configuring them, and the one function that moves a customer.

Every stage change in the product — dashboard, API, automations, imports, surveys — goes
through `customer_move_stage` (or `customer_stage_enter` when a customer is created), so
that every move is recorded as a StageTransition and announced after commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError
from django.utils import timezone

from common.events import event_emit
from common.exceptions import ApplicationError
from stages.models import ActorKind, Direction, Phase, Stage, StageTransition

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from customers.models import Customer

EVENT_STAGE_CHANGED = "customer.stage_changed"

# Slugs that name a route beside /api/v1/stages/<slug>/: a stage with one of them could be
# created but never read, changed or deleted through the API.
RESERVED_SLUGS = frozenset({"reorder"})


# --- the move -------------------------------------------------------------------------------


def transition_direction(*, from_stage: Stage | None, to_stage: Stage) -> str:
    """Classify a move: entry, forward, skip (over live stages), backward, or a new cycle.

    A new cycle is a move from a Delight stage back to an Attract or Engage stage: the wheel
    has gone round once.
    """
    if from_stage is None:
        return Direction.ENTRY
    if from_stage.phase == Phase.DELIGHT and to_stage.phase in (Phase.ATTRACT, Phase.ENGAGE):
        return Direction.NEW_CYCLE
    if to_stage.position < from_stage.position or (
        to_stage.position == from_stage.position and to_stage.pk < from_stage.pk
    ):
        return Direction.BACKWARD
    between = Stage.objects.filter(
        is_archived=False, position__gt=from_stage.position, position__lt=to_stage.position
    ).exists()
    return Direction.SKIP if between else Direction.FORWARD


def customer_move_stage(
    *,
    customer: Customer,
    to_stage: Stage,
    actor_kind: str,
    actor_user: User | None = None,
    reason: str = "",
    occurred_at: datetime | None = None,
) -> StageTransition:
    """Move `customer` to `to_stage` and record the transition.

    Locks the customer's row so that concurrent moves form one consistent chain, rejects a
    move to the current stage or into an archived stage, and announces
    `customer.stage_changed` only once the transaction commits. `occurred_at` (default now)
    lets imports replay history; it may not precede the customer's latest transition.
    """
    from customers.models import Customer

    if actor_kind not in ActorKind.values:
        raise ApplicationError(f"Unknown actor kind {actor_kind!r}.", field="actor_kind")
    with transaction.atomic():
        # Lock the customer row alone: joining the stage here would lock the stage row too
        # (serialising every move into that stage), and after waiting for a concurrent move
        # PostgreSQL re-checks the join against the old stage and returns no row at all.
        locked = Customer.objects.select_for_update(of=("self",)).get(pk=customer.pk)
        if locked.stage_id == to_stage.pk:
            raise ApplicationError(
                f"The customer is already in the stage '{to_stage.slug}'.", field="to_stage"
            )
        if to_stage.is_archived:
            raise ApplicationError(
                f"The stage '{to_stage.slug}' is archived and accepts no customers.",
                field="to_stage",
            )
        now = timezone.now()
        when = occurred_at or now
        if occurred_at is not None and occurred_at > now:
            raise ApplicationError("A move cannot be dated in the future.", field="occurred_at")
        if occurred_at is not None:
            latest = locked.transitions.aggregate(latest=Max("occurred_at"))["latest"]
            if latest is not None and occurred_at < latest:
                raise ApplicationError(
                    "A move cannot be dated before the customer's latest move.",
                    field="occurred_at",
                )
        transition = StageTransition.objects.create(
            customer=locked,
            from_stage=locked.stage,
            to_stage=to_stage,
            occurred_at=when,
            actor_kind=actor_kind,
            actor_user=actor_user,
            reason=reason,
            direction=transition_direction(from_stage=locked.stage, to_stage=to_stage),
        )
        locked.stage = to_stage
        locked.stage_entered_at = when
        locked.save(update_fields=["stage", "stage_entered_at", "updated_at"])
        _emit_stage_changed(transition)

    customer.stage = to_stage
    customer.stage_entered_at = when
    return transition


def customer_stage_enter(
    *,
    customer: Customer,
    stage: Stage,
    actor_kind: str,
    actor_user: User | None = None,
    reason: str = "",
) -> StageTransition:
    """Record the entry transition of a customer just created in `stage`.

    Called by `customers.services.customer_create` inside its transaction; the customer row
    already carries `stage` and `stage_entered_at`.
    """
    transition = StageTransition.objects.create(
        customer=customer,
        from_stage=None,
        to_stage=stage,
        occurred_at=customer.stage_entered_at,
        actor_kind=actor_kind,
        actor_user=actor_user,
        reason=reason,
        direction=Direction.ENTRY,
    )
    _emit_stage_changed(transition)
    return transition


def _emit_stage_changed(transition: StageTransition) -> None:
    event_emit(
        EVENT_STAGE_CHANGED,
        {
            "transition_id": transition.pk,
            "customer_id": transition.customer_id,
            "from_stage": transition.from_stage.slug if transition.from_stage else None,
            "to_stage": transition.to_stage.slug,
            "direction": transition.direction,
            "actor_kind": transition.actor_kind,
            "occurred_at": transition.occurred_at.isoformat(),
        },
    )


# --- configuring stages --------------------------------------------------------------------


def stage_create(
    *, slug: str, name: str, phase: str, position: int | None = None, description: str = ""
) -> Stage:
    """Add a stage; without a position it goes last."""
    if slug in RESERVED_SLUGS:
        raise ApplicationError(f"The slug '{slug}' is reserved by the API.", field="slug")
    if Stage.objects.filter(slug=slug).exists():
        raise ApplicationError(f"A stage with the slug '{slug}' already exists.", field="slug")
    if phase not in Phase.values:
        raise ApplicationError(f"Unknown phase {phase!r}.", field="phase")
    if position is None:
        position = (Stage.objects.aggregate(top=Max("position"))["top"] or 0) + 10
    try:
        with transaction.atomic():
            return Stage.objects.create(
                slug=slug, name=name, phase=phase, position=position, description=description
            )
    except IntegrityError as exc:
        raise ApplicationError(
            f"A stage with the slug '{slug}' already exists.", field="slug"
        ) from exc


def stage_update(
    *,
    stage: Stage,
    name: str | None = None,
    description: str | None = None,
    phase: str | None = None,
    is_archived: bool | None = None,
) -> Stage:
    """Rename, re-describe, re-phase, archive or restore a stage (the slug is permanent)."""
    if phase is not None and phase not in Phase.values:
        raise ApplicationError(f"Unknown phase {phase!r}.", field="phase")
    if is_archived and not stage.is_archived:
        live = Stage.objects.filter(is_archived=False).exclude(pk=stage.pk)
        if not live.exists():
            raise ApplicationError("The last live stage cannot be archived.", field="is_archived")
    for field, value in (
        ("name", name),
        ("description", description),
        ("phase", phase),
        ("is_archived", is_archived),
    ):
        if value is not None:
            setattr(stage, field, value)
    stage.full_clean()
    stage.save()
    return stage


@transaction.atomic
def stage_reorder(*, slugs: list[str]) -> list[Stage]:
    """Put the stages in the order given; every stage's slug must appear exactly once."""
    stages = {stage.slug: stage for stage in Stage.objects.select_for_update()}
    if len(slugs) != len(set(slugs)):
        raise ApplicationError("Each stage may appear only once.", field="slugs")
    if set(slugs) != set(stages):
        missing = sorted(set(stages) - set(slugs))
        unknown = sorted(set(slugs) - set(stages))
        problems = []
        if missing:
            problems.append("missing: " + ", ".join(missing))
        if unknown:
            problems.append("unknown: " + ", ".join(unknown))
        raise ApplicationError(
            "List every stage exactly once (" + "; ".join(problems) + ").", field="slugs"
        )
    for index, slug in enumerate(slugs):
        stage = stages[slug]
        stage.position = (index + 1) * 10
    Stage.objects.bulk_update(stages.values(), ["position"])
    return [stages[slug] for slug in slugs]


@transaction.atomic
def stage_delete(*, stage: Stage) -> None:
    """Delete a stage that has never been used; one that holds customers or history is kept."""
    locked = Stage.objects.select_for_update().get(pk=stage.pk)
    holding = locked.customers.count()
    if holding:
        raise ApplicationError(
            f"The stage '{locked.slug}' holds {holding} customer(s); move them first.",
            field="stage",
        )
    if StageTransition.objects.filter(to_stage=locked).exists():
        raise ApplicationError(
            f"The stage '{locked.slug}' appears in customers' history; archive it instead.",
            field="stage",
        )
    try:
        locked.delete()
    except ProtectedError as exc:  # a customer or a move arrived since the checks above
        raise ApplicationError(
            f"The stage '{locked.slug}' is in use; archive it instead.", field="stage"
        ) from exc
