"""The rollups agree with the raw records whatever wrote them, and `check_rollups` says so.

Histories are random (seeded) and written through the product's services: moves forward,
back, skipping and round the wheel, interactions dated before a customer's creation, edited
and deleted, purchases that move customers, survey answers, a deleted customer and a
deleted user. Raw writes (bulk inserts out of order, deletions in the middle of a chain)
and concurrent writers and folds are checked the same way.
"""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from analytics.models import EffectDay, EffectDelta, TransitionDay, TransitionDelta
from analytics.selectors import force_friction_by_stage, rollup_differences
from analytics.services import rollups_fold, rollups_rebuild
from common.exceptions import ApplicationError
from interactions.models import Interaction
from interactions.services import interaction_log
from stages.models import ActorKind, Direction, Stage, StageTransition
from stages.services import customer_move_stage

pytestmark = pytest.mark.django_db


def interactions_by_stage() -> dict[str | None, int]:
    today = timezone.now().date()
    rows = force_friction_by_stage(start=today - timedelta(days=400), end=today)
    totals: dict[str | None, int] = {}
    for row in rows:
        if row.interactions:
            totals[row.stage] = totals.get(row.stage, 0) + row.interactions
    return totals


def check() -> str:
    out = StringIO()
    call_command("check_rollups", stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_histories_leave_the_rollups_equal_to_the_raw_records(random_history, seed):
    random_history(seed)

    assert "match" in check()
    assert TransitionDelta.objects.exists()  # read before any fold: rollup + pending deltas

    rollups_fold()

    assert not TransitionDelta.objects.exists()
    assert not EffectDelta.objects.exists()
    assert TransitionDay.objects.exists()
    assert EffectDay.objects.exists()
    assert rollup_differences() == []

    random_history(seed + 100, customers=5)  # more writes on top of folded rollups

    assert rollup_differences() == []
    rollups_fold()
    assert rollup_differences() == []


def test_a_corrupted_rollup_row_is_reported_and_a_rebuild_repairs_it(random_history):
    random_history(7)
    rollups_fold()
    row = TransitionDay.objects.order_by("id").first()
    assert row is not None
    TransitionDay.objects.filter(pk=row.pk).update(transitions=row.transitions + 2)

    out = StringIO()
    with pytest.raises(CommandError, match="1 rollup row"):
        call_command("check_rollups", stdout=out)

    report = out.getvalue()
    assert "transitions" in report
    assert str(row.day) in report
    assert f"expected {{'transitions': {row.transitions}}}" in report
    assert f"found {{'transitions': {row.transitions + 2}}}" in report

    with pytest.raises(CommandError):
        call_command("check_rollups", "--rebuild", stdout=StringIO())
    assert "match" in check()


def test_a_missing_rollup_row_is_reported(random_history):
    random_history(8)
    rollups_fold()
    first = EffectDay.objects.order_by("id").first()
    assert first is not None
    EffectDay.objects.filter(pk=first.pk).delete()

    differences = rollup_differences()

    assert [d.rollup for d in differences] == ["effects"]
    assert differences[0].actual == {"interactions": 0, "weight": 0}


def test_a_rebuild_gives_what_the_triggers_gave(random_history):
    random_history(9)
    rollups_fold()
    before = set(TransitionDay.objects.values_list("day", "from_stage", "to_stage", "transitions"))

    rollups_rebuild()

    after = set(TransitionDay.objects.values_list("day", "from_stage", "to_stage", "transitions"))
    assert after == before
    assert rollup_differences() == []


def test_a_rolled_back_write_counts_nothing(customer_factory, stages):
    customer = customer_factory()
    deltas = TransitionDelta.objects.count()

    def write_then_fail() -> None:
        with transaction.atomic():
            customer_move_stage(customer=customer, to_stage=stages["purchase"], actor_kind="user")
            interaction_log(
                customer=customer, kind="call", outcome="positive", summary="x", logged_by=None
            )
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_then_fail()

    assert TransitionDelta.objects.count() == deltas
    assert rollup_differences() == []


def test_interactions_follow_their_customers_chain_whatever_order_it_is_written_in(
    customer_factory, stages
):
    """Raw writes, as an import would make them: transitions inserted in bulk and out of
    order, before and after the interactions they date, then one removed from the middle."""
    now = timezone.now()
    customer = customer_factory(created_at=now - timedelta(days=30))
    for days in (29, 20, 10, 1, 31):
        interaction_log(
            customer=customer,
            kind="meeting",
            outcome="positive",
            summary="x",
            logged_by=None,
            occurred_at=now - timedelta(days=days),
        )
    entry = StageTransition.objects.get(customer=customer)
    later, earlier = StageTransition.objects.bulk_create(
        [
            StageTransition(
                customer=customer,
                from_stage=stages["evaluation"],
                to_stage=stages["post_purchase"],
                occurred_at=now - timedelta(days=5),
                actor_kind=ActorKind.IMPORT,
                direction=Direction.SKIP,
            ),
            StageTransition(
                customer=customer,
                from_stage=stages["awareness"],
                to_stage=stages["evaluation"],
                occurred_at=now - timedelta(days=25),
                actor_kind=ActorKind.IMPORT,
                direction=Direction.FORWARD,
            ),
        ]
    )
    assert rollup_differences() == []
    assert interactions_by_stage() == {"awareness": 2, "evaluation": 2, "post_purchase": 1}

    earlier.delete()
    assert rollup_differences() == []
    entry.delete()  # the interactions before the first move fall to the next one
    assert rollup_differences() == []
    assert interactions_by_stage() == {"post_purchase": 5}
    StageTransition.objects.filter(pk=later.pk).delete()
    assert rollup_differences() == []
    assert interactions_by_stage() == {None: 5}
    Interaction.objects.filter(customer=customer).delete()
    rollups_fold()
    assert rollup_differences() == []
    assert not EffectDay.objects.filter(interactions__lt=0).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_folds_count_every_change_once(customer_factory, stages):
    customers = [customer_factory() for _ in range(6)]
    live = list(Stage.objects.filter(is_archived=False))
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for round_ in range(6):
                customer = customers[(index + round_) % len(customers)]
                customer.refresh_from_db()
                target = live[(index + round_ + 1) % len(live)]
                # Another thread may have moved them there meanwhile: a refusal, not an error.
                with contextlib.suppress(ApplicationError):
                    customer_move_stage(customer=customer, to_stage=target, actor_kind="user")
                interaction_log(
                    customer=customer, kind="call", outcome="positive", summary="x", logged_by=None
                )
                if round_ % 2:
                    rollups_fold(batch=3)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert rollup_differences() == []
    rollups_fold()
    assert rollup_differences() == []
    assert Interaction.objects.count() == 24
    with connection.cursor() as cursor:
        cursor.execute("SELECT SUM(interactions) FROM analytics_effectday")
        assert cursor.fetchone()[0] == 24


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_while_customers_move_and_interactions_are_logged_loses_nothing(
    customer_factory, stages
):
    customers = [customer_factory() for _ in range(4)]
    live = list(Stage.objects.filter(is_archived=False))
    errors: list[BaseException] = []
    writing = threading.Event()

    def write(index: int) -> None:
        try:
            for round_ in range(8):
                customer = customers[index]
                customer.refresh_from_db()
                with transaction.atomic():  # an interaction then a move, in one transaction
                    interaction_log(
                        customer=customer,
                        kind="call",
                        outcome="positive",
                        summary="x",
                        logged_by=None,
                    )
                    target = live[(index + round_ + 1) % len(live)]
                    if target.pk != customer.stage_id:
                        customer_move_stage(customer=customer, to_stage=target, actor_kind="user")
                writing.set()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def rebuild() -> None:
        try:
            writing.wait(timeout=30)
            for _ in range(3):
                rollups_rebuild(pause=0.01)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(customers))]
    threads.append(threading.Thread(target=rebuild))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert rollup_differences() == []
    assert Interaction.objects.count() == 32
