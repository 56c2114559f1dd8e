"""Real processes for tests that depend on them: a Celery worker and a local SMTP server.

The worker is `celery -A flywheel_crm worker` in a subprocess, on the test database and
this run's own queue (settings.CELERY_TASK_DEFAULT_QUEUE); tests using it must be
transactional so that the worker sees their rows. The SMTP sink is aiosmtpd on a free port,
collecting every message it is given.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
# Celery's INFO lines for a task: "Task app.tasks.name[<id>] received|succeeded in…|retry:…".
_TASK_LINE = re.compile(
    r"Task [\w.]+\[(?P<id>[0-9a-f-]+)\] (?P<event>received|succeeded|retry|raised|failed)"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SMTPSink:
    """An SMTP server on localhost that keeps what it receives (thread-safe)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self.fail_next = 0  # answer the next N messages with a temporary failure
        self.delay = 0.0  # seconds to think before accepting each message (a slow provider)
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
            if server.transport is None or server.transport.is_closing():
                # The sender hung up before we accepted: like a real server, keep nothing.
                return "421 Connection lost"
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return "451 Try again later"
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, count: int, *, timeout: float = 30) -> list[Message]:
        """Wait until at least `count` messages have arrived; return them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        with self._lock:
            raise AssertionError(f"expected {count} messages, got {len(self.messages)}")


class Worker:
    """A Celery worker subprocess on the test database and this run's queue."""

    def __init__(self, *, env: dict[str, str], concurrency: int = 1) -> None:
        self.env = env
        self.concurrency = concurrency
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []
        self._ready = threading.Event()

    def start(self, *, timeout: float = 60) -> Worker:
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        self._ready.clear()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "flywheel_crm", "worker",
                "--queues", queue, "--hostname", f"{queue}-{time.monotonic_ns()}@%h",
                "--concurrency", str(self.concurrency), "--pool", "prefork",
                "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # SIGKILL reaches the whole process group
        )  # fmt: skip
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise AssertionError("the Celery worker did not start:\n" + self.log())
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line)
            if " ready." in line:
                self._ready.set()

    def log(self) -> str:
        return "".join(self.output[-200:])

    def idle(self) -> bool:
        """Nothing left to do: the queue is empty and every task the worker received has
        finished (succeeded, failed or was handed back for a retry)."""
        # Counted per task id: a retry is received again under the same id.
        received: Counter[str] = Counter()
        finished: Counter[str] = Counter()
        for line in list(self.output):
            match = _TASK_LINE.search(line)
            if match:
                (received if match["event"] == "received" else finished)[match["id"]] += 1
        with redis.Redis.from_url(settings.CELERY_BROKER_URL) as client:
            queued = client.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        return queued == 0 and all(finished[task] >= n for task, n in received.items())

    def wait_idle(self, *, timeout: float = 30) -> None:
        """Wait until the worker has nothing left to do, so that what it would still send
        has been sent: "nothing more arrives" is then a fact, not a guess about time."""

        # Idle twice in a row, a moment apart: a task published by the last one to finish is
        # in the queue or received by then.
        def settled() -> bool:
            if not self.idle():
                return False
            time.sleep(0.2)
            return self.idle()

        wait_until(settled, timeout=timeout, what="the worker to finish:\n" + self.log())

    def kill(self) -> None:
        """SIGKILL the worker and all its children at once, as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a worker that shares this test run's database and queue."""
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "flywheel_crm.settings.test",
        "DATABASE_URL": f"postgres://{user}{password}@{host}:{port}/{db['NAME']}",
        "TEST_REDIS_URL": settings.REDIS_URL,
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@pytest.fixture
def smtp_sink() -> Iterator[SMTPSink]:
    sink = SMTPSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def start_worker(transactional_db: None) -> Iterator[Callable[..., Worker]]:
    """Start Celery workers (stopped at the end of the test): `start_worker(smtp=sink)`."""
    started: list[Worker] = []

    def start(*, smtp: SMTPSink | None = None, concurrency: int = 1, **env: str) -> Worker:
        if smtp is not None:
            env = {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(smtp.port),
                **env,
            }
        worker = Worker(env=worker_env(**env), concurrency=concurrency).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
