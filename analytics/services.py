"""Writes of the analytics app: folding pending deltas into the rollups, and rebuilding them.

The rollups themselves are written by triggers on the raw tables (see `analytics.rollups`);
nothing else in the product needs to call anything here for its numbers to be counted.
"""

from __future__ import annotations

from django.db import connection, transaction

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


def rollups_rebuild() -> None:
    """Recompute every rollup from the raw records, discarding all pending deltas.

    Takes the delta tables in EXCLUSIVE mode first: writers already holding a delta commit
    before it is granted (so their records are read from the raw tables), and writers that
    come later wait to append theirs until the rebuild commits (so theirs are folded on top).
    Writes to transitions, interactions and survey answers pause while it runs.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        tables = ", ".join(r.delta_table for r in ROLLUPS)
        cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
        for rollup in ROLLUPS:
            cursor.execute(f"DELETE FROM {rollup.delta_table}")  # noqa: S608 - table and column names are our constants; values are bound
            cursor.execute(f"DELETE FROM {rollup.table}")  # noqa: S608 - table and column names are our constants; values are bound
            columns = ", ".join(rollup.keys + rollup.values)
            cursor.execute(f"INSERT INTO {rollup.table} ({columns}) {rollup.raw_sql}")
