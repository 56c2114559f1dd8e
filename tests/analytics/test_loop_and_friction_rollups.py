"""Loop completion read from its rollup equals its definition from the raw records, for any
period, after random histories; and the rollup follows every way its raw records change."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics import selectors
from analytics.models import LoopDay, LoopDelta
from analytics.services import rollups_fold
from customers.models import Customer, Referral
from interactions.models import Purchase
from interactions.services import purchase_record
from segments.services import segment_create
from stages.models import ActorKind, Direction, Phase, Stage, StageTransition
from stages.services import customer_move_stage

pytestmark = pytest.mark.django_db


def loop_history(random_history, customer_factory, seed: int) -> list[Customer]:
    """A random history (moves round the wheel) plus what loop completion counts: repeat
    purchases at past moments, referrals by customers in every phase (some re-dated), a
    purchase deleted, another re-dated — all through services or plain ORM writes that keep
    each customer's chain of transitions consistent."""
    rng = random.Random(seed)
    made = random_history(seed, customers=10)
    now = timezone.now()
    for customer in made:
        for _ in range(rng.randint(0, 3)):
            purchase_record(
                customer=customer,
                amount=Decimal(rng.randint(5, 50)),
                currency="EUR",
                recorded_by=None,
                occurred_at=now - timedelta(days=rng.uniform(0, 90)),
                move_stage=False,
            )
        if rng.random() < 0.6:
            customer.refresh_from_db()
            customer_factory(
                email=f"ref{seed}-{customer.pk}@example.com", referral_code=customer.referral_code
            )
    delighted = made[0]
    delighted.refresh_from_db()
    if delighted.stage.phase != Phase.DELIGHT:
        customer_move_stage(
            customer=delighted,
            to_stage=Stage.objects.get(slug="post_purchase"),
            actor_kind=ActorKind.USER,
        )
    customer_factory(email=f"ref{seed}-delight@example.com", referral_code=delighted.referral_code)
    for referral in Referral.objects.order_by("pk")[::2]:
        referral.occurred_at = now - timedelta(days=rng.uniform(0, 90))
        referral.save(update_fields=["occurred_at"])
    purchases = list(Purchase.objects.order_by("pk"))
    if len(purchases) > 2:
        purchases[0].delete()
        Purchase.objects.filter(pk=purchases[1].pk).update(
            occurred_at=now - timedelta(days=rng.uniform(0, 90))
        )
    return made


def periods(seed: int, count: int = 12):
    rng = random.Random(seed)
    today = timezone.now().date()
    chosen = [(today - timedelta(days=29), today), (today - timedelta(days=364), today)]
    for _ in range(count):
        start = today - timedelta(days=rng.randint(0, 100))
        chosen.append((start, start + timedelta(days=rng.randint(0, 40))))
    return chosen


def assert_rollup_equals_raw(seed: int) -> None:
    everyone = Customer.objects.all()
    for start, end in periods(seed):
        read = selectors.loop_completion(start=start, end=end)
        assert read == selectors._loop_from_raw(start=start, end=end, customers=everyone), (
            start,
            end,
        )


@pytest.mark.parametrize("seed", [21, 22])
def test_loop_completion_from_the_rollup_equals_the_raw_definition_for_any_period(
    random_history, customer_factory, seed
):
    loop_history(random_history, customer_factory, seed)
    assert LoopDelta.objects.exists()

    assert_rollup_equals_raw(seed)  # rollup + pending deltas
    assert [d for d in selectors.rollup_differences() if d.rollup == "loop"] == []
    rollups_fold()
    assert not LoopDelta.objects.exists()
    assert LoopDay.objects.exists()
    assert_rollup_equals_raw(seed)
    # not vacuous: over the whole history some Delight customers referred, some bought again
    today = timezone.now().date()
    whole = selectors.loop_completion(start=today - timedelta(days=120), end=today)
    assert whole.referred
    assert whole.bought_again
    assert whole.delight_customers > whole.closed_loop


