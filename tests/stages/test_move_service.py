"""The one move: customer_move_stage and the history it writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from common.events import subscribe, unsubscribe
from common.exceptions import ApplicationError
from stages.models import ActorKind, Direction, StageTransition
from stages.services import EVENT_STAGE_CHANGED, customer_move_stage

pytestmark = pytest.mark.django_db


def test_new_customer_enters_awareness_with_an_entry_transition(customer_factory, stages):
    customer = customer_factory()

    assert customer.stage.slug == "awareness"
    [entry] = StageTransition.objects.filter(customer=customer)
    assert entry.from_stage is None
    assert entry.to_stage == stages["awareness"]
    assert entry.direction == Direction.ENTRY
    assert entry.occurred_at == customer.stage_entered_at


def test_move_writes_transition_and_updates_customer(customer_factory, stages, sales_rep):
    customer = customer_factory()

    transition = customer_move_stage(
        customer=customer,
        to_stage=stages["evaluation"],
        actor_kind=ActorKind.USER,
        actor_user=sales_rep,
        reason="Booked a demo",
    )

    customer.refresh_from_db()
    assert customer.stage == stages["evaluation"]
    assert customer.stage_entered_at == transition.occurred_at
    assert transition.from_stage == stages["awareness"]
    assert transition.actor_user == sales_rep
    assert transition.reason == "Booked a demo"
    assert transition.direction == Direction.FORWARD


def test_move_to_the_current_stage_is_rejected_and_writes_nothing(customer_factory, stages):
    customer = customer_factory()

    with pytest.raises(ApplicationError) as error:
        customer_move_stage(
            customer=customer, to_stage=stages["awareness"], actor_kind=ActorKind.API
        )

    assert error.value.field == "to_stage"
    assert "already in" in error.value.message
    assert StageTransition.objects.filter(customer=customer).count() == 1


def test_move_into_an_archived_stage_is_rejected(customer_factory, stages):
    customer = customer_factory()
    stages["evaluation"].is_archived = True
    stages["evaluation"].save()

    with pytest.raises(ApplicationError, match="archived"):
        customer_move_stage(
            customer=customer, to_stage=stages["evaluation"], actor_kind=ActorKind.API
        )


def test_move_uses_the_database_row_not_a_stale_object(customer_factory, stages):
    customer = customer_factory()
    stale = type(customer).objects.get(pk=customer.pk)
    customer_move_stage(customer=customer, to_stage=stages["purchase"], actor_kind=ActorKind.API)

    transition = customer_move_stage(
        customer=stale, to_stage=stages["post_purchase"], actor_kind=ActorKind.API
    )

    assert transition.from_stage == stages["purchase"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (["evaluation"], Direction.FORWARD),
        (["purchase"], Direction.SKIP),
        (["purchase", "evaluation"], Direction.BACKWARD),
        (["post_purchase", "advocacy", "post_purchase"], Direction.BACKWARD),
        (["post_purchase", "awareness"], Direction.NEW_CYCLE),
        (["advocacy", "purchase"], Direction.NEW_CYCLE),
        (["evaluation", "purchase", "post_purchase"], Direction.FORWARD),
    ],
)
def test_direction_of_the_last_move(customer_factory, stages, path, expected):
    customer = customer_factory()
    for slug in path:
        transition = customer_move_stage(
            customer=customer, to_stage=stages[slug], actor_kind=ActorKind.SYSTEM
        )
    assert transition.direction == expected


def test_skipping_only_archived_stages_is_a_plain_forward_move(customer_factory, stages):
    stages["evaluation"].is_archived = True
    stages["evaluation"].save()
    customer = customer_factory()

    transition = customer_move_stage(
        customer=customer, to_stage=stages["purchase"], actor_kind=ActorKind.SYSTEM
    )

    assert transition.direction == Direction.FORWARD


def test_backdated_move_cannot_precede_the_latest_move(customer_factory, stages):
    customer = customer_factory()

    with pytest.raises(ApplicationError) as error:
        customer_move_stage(
            customer=customer,
            to_stage=stages["evaluation"],
            actor_kind=ActorKind.IMPORT,
            occurred_at=timezone.now() - timedelta(days=1),
        )

    assert error.value.field == "occurred_at"


def test_stage_changed_is_announced_only_after_commit(
    customer_factory, stages, django_capture_on_commit_callbacks
):
    received = []

    def handler(event, payload):
        received.append(payload)

    subscribe(EVENT_STAGE_CHANGED)(handler)
    try:
        customer = customer_factory()
        with django_capture_on_commit_callbacks(execute=False) as pending:
            customer_move_stage(
                customer=customer, to_stage=stages["evaluation"], actor_kind=ActorKind.API
            )
        assert received == []
        for callback in pending:
            callback()
    finally:
        unsubscribe(EVENT_STAGE_CHANGED, handler)

    assert received[-1]["customer_id"] == customer.pk
    assert received[-1]["from_stage"] == "awareness"
    assert received[-1]["to_stage"] == "evaluation"
    assert received[-1]["direction"] == Direction.FORWARD


def test_a_rolled_back_move_announces_nothing(customer_factory, stages):
    from django.db import transaction

    received = []

    def handler(event, payload):
        received.append(payload)

    customer = customer_factory()
    subscribe(EVENT_STAGE_CHANGED)(handler)
    try:
        with pytest.raises(RuntimeError):  # noqa: PT012, SIM117 - the move and the failure belong together
            with transaction.atomic():
                customer_move_stage(
                    customer=customer, to_stage=stages["evaluation"], actor_kind=ActorKind.API
                )
                raise RuntimeError("the caller failed after the move")
    finally:
        unsubscribe(EVENT_STAGE_CHANGED, handler)

    customer.refresh_from_db()
    assert customer.stage == stages["awareness"]
    assert received == []
    assert StageTransition.objects.filter(customer=customer).count() == 1


def test_a_move_cannot_be_dated_in_the_future(customer_factory, stages):
    customer = customer_factory()

    with pytest.raises(ApplicationError) as error:
        customer_move_stage(
            customer=customer,
            to_stage=stages["evaluation"],
            actor_kind=ActorKind.IMPORT,
            occurred_at=timezone.now() + timedelta(hours=1),
        )

    assert error.value.field == "occurred_at"
    assert customer.transitions.count() == 1
