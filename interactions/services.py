"""Writes for interactions, tasks and purchases.

Each write that matters to the wheel announces itself after commit (`interaction.logged`,
`support_case.closed`, `task.created`, `task.completed`, `purchase.recorded`), and logging
anything a customer did advances their `last_activity_at`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.events import event_emit
from common.exceptions import ApplicationError
from customers.models import Customer
from customers.services import customer_activity_touch
from interactions.currencies import ISO_4217
from interactions.effects import default_effect
from interactions.models import (
    MAX_WEIGHT,
    CaseState,
    CreatorKind,
    Effect,
    Interaction,
    InteractionKind,
    Outcome,
    Purchase,
    Task,
    TaskState,
)
from stages.models import ActorKind, Phase, Stage, StageTransition
from stages.services import customer_move_stage

if TYPE_CHECKING:
    from django.contrib.auth.models import User

EVENT_INTERACTION_LOGGED = "interaction.logged"
EVENT_CASE_CLOSED = "support_case.closed"
EVENT_TASK_CREATED = "task.created"
EVENT_TASK_COMPLETED = "task.completed"
EVENT_PURCHASE_RECORDED = "purchase.recorded"

# How far ahead of now a record may be dated: clocks drift between systems.
CLOCK_SKEW = timedelta(minutes=5)


def _not_in_future(when: datetime, *, field: str) -> None:
    if when > timezone.now() + CLOCK_SKEW:
        raise ApplicationError("This cannot be dated in the future.", field=field)


def effect_resolve(
    *, kind: str, outcome: str, effect: str | None, weight: int | None
) -> tuple[str, int]:
    """The (effect, weight) to store: the defaults for kind and outcome, or the override.

    Raises ApplicationError(field="weight") for a weight that does not fit the effect.
    """
    default, default_weight = default_effect(kind=kind, outcome=outcome)
    effect = effect or default
    if weight is None:
        # An overridden effect keeps a meaningful weight: 1 unless neutral.
        weight = default_weight if effect == default else (0 if effect == Effect.NEUTRAL else 1)
    if effect == Effect.NEUTRAL and weight != 0:
        raise ApplicationError("A neutral interaction has weight 0.", field="weight")
    if effect != Effect.NEUTRAL and not 1 <= weight <= MAX_WEIGHT:
        raise ApplicationError(f"The weight must be between 1 and {MAX_WEIGHT}.", field="weight")
    return effect, weight


# --- interactions --------------------------------------------------------------------------


def interaction_log(
    *,
    customer: Customer,
    kind: str,
    summary: str,
    logged_by: User | None,
    occurred_at: datetime | None = None,
    direction: str = "",
    channel: str = "",
    duration_seconds: int | None = None,
    outcome: str = Outcome.NEUTRAL,
    effect: str | None = None,
    weight: int | None = None,
    follow_up_at: datetime | None = None,
    follow_up_title: str = "",
) -> Interaction:
    """Record a contact with `customer`; its effect defaults from kind and outcome.

    A support case opens when logged. The customer's last activity moves forward. With
    `follow_up_at`, a follow-up task for the person who logged it is created in the same
    transaction: both or neither.
    """
    if follow_up_at is not None and follow_up_at < timezone.now() - CLOCK_SKEW:
        raise ApplicationError("A follow-up cannot be due in the past.", field="follow_up_at")
    occurred_at = occurred_at or timezone.now()
    _not_in_future(occurred_at, field="occurred_at")
    effect, weight = effect_resolve(kind=kind, outcome=outcome, effect=effect, weight=weight)
    with transaction.atomic():
        # First, as it locks the customer's row: a stage move in flight for this customer
        # commits before the interaction is written, so the rollup trigger attributes it to the
        # stage of that moment, and a move that starts later waits for this one to commit, so
        # its trigger sees the interaction and re-attributes it.
        customer_activity_touch(customer_id=customer.pk, at=occurred_at)
        interaction = Interaction.objects.create(
            customer=customer,
            kind=kind,
            summary=summary,
            logged_by=logged_by,
            occurred_at=occurred_at,
            direction=direction,
            channel=channel,
            duration_seconds=duration_seconds,
            outcome=outcome,
            effect=effect,
            weight=weight,
            case_state=CaseState.OPEN if kind == InteractionKind.SUPPORT_CASE else "",
        )
        if follow_up_at is not None:
            task_create(
                customer=customer,
                title=follow_up_title or f"Follow up: {summary}"[:200],
                due_at=follow_up_at,
                assignee=logged_by,
                created_by=logged_by,
            )
        event_emit(
            EVENT_INTERACTION_LOGGED,
            {
                "interaction_id": interaction.pk,
                "customer_id": customer.pk,
                "kind": kind,
                "effect": effect,
                "weight": weight,
            },
        )
    return interaction


INTERACTION_EDITABLE = (
    "kind",
    "summary",
    "occurred_at",
    "direction",
    "channel",
    "duration_seconds",
    "outcome",
    "effect",
    "weight",
)


def interaction_update(*, interaction: Interaction, data: dict[str, Any]) -> Interaction:
    """Correct a logged interaction. A new kind or outcome re-derives the effect unless given.

    A support case keeps its state; another kind cannot become a support case afterwards
    (log a new one instead), and a support case cannot stop being one.
    """
    unknown = set(data) - set(INTERACTION_EDITABLE)
    if unknown:
        raise TypeError(f"interaction_update() got unexpected fields: {sorted(unknown)}")
    if "kind" in data and (data["kind"] == InteractionKind.SUPPORT_CASE) != (
        interaction.kind == InteractionKind.SUPPORT_CASE
    ):
        raise ApplicationError(
            "An interaction cannot become or stop being a support case; log a new one.",
            field="kind",
        )
    if "occurred_at" in data:
        _not_in_future(data["occurred_at"], field="occurred_at")
    kind = data.get("kind", interaction.kind)
    outcome = data.get("outcome", interaction.outcome)
    rederive = "kind" in data or "outcome" in data
    effect = data.get("effect", None if rederive else interaction.effect)
    weight = data.get("weight")
    if weight is None and not rederive and "effect" not in data:
        weight = interaction.weight
    data["effect"], data["weight"] = effect_resolve(
        kind=kind, outcome=outcome, effect=effect, weight=weight
    )
    with transaction.atomic():
        # Lock and save only what changed: a concurrent close must not be undone.
        Interaction.objects.select_for_update().filter(pk=interaction.pk).first()
        for field, value in data.items():
            setattr(interaction, field, value)
        interaction.save(update_fields=[*data, "updated_at"])
        customer_activity_touch(customer_id=interaction.customer_id, at=interaction.occurred_at)
    return interaction


def interaction_delete(*, interaction: Interaction) -> None:
    """Delete a logged interaction (a mistake); the customer's last activity is kept."""
    interaction.delete()


