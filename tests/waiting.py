"""Wait for a condition, never for a fixed time: a test is as fast as the system allows and
does not turn flaky on a slow machine."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], *, timeout: float = 30, interval: float = 0.05, what: str = ""
) -> T:
    """Call `condition` until it returns something truthy, and return that; fail after
    `timeout` seconds, saying `what` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(interval)
