"""Writes of the analytics app: folding pending deltas into the rollups, and rebuilding them.

The rollups themselves are written by triggers on the raw tables (see `analytics.rollups`);
nothing else in the product needs to call anything here for its numbers to be counted.
"""

from __future__ import annotations

import time

from django.db import OperationalError, connection, transaction

from analytics.rollups import FOLD_LOCK_KEY, ROLLUPS

FOLD_BATCH = 50_000


def rollups_fold(*, batch: int = FOLD_BATCH) -> int:
    """Move pending deltas into the rollup rows; returns how many delta rows were folded.

    Each batch deletes the deltas it folds in the statement that adds them to the rollup, so
    a delta is counted exactly once whatever happens to the process. One fold runs at a time
    (an advisory lock; a second caller returns 0 at once); readers see the same totals
    before, during and after (rollup + pending deltas).
    """
    folded = 0
    for rollup in ROLLUPS:
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return folded
                cursor.execute(
                    f"SELECT COUNT(*) FROM (SELECT 1 FROM {rollup.delta_table} LIMIT %s) AS x",  # noqa: S608 - table and column names are our constants; values are bound
                    [batch],
                )
                pending = cursor.fetchone()[0]
                if not pending:
                    break
                cursor.execute(rollup.fold_sql(), [batch])
                # Keys whose deltas cancelled out (a record logged then deleted) weigh nothing.
                zero = " AND ".join(f"{v} = 0" for v in rollup.values)
                cursor.execute(f"DELETE FROM {rollup.table} WHERE {zero}")  # noqa: S608 - table and column names are our constants; values are bound
                folded += pending
            if pending < batch:
                break
    return folded


LOCK_NOT_AVAILABLE = "55P03"


def rollups_rebuild(*, attempts: int = 600, pause: float = 0.1) -> None:
    """Recompute every rollup from the raw records, discarding all pending deltas.

    Takes the delta tables in EXCLUSIVE mode first: writers already holding a delta commit
    before it is granted (so their records are read from the raw tables), and writers that
    come later wait to append theirs until the rebuild commits (so theirs are folded on top).
    The locks are asked for all at once with NOWAIT and the attempt is repeated until they
    are free: a rebuild never waits while holding some of them, so it can never deadlock
    with a writer (which would abort the writer's transaction). Writes to transitions,
    interactions and survey answers pause while it runs.
    """
    tables = ", ".join(r.delta_table for r in ROLLUPS)
    for attempt in range(attempts):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE NOWAIT")
                for rollup in ROLLUPS:
                    cursor.execute(f"DELETE FROM {rollup.delta_table}")  # noqa: S608 - ours
                    cursor.execute(f"DELETE FROM {rollup.table}")  # noqa: S608 - ours
                    columns = ", ".join(rollup.keys + rollup.values)
                    cursor.execute(f"INSERT INTO {rollup.table} ({columns}) {rollup.raw_sql}")
            return
        except OperationalError as exc:
            busy = getattr(exc.__cause__, "pgcode", None) == LOCK_NOT_AVAILABLE
            if not busy or attempt == attempts - 1:
                raise
        time.sleep(pause)