def support_case_close(
    *,
    interaction: Interaction,
    closed_by: User | None,
    outcome: str | None = None,
    closed_at: datetime | None = None,
) -> Interaction:
    """Close an open support case, once; automations react to `support_case.closed`.

    `closed_at` (default now) lets an import keep when a case was really closed.
    """
    if closed_at is not None:
        _not_in_future(closed_at, field="closed_at")
    with transaction.atomic():
        case = Interaction.objects.select_for_update().get(pk=interaction.pk)
        if case.kind != InteractionKind.SUPPORT_CASE:
            raise ApplicationError("Only a support case can be closed.", field="kind")
        if case.case_state == CaseState.CLOSED:
            raise ApplicationError("This support case is already closed.", field="case_state")
        if closed_at is not None and closed_at < case.occurred_at:
            raise ApplicationError(
                "A case cannot be closed before it was opened.", field="closed_at"
            )
        case.case_state = CaseState.CLOSED
        case.closed_at = closed_at or timezone.now()
        update = ["case_state", "closed_at", "updated_at"]
        if outcome is not None and outcome != case.outcome:
            # The effect follows the new outcome unless someone had overridden it.
            overridden = (case.effect, case.weight) != default_effect(
                kind=case.kind, outcome=case.outcome
            )
            case.outcome = outcome
            update.append("outcome")
            if not overridden:
                case.effect, case.weight = default_effect(kind=case.kind, outcome=outcome)
                update += ["effect", "weight"]
        case.save(update_fields=update)
        customer_activity_touch(customer_id=case.customer_id, at=case.closed_at)
        event_emit(
            EVENT_CASE_CLOSED,
            {
                "interaction_id": case.pk,
                "customer_id": case.customer_id,
                "closed_by": closed_by.pk if closed_by else None,
                "outcome": case.outcome,
            },
        )
    return case


