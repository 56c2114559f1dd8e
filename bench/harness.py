"""What the benchmarks share: a fresh database, a Celery worker, timing and progress.

Each benchmark runs against its own database (`flywheel_bench`, recreated on every run)
and its own Celery queue, with a worker started here with the production-like worker
settings of flywheel_crm.settings.base (prefork, concurrency 2, acks_late, prefetch 1).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB = os.environ.get("BENCH_DATABASE", "flywheel_bench")
QUEUE = f"bench-{uuid.uuid4().hex[:8]}"


def configure_environment() -> None:
    """Point this process (and the workers it starts) at the bench database and queue."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flywheel_crm")
    os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + BENCH_DB
    os.environ["CELERY_QUEUE"] = QUEUE
    os.environ["DJANGO_SETTINGS_MODULE"] = "flywheel_crm.settings.local"
    # Measured as served: DEBUG keeps every query of a request in memory, production does not.
    os.environ["DJANGO_DEBUG"] = "false"
    # Sending measures our pipeline, not a provider's network: a backend that accepts all.
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def recreate_database() -> None:
    import psycopg2
    from django.conf import settings

    db = settings.DATABASES["default"]
    connection = psycopg2.connect(
        dbname="postgres",
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{BENCH_DB}"')
    connection.close()


class Worker:
    """`celery worker` on the bench queue; stopped with the benchmark."""

    def __init__(self, concurrency: int = 2) -> None:
        self.concurrency = concurrency
        self.process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self.output: list[str] = []

    def __enter__(self) -> Worker:
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "flywheel_crm", "worker",
                "--queues", QUEUE, "--concurrency", str(self.concurrency),
                "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "--hostname", f"{QUEUE}@%h",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        # With WARNING logging there is no "ready" line: ping until the worker answers.
        from flywheel_crm.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            replies = app.control.ping(destination=[f"{QUEUE}@{os.uname().nodename}"], timeout=1)
            if replies:
                return self
        raise RuntimeError("the bench worker did not start:\n" + "".join(self.output[-50:]))

    def _read(self) -> None:
        if self.process is None or self.process.stdout is None:
            return
        for line in self.process.stdout:
            self.output.append(line)

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@dataclass(frozen=True)
class Measurement:
    name: str
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def wait_until(done: Callable[[], int], *, total: int, label: str, timeout: float = 3600) -> float:
    """Poll `done()` (units finished) with a progress bar until it reaches `total`.

    Returns the seconds elapsed since the call.
    """
    from common.progress import Progress

    started = time.monotonic()
    seen = 0
    with Progress(total, label=label, stream=sys.stderr) as bar:
        while seen < total:
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{label}: {seen}/{total} after {timeout:.0f}s")
            now_done = done()
            if now_done > seen:
                bar.advance(now_done - seen)
                seen = now_done
            if seen < total:
                time.sleep(0.2)
    return time.monotonic() - started
