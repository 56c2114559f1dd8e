"""The home page reads its numbers side by side, each selector on its own connection: the
page shows exactly what reading them one after the other shows, and a failure in one
selector is the page's failure, not a silently missing number."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from accounts.roles import SALES_REP
from dashboard.concurrent import gather
from dashboard.filters import read_filters
from dashboard.views.home import home_numbers
from interactions.services import interaction_log
from stages.services import customer_move_stage

# Committed data: the threads read on their own connections, which see only what has
# been committed (inside a test's transaction everything runs in the calling thread).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def history(customer_factory, stages, make_user):
    rep = make_user(username="rep", role=SALES_REP)
    now = timezone.now()
    customers = [
        customer_factory(stage="awareness", owner=rep, created_at=now - timedelta(days=9))
        for _ in range(4)
    ]
    for n, customer in enumerate(customers[:3]):
        customer_move_stage(
            customer=customer,
            to_stage=stages["evaluation"],
            actor_kind="user",
            occurred_at=now - timedelta(days=8 - n),
        )
    customer_move_stage(
        customer=customers[0],
        to_stage=stages["purchase"],
        actor_kind="user",
        occurred_at=now - timedelta(days=2),
    )
    interaction_log(
        customer=customers[1], kind="call", summary="Angry", logged_by=rep,
        outcome="complaint", occurred_at=now - timedelta(days=1),
    )  # fmt: skip
    return rep


def test_the_numbers_read_side_by_side_are_those_read_one_after_the_other(
    history, admin_user, settings
):
    _, filters = read_filters(QueryDict(""))
    settings.FLYWHEEL_DASHBOARD_THREADS = 3
    side_by_side = home_numbers(filters, admin_user)
    settings.FLYWHEEL_DASHBOARD_THREADS = 1
    one_by_one = home_numbers(filters, admin_user)

    assert side_by_side == one_by_one
    assert sum(row.stays for row in one_by_one.velocity) == 4  # the history is in them


def test_calls_run_on_other_threads_and_a_failure_reaches_the_caller(settings):
    settings.FLYWHEEL_DASHBOARD_THREADS = 3
    names = gather({"a": lambda: threading.current_thread().name, "b": lambda: 2})
    assert names["a"].startswith("dashboard")
    assert names["b"] == 2

    def workers() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            return cursor.fetchone()[0]

    # The pool spreads the queries over the cores; each of them keeps to one.
    assert gather({"a": workers, "b": workers}) == {"a": "0", "b": "0"}

    def broken() -> None:
        raise ValueError("selector failed")

    with pytest.raises(ValueError, match="selector failed"):
        gather({"fine": lambda: 1, "broken": broken})
