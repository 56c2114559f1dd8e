"""Send one request from several threads at once, each on its own database connection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection
from rest_framework.test import APIClient

THREADS = 8


def post_at_once(client: Callable[[], APIClient], url: str, body: dict[str, Any]) -> list[int]:
    """POST `body` to `url` from THREADS threads released together; their status codes."""
    start = threading.Barrier(THREADS)
    codes: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            api = client()
            start.wait()
            code = api.post(url, body, format="json").status_code
            with lock:
                codes.append(code)
        except BaseException as error:  # surfaced below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    return sorted(codes)