# --- tasks -----------------------------------------------------------------------------------


def task_create(
    *,
    customer: Customer,
    title: str,
    due_at: datetime,
    assignee: User | None,
    created_by: User | None = None,
    created_by_kind: str = CreatorKind.USER,
    notes: str = "",
) -> Task:
    """Owe `customer` a follow-up. Without an assignee it goes to the customer's owner."""
    if created_by_kind not in CreatorKind.values:
        raise ApplicationError(f"Unknown creator {created_by_kind!r}.", field="created_by_kind")
    with transaction.atomic():
        task = Task.objects.create(
            customer=customer,
            title=title,
            due_at=due_at,
            assignee=assignee or customer.owner,
            created_by=created_by,
            created_by_kind=created_by_kind,
            notes=notes,
        )
        event_emit(EVENT_TASK_CREATED, {"task_id": task.pk, "customer_id": customer.pk})
    return task


def task_update(*, task: Task, data: dict[str, Any]) -> Task:
    """Change an open task's title, notes, due time or assignee."""
    unknown = set(data) - {"title", "notes", "due_at", "assignee"}
    if unknown:
        raise TypeError(f"task_update() got unexpected fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if locked.state != TaskState.OPEN:
            raise ApplicationError(
                f"This task is {locked.state}; it can no longer change.", field="state"
            )
        for field, value in data.items():
            setattr(locked, field, value)
        locked.save(update_fields=[*data, "updated_at"])
    return locked


def _task_finish(*, task: Task, state: str) -> Task:
    with transaction.atomic():
        locked = Task.objects.select_for_update().get(pk=task.pk)
        if locked.state != TaskState.OPEN:
            raise ApplicationError(f"This task is already {locked.state}.", field="state")
        locked.state = state
        locked.completed_at = timezone.now()
        locked.save(update_fields=["state", "completed_at", "updated_at"])
        if state == TaskState.DONE:
            customer_activity_touch(customer_id=locked.customer_id, at=locked.completed_at)
            event_emit(
                EVENT_TASK_COMPLETED, {"task_id": locked.pk, "customer_id": locked.customer_id}
            )
    return locked


def task_complete(*, task: Task) -> Task:
    """Mark an open task done (once)."""
    return _task_finish(task=task, state=TaskState.DONE)


def task_cancel(*, task: Task) -> Task:
    """Cancel an open task: it is no longer owed, and no longer friction."""
    return _task_finish(task=task, state=TaskState.CANCELLED)


# --- purchases -------------------------------------------------------------------------------


def purchase_record(
    *,
    customer: Customer,
    amount: Decimal,
    currency: str,
    recorded_by: User | None,
    actor_kind: str = ActorKind.USER,
    occurred_at: datetime | None = None,
    description: str = "",
    source: str = "",
    external_id: str | None = None,
    move_stage: bool = True,
) -> tuple[Purchase, bool]:
    """Record a purchase; returns it and whether it is new.

    The same `external_id` from the same `source` is the same order: sending it again
    returns the first record (False) and changes nothing. A first purchase moves the customer
    to the purchase stage, and a purchase by a Delight customer starts a new cycle there
    (settings FLYWHEEL_MOVE_ON_FIRST_PURCHASE and FLYWHEEL_MOVE_ON_REPEAT_PURCHASE).
    An import that replays the stage history itself passes `move_stage=False`.
    """
    currency = currency.strip().upper()
    if currency not in ISO_4217:
        raise ApplicationError(f"Unknown currency '{currency}' (ISO 4217).", field="currency")
    if amount <= 0:
        raise ApplicationError("The amount must be greater than zero.", field="amount")
    occurred_at = occurred_at or timezone.now()
    _not_in_future(occurred_at, field="occurred_at")
    external_id = external_id or None

    if external_id is not None:
        existing = _purchase_existing(customer=customer, source=source, external_id=external_id)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            repeat = Purchase.objects.filter(customer=customer).exists()
            purchase = Purchase.objects.create(
                customer=customer,
                amount=amount,
                currency=currency,
                occurred_at=occurred_at,
                description=description,
                source=source,
                external_id=external_id,
                recorded_by=recorded_by,
            )
            customer_activity_touch(customer_id=customer.pk, at=occurred_at)
            if move_stage:
                _purchase_move_customer(
                    customer=customer,
                    purchase=purchase,
                    repeat=repeat,
                    actor_kind=actor_kind,
                    actor_user=recorded_by,
                )
            event_emit(
                EVENT_PURCHASE_RECORDED,
                {
                    "purchase_id": purchase.pk,
                    "customer_id": customer.pk,
                    "amount": str(purchase.amount),
                    "currency": currency,
                    "repeat": repeat,
                },
            )
    except IntegrityError:
        # The same order arrived twice at once; the other request recorded it.
        existing = _purchase_existing(customer=customer, source=source, external_id=external_id)
        if existing is None:
            raise
        return existing, False
    return purchase, True


def _purchase_existing(
    *, customer: Customer, source: str, external_id: str | None
) -> Purchase | None:
    existing = Purchase.objects.filter(source=source, external_id=external_id).first()
    if existing is not None and existing.customer_id != customer.pk:
        raise ApplicationError(
            f"Order '{external_id}' from '{source or 'no source'}' is already recorded "
            "for another customer.",
            field="external_id",
        )
    return existing


def _purchase_move_customer(
    *, customer: Customer, purchase: Purchase, repeat: bool, actor_kind: str, actor_user: Any
) -> None:
    target = Stage.objects.filter(slug=settings.FLYWHEEL_PURCHASE_STAGE, is_archived=False).first()
    if target is None:
        return
    current_id = Customer.objects.values_list("stage_id", flat=True).get(pk=customer.pk)
    current = Stage.objects.get(pk=current_id)
    if current.pk == target.pk:
        return
    if current.phase == Phase.DELIGHT:
        wanted = settings.FLYWHEEL_MOVE_ON_REPEAT_PURCHASE
        reason = f"Bought again ({purchase.amount} {purchase.currency}): a new cycle"
    elif current.position < target.position:
        wanted = settings.FLYWHEEL_MOVE_ON_FIRST_PURCHASE
        what = "Bought" if repeat else "First purchase"
        reason = f"{what} ({purchase.amount} {purchase.currency})"
    else:
        return
    if wanted:
        # A backdated purchase moves the customer at the purchase's time, unless the history
        # already holds a later move (then the move is recorded now).
        latest = (
            StageTransition.objects.filter(customer_id=customer.pk)
            .order_by("-occurred_at")
            .values_list("occurred_at", flat=True)
            .first()
        )
        when = purchase.occurred_at if latest is None or purchase.occurred_at >= latest else None
        customer_move_stage(
            customer=customer,
            to_stage=target,
            actor_kind=actor_kind,
            actor_user=actor_user,
            reason=reason,
            occurred_at=when,
        )


PURCHASE_EDITABLE = ("amount", "currency", "occurred_at", "description")


def purchase_update(*, purchase: Purchase, data: dict[str, Any]) -> Purchase:
    """Correct a recorded purchase (a typo in the amount, the wrong currency or date).

    It does not move the customer again: stage moves follow the first recording only.
    """
    unknown = set(data) - set(PURCHASE_EDITABLE)
    if unknown:
        raise TypeError(f"purchase_update() got unexpected fields: {sorted(unknown)}")
    if "currency" in data:
        data["currency"] = data["currency"].upper()
        if data["currency"] not in ISO_4217:
            raise ApplicationError(
                f"Unknown currency '{data['currency']}' (ISO 4217).", field="currency"
            )
    if "amount" in data and data["amount"] <= 0:
        raise ApplicationError("The amount must be greater than zero.", field="amount")
    if "occurred_at" in data:
        _not_in_future(data["occurred_at"], field="occurred_at")
    for field, value in data.items():
        setattr(purchase, field, value)
    purchase.save()
    return purchase


def purchase_delete(*, purchase: Purchase) -> None:
    """Delete a purchase recorded by mistake; the stage history it caused stays."""
    purchase.delete()
