"""Reading a page's numbers side by side: each selector on its own database connection.

A dashboard page calls a dozen selectors; each is a query or two that PostgreSQL answers
while Python waits. Run one after the other, the page costs the sum of them; run by a few
threads, each with its own connection, the database works on several at once and the page
costs little more than the slowest (the GIL is released while a thread waits on its query).

The threads are a small pool shared by the process (`FLYWHEEL_DASHBOARD_THREADS`, 3 by
default; 0 or 1 runs everything in the calling thread). Each thread keeps its connection
between pages, under the same `CONN_MAX_AGE` and health checks as a request's. Their
connections run each query on one core (`max_parallel_workers_per_gather = 0`): the pool
already spreads the page's queries over the cores, and a query that also starts parallel
workers competes with its siblings for them (measured at a million customers on 2 cores:
the year's wheel 89 ms at the median instead of 99).

Two cases run in the calling thread instead, on its own connection:
- inside a transaction (`atomic`): the caller's uncommitted writes, and its snapshot, are
  visible only on its connection (tests run in one);
- a single call, where there is nothing to overlap.

Numbers read side by side come from a few snapshots taken within milliseconds of each other
instead of one; a write committed in between shows in some and not others until the next
read, as it would between two page loads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.backends.signals import connection_created

THREAD_PREFIX = "dashboard"

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _one_core_per_query(sender: Any, connection: Any, **kwargs: Any) -> None:
    """A new connection of a pool thread: no parallel workers for its queries."""
    if threading.current_thread().name.startswith(THREAD_PREFIX):
        with connection.cursor() as cursor:
            cursor.execute("SET max_parallel_workers_per_gather = 0")


def threads() -> int:
    return int(getattr(settings, "FLYWHEEL_DASHBOARD_THREADS", 3))


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            connection_created.connect(_one_core_per_query, dispatch_uid=THREAD_PREFIX)
            _pool = ThreadPoolExecutor(max_workers=threads(), thread_name_prefix=THREAD_PREFIX)
        return _pool


def _on_own_connection(call: Callable[[], Any]) -> Any:
    # As at the start and end of a request: drop this thread's connection if it is broken
    # or older than CONN_MAX_AGE (the next query opens a new one).
    close_old_connections()
    try:
        return call()
    finally:
        close_old_connections()


def gather(calls: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
    """Call each of `calls` and return their results by name; side by side when that is
    safe (see the module's docstring), else one after the other. An exception in any call
    is raised here once all have finished."""
    if threads() <= 1 or len(calls) <= 1 or connection.in_atomic_block:
        return {name: call() for name, call in calls.items()}
    pool = _executor()
    futures: dict[str, Future[Any]] = {
        name: pool.submit(_on_own_connection, call) for name, call in calls.items()
    }
    wait(futures.values())  # all of them, even when one fails
    return {name: future.result() for name, future in futures.items()}