def test_the_loop_rollup_follows_raw_writes_a_deleted_customer_and_a_stage_changing_phase(
    random_history, customer_factory, stages
):
    made = loop_history(random_history, customer_factory, 31)
    now = timezone.now()
    # Raw writes out of order: transitions inserted in the middle of chains in one
    # statement, one deleted from the middle of a chain, a referral re-pointed.
    StageTransition.objects.bulk_create(
        StageTransition(
            customer=customer,
            from_stage=None,
            to_stage=stages["post_purchase"],
            occurred_at=now - timedelta(days=40 + n),
            actor_kind=ActorKind.IMPORT,
            direction=Direction.FORWARD,
        )
        for n, customer in enumerate(made[:4])
    )
    middle = StageTransition.objects.filter(customer=made[4]).order_by("occurred_at", "id")
    if middle.count() > 2:
        middle[1].delete()
    Referral.objects.filter(pk__in=Referral.objects.order_by("pk")[:1]).update(referrer=made[5])
    made[6].delete()
    assert [d for d in selectors.rollup_differences() if d.rollup == "loop"] == []

    rollups_fold()
    Stage.objects.filter(slug="purchase").update(phase=Phase.DELIGHT)

    assert selectors.rollup_differences() == []


def test_overdue_tasks_unsubscribes_and_new_customers_from_rollups_equal_the_raw_records(
    random_history, make_user, stages
):
    """Tasks created, re-dated, reassigned, completed and cancelled, customers moving with
    open tasks, unsubscribes (and other consent changes) around backdated moves: the friction
    terms read from the rollups equal those computed from the raw records."""
    from consent.models import ConsentEvent
    from consent.services import consent_record
    from interactions.models import Task
    from interactions.services import task_cancel, task_complete, task_create, task_update

    rng = random.Random(41)
    made = random_history(41, customers=8)
    users = [make_user(None, username=f"t-{n}") for n in range(3)]
    now = timezone.now()
    tasks = []
    for customer in made:
        for _ in range(rng.randint(1, 3)):
            due = now + timedelta(hours=rng.uniform(-24 * 40, 24 * 5))
            tasks.append(
                task_create(
                    customer=customer, title="Call", due_at=due, assignee=rng.choice([*users, None])
                )
            )
        for _ in range(rng.randint(0, 2)):
            consent_record(
                customer=customer,
                channel="email",
                granted=rng.random() < 0.3,
                method=rng.choice(["unsubscribe_link", "one_click", "form"]),
            )
    ConsentEvent.objects.filter(pk__in=[e.pk for e in ConsentEvent.objects.all()[::2]]).update(
        occurred_at=now - timedelta(days=30)
    )
    for task in tasks:
        roll = rng.random()
        if roll < 0.2:
            task_complete(task=task)
        elif roll < 0.3:
            task_cancel(task=task)
        elif roll < 0.5:
            task_update(task=task, data={"due_at": now - timedelta(days=rng.uniform(0, 20))})
        elif roll < 0.6:
            Task.objects.filter(pk=task.pk).update(assignee=users[0])
    for customer in made[:3]:  # customers move with their open tasks
        customer.refresh_from_db()
        customer_move_stage(
            customer=customer, to_stage=stages["post_purchase"], actor_kind=ActorKind.USER
        )
    StageTransition.objects.bulk_create(  # backdated moves re-attribute unsubscribes
        StageTransition(
            customer=customer,
            to_stage=stages["churn_risk"] if "churn_risk" in stages else stages["awareness"],
            occurred_at=now - timedelta(days=35),
            actor_kind=ActorKind.IMPORT,
            direction=Direction.BACKWARD,
        )
        for customer in made[3:6]
    )
    made[6].delete()
    # acquisition sources change too (new customers per source: their own rollup)
    Customer.objects.filter(pk=made[0].pk).update(utm_source="Ads", source="web")
    Customer.objects.filter(pk=made[1].pk).update(source="Event", created_at=now)

    def friction(rows):
        return sorted(
            (r.stage, r.team, r.overdue_tasks, r.unsubscribes)
            for r in rows
            if r.overdue_tasks or r.unsubscribes
        )

    today = now.date()
    Customer.objects.update(tags=["all"])
    everyone = segment_create(
        name="Everyone",
        definition={"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["all"]}]},
    )
    for start in (today - timedelta(days=29), today - timedelta(days=364)):
        from_rollups = selectors.force_friction_by_stage(start=start, end=today, now=now)
        # a segment of everyone: the same numbers from the raw records
        from_raw = selectors.force_friction_by_stage(
            start=start, end=today, now=now, segment=everyone
        )
        assert friction(from_rollups) == friction(from_raw)
    assert any(r.overdue_tasks for r in from_rollups)
    assert any(r.unsubscribes for r in from_rollups)
    assert selectors.rollup_differences() == []
    rollups_fold()
    assert selectors.rollup_differences() == []
