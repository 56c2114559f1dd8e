"""Services for interactions, tasks and purchases, on the real database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from common.exceptions import ApplicationError
from interactions.effects import default_effect
from interactions.models import CaseState, Effect, InteractionKind, Outcome, Purchase, TaskState
from interactions.selectors import customer_value, task_buckets_for_user
from interactions.services import (
    interaction_log,
    interaction_update,
    purchase_record,
    support_case_close,
    task_cancel,
    task_complete,
    task_create,
)
from stages.models import Direction
from stages.services import customer_move_stage

pytestmark = pytest.mark.django_db


def test_logging_sets_the_default_effect_and_touches_last_activity(customer_factory, sales_rep):
    customer = customer_factory()
    when = timezone.now() - timedelta(hours=2)

    call = interaction_log(
        customer=customer,
        kind=InteractionKind.MEETING,
        outcome=Outcome.POSITIVE,
        summary="Demo went well",
        logged_by=sales_rep,
        occurred_at=when,
    )

    assert (call.effect, call.weight) == (Effect.FORCE, 2)
    customer.refresh_from_db()
    assert customer.last_activity_at == when


def test_older_activity_does_not_move_last_activity_back(customer_factory, sales_rep):
    customer = customer_factory()
    recent = timezone.now() - timedelta(minutes=5)
    interaction_log(
        customer=customer, kind="call", summary="a", logged_by=sales_rep, occurred_at=recent
    )

    interaction_log(
        customer=customer,
        kind="note",
        summary="backfilled",
        logged_by=sales_rep,
        occurred_at=recent - timedelta(days=30),
    )

    customer.refresh_from_db()
    assert customer.last_activity_at == recent


def test_a_complaint_is_friction_and_the_user_may_override(customer_factory, support):
    customer = customer_factory()

    complaint = interaction_log(
        customer=customer, kind="email", outcome="complaint", summary="Late", logged_by=support
    )
    overridden = interaction_log(
        customer=customer,
        kind="email",
        outcome="complaint",
        summary="Joking",
        logged_by=support,
        effect=Effect.NEUTRAL,
    )

    assert (complaint.effect, complaint.weight) == (Effect.FRICTION, 3)
    assert (overridden.effect, overridden.weight) == (Effect.NEUTRAL, 0)


@pytest.mark.parametrize(
    ("effect", "weight", "field"),
    [(Effect.NEUTRAL, 2, "weight"), (Effect.FORCE, 0, "weight"), (Effect.FRICTION, 11, "weight")],
)
def test_inconsistent_weights_are_refused(customer_factory, support, effect, weight, field):
    customer = customer_factory()

    with pytest.raises(ApplicationError) as error:
        interaction_log(
            customer=customer,
            kind="call",
            summary="x",
            logged_by=support,
            effect=effect,
            weight=weight,
        )

    assert error.value.field == field
    assert not customer.interactions.exists()


def test_changing_the_outcome_rederives_the_effect(customer_factory, sales_rep):
    customer = customer_factory()
    call = interaction_log(customer=customer, kind="call", summary="x", logged_by=sales_rep)

    interaction_update(interaction=call, data={"outcome": Outcome.COMPLAINT})

    call.refresh_from_db()
    assert (call.effect, call.weight) == default_effect(kind="call", outcome="complaint")


def test_future_interactions_are_refused(customer_factory, sales_rep):
    with pytest.raises(ApplicationError) as error:
        interaction_log(
            customer=customer_factory(),
            kind="call",
            summary="x",
            logged_by=sales_rep,
            occurred_at=timezone.now() + timedelta(days=1),
        )
    assert error.value.field == "occurred_at"


def test_a_support_case_opens_and_closes_once(customer_factory, support):
    customer = customer_factory()
    case = interaction_log(
        customer=customer,
        kind=InteractionKind.SUPPORT_CASE,
        summary="Cannot log in",
        logged_by=support,
    )
    assert case.case_state == CaseState.OPEN

    closed = support_case_close(interaction=case, closed_by=support, outcome=Outcome.RESOLVED)

    assert closed.case_state == CaseState.CLOSED
    assert closed.closed_at is not None
    assert (closed.effect, closed.weight) == (Effect.FORCE, 1)
    with pytest.raises(ApplicationError, match="already closed"):
        support_case_close(interaction=case, closed_by=support)


def test_only_a_support_case_can_be_closed(customer_factory, support):
    note = interaction_log(customer=customer_factory(), kind="note", summary="x", logged_by=support)

    with pytest.raises(ApplicationError) as error:
        support_case_close(interaction=note, closed_by=support)

    assert error.value.field == "kind"


def test_a_task_goes_to_the_owner_and_completes_once(customer_factory, sales_rep, support):
    customer = customer_factory(owner=sales_rep)
    task = task_create(
        customer=customer,
        title="Call back",
        due_at=timezone.now() + timedelta(days=1),
        assignee=None,
        created_by=support,
    )
    assert task.assignee == sales_rep

    done = task_complete(task=task)

    assert done.state == TaskState.DONE
    assert done.completed_at is not None
    with pytest.raises(ApplicationError) as error:
        task_cancel(task=task)
    assert error.value.field == "state"


def test_my_tasks_are_split_into_overdue_today_and_upcoming(customer_factory, sales_rep):
    customer = customer_factory(owner=sales_rep)
    now = timezone.now().replace(hour=12, minute=0)
    overdue = task_create(
        customer=customer, title="late", due_at=now - timedelta(hours=1), assignee=None
    )
    today = task_create(
        customer=customer, title="today", due_at=now + timedelta(hours=1), assignee=None
    )
    later = task_create(
        customer=customer, title="later", due_at=now + timedelta(days=3), assignee=None
    )
    finished = task_create(
        customer=customer, title="done", due_at=now - timedelta(days=1), assignee=None
    )
    task_complete(task=finished)

    buckets = task_buckets_for_user(user=sales_rep, now=now)

    assert [t.pk for t in buckets.overdue] == [overdue.pk]
    assert [t.pk for t in buckets.today] == [today.pk]
    assert [t.pk for t in buckets.upcoming] == [later.pk]


def test_purchases_are_idempotent_per_source_and_external_id(customer_factory, sales_rep):
    customer = customer_factory()

    first, created = purchase_record(
        customer=customer,
        amount=Decimal("99.90"),
        currency="eur",
        recorded_by=None,
        source="shop",
        external_id="A-1",
    )
    again, created_again = purchase_record(
        customer=customer,
        amount=Decimal("99.90"),
        currency="EUR",
        recorded_by=None,
        source="shop",
        external_id="A-1",
    )
    other_source, created_other = purchase_record(
        customer=customer,
        amount=Decimal("5"),
        currency="EUR",
        recorded_by=None,
        source="pos",
        external_id="A-1",
    )

    assert (created, created_again, created_other) == (True, False, True)
    assert again.pk == first.pk
    assert other_source.pk != first.pk
    assert first.currency == "EUR"
    assert Purchase.objects.filter(customer=customer).count() == 2


def test_an_order_of_another_customer_is_refused(customer_factory):
    purchase_record(
        customer=customer_factory(), amount=Decimal(1), currency="USD", recorded_by=None,
        source="shop", external_id="B-7",
    )  # fmt: skip

    with pytest.raises(ApplicationError) as error:
        purchase_record(
            customer=customer_factory(), amount=Decimal(1), currency="USD", recorded_by=None,
            source="shop", external_id="B-7",
        )  # fmt: skip

    assert error.value.field == "external_id"


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        (Decimal("0"), "EUR", "amount"),
        (Decimal("-3"), "EUR", "amount"),
        (Decimal(1), "XYZ", "currency"),
    ],
)
def test_bad_amounts_and_currencies_are_refused(customer_factory, amount, currency, field):
    customer = customer_factory()

    with pytest.raises(ApplicationError) as error:
        purchase_record(customer=customer, amount=amount, currency=currency, recorded_by=None)

    assert error.value.field == field
    assert not Purchase.objects.exists()


def test_first_purchase_moves_to_purchase_and_a_delight_purchase_starts_a_new_cycle(
    customer_factory, stages, sales_rep
):
    customer = customer_factory()

    purchase_record(customer=customer, amount=Decimal(10), currency="EUR", recorded_by=sales_rep)
    customer.refresh_from_db()
    assert customer.stage.slug == "purchase"
    first_move = customer.transitions.order_by("-id").first()
    assert first_move.direction == Direction.SKIP
    assert "First purchase" in first_move.reason

    customer_move_stage(customer=customer, to_stage=stages["advocacy"], actor_kind="system")
    purchase_record(customer=customer, amount=Decimal(20), currency="EUR", recorded_by=sales_rep)

    customer.refresh_from_db()
    assert customer.stage.slug == "purchase"
    assert customer.transitions.order_by("-id").first().direction == Direction.NEW_CYCLE


def test_purchases_in_the_purchase_stage_do_not_move(customer_factory, sales_rep):
    customer = customer_factory(stage="purchase")

    purchase_record(customer=customer, amount=Decimal(10), currency="EUR", recorded_by=sales_rep)

    assert customer.transitions.count() == 1


def test_moves_on_purchase_can_be_switched_off(customer_factory, settings):
    settings.FLYWHEEL_MOVE_ON_FIRST_PURCHASE = False
    customer = customer_factory()

    purchase_record(customer=customer, amount=Decimal(10), currency="EUR", recorded_by=None)

    customer.refresh_from_db()
    assert customer.stage.slug == "awareness"


def test_lifetime_value_never_adds_currencies(customer_factory):
    customer = customer_factory(stage="purchase")
    for amount, currency in [("100", "EUR"), ("50.50", "EUR"), ("30", "USD")]:
        purchase_record(
            customer=customer, amount=Decimal(amount), currency=currency, recorded_by=None
        )

    value = customer_value(customer_id=customer.pk)

    assert [(v.currency, v.total, v.count) for v in value.by_currency] == [
        ("EUR", Decimal("150.50"), 2),
        ("USD", Decimal("30.00"), 1),
    ]
    assert value.by_currency[0].average == Decimal("75.25")
    assert value.purchase_count == 3
