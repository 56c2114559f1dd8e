"""Concurrent moves of one customer, on real separate database connections."""

from __future__ import annotations

import itertools
import random
import threading

import pytest
from django.db import connection

from common.exceptions import ApplicationError
from customers.models import Customer
from stages.models import ActorKind, Stage, StageTransition
from stages.services import customer_move_stage

THREADS = 6
MOVES_PER_THREAD = 15


@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_leave_one_consistent_chain(customer_factory):
    customer = customer_factory()
    slugs = list(Stage.objects.values_list("slug", flat=True))
    start = threading.Barrier(THREADS)
    succeeded: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def mover(seed: int) -> None:
        rng = random.Random(seed)
        try:
            start.wait()
            for _ in range(MOVES_PER_THREAD):
                target = Stage.objects.get(slug=rng.choice(slugs))
                try:
                    customer_move_stage(
                        customer=Customer(pk=customer.pk),
                        to_stage=target,
                        actor_kind=ActorKind.API,
                        reason=f"thread {seed}",
                    )
                except ApplicationError:
                    continue  # another thread put the customer in that stage first
                with lock:
                    succeeded.append(seed)
        except BaseException as error:  # surfaced below, with the thread's context lost
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=mover, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    chain = list(StageTransition.objects.filter(customer_id=customer.pk).order_by("id"))
    assert len(chain) == len(succeeded) + 1  # every successful move, plus the entry
    assert len(succeeded) > THREADS  # the threads really did interleave many moves
    assert chain[0].from_stage_id is None
    for previous, current in itertools.pairwise(chain):
        assert current.from_stage_id == previous.to_stage_id
        assert current.from_stage_id != current.to_stage_id
        assert current.occurred_at >= previous.occurred_at
    customer.refresh_from_db()
    assert customer.stage_id == chain[-1].to_stage_id
    assert customer.stage_entered_at == chain[-1].occurred_at
