"""A real worker keeps working through a restart of its Redis broker.

The worker runs as `make run` and docker compose start it, on a Redis of this test's own. It
holds a message it is sending (slowly: the SMTP server takes its time) and messages due
later (countdown tasks, held unacknowledged until due) when Redis restarts. It must reconnect
instead of dying (kombu 5.7's "'NoneType' object has no attribute 'hostname'", see
flywheel_crm/broker.py), and each message must go out once, without waiting an hour for the
visibility timeout.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from flywheel_crm.celery import app
from messaging.models import MessageState, OutboundMessage
from messaging.services import message_queue
from messaging.tasks import message_send
from tests.realworld import ROOT, Worker, free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class PrivateRedis:
    """A redis-server of this test's own, with append-only persistence as in production
    (docker-compose.yml), so that a restart keeps the queued and unacknowledged tasks."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.directory), "--appendonly", "yes", "--save", "",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("the private redis-server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file and exits
            self.process.wait(timeout=10)


class ProductionLikeWorker(Worker):
    """A worker with the options of Procfile.dev and docker-compose.yml: gossip, mingle and
    heartbeat on (the test suite's own workers turn them off)."""

    def start(self, *, timeout: float = 60) -> Worker:
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "flywheel_crm", "worker",
                "--queues", queue, "--hostname", f"{queue}-{time.monotonic_ns()}@%h",
                "--concurrency", str(self.concurrency), "--loglevel", "INFO",
            ],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        if not self._ready.wait(timeout):
            self.stop()
            raise AssertionError("the Celery worker did not start:\n" + self.log())
        return self


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def worker_on(private_redis, smtp_sink) -> Iterator[ProductionLikeWorker]:
    from tests.realworld import worker_env

    worker = ProductionLikeWorker(
        env=worker_env(
            TEST_REDIS_URL=private_redis.url,
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_PORT=str(smtp_sink.port),
        ),
        concurrency=2,
    )
    worker.start()
    yield worker
    worker.stop()


def _queued(customer, key: str) -> OutboundMessage:
    message, _ = message_queue(
        channel="email",
        kind="transactional",
        to=customer.email,
        subject=key,
        body_text="Hello",
        idempotency_key=key,
        customer=customer,
        enqueue=False,  # published below, to the private Redis
    )
    return message


def test_the_worker_survives_a_redis_restart_and_sends_each_message_once(
    customer_factory, smtp_sink, private_redis, worker_on
):
    smtp_sink.delay = 3  # a slow provider: a message is being sent during the restart
    customer = customer_factory()
    later = [_queued(customer, f"later-{n}") for n in range(3)]
    slow = _queued(customer, "slow")
    with app.connection_for_write(private_redis.url) as connection:
        for message in later:  # held by the worker, unacknowledged, until due
            message_send.apply_async((message.pk,), countdown=8, connection=connection)
        message_send.apply_async((slow.pk,), connection=connection)
    deadline = time.monotonic() + 20
    while worker_on.log().count("] received") < 4:
        assert time.monotonic() < deadline, worker_on.log()
        time.sleep(0.1)
    time.sleep(0.5)

    private_redis.stop()
    time.sleep(2)
    private_redis.start()

    expected = ["later-0", "later-1", "later-2", "slow"]
    try:
        smtp_sink.wait_for(len(expected), timeout=30)
    except AssertionError as error:
        raise AssertionError(f"{error}; the worker:\n{worker_on.log()}") from None
    time.sleep(2)  # anything sent twice would have arrived by now
    assert worker_on.process is not None
    assert worker_on.process.poll() is None, worker_on.log()
    assert sorted(m["Subject"] for m in smtp_sink.messages) == expected
    states = OutboundMessage.objects.filter(customer=customer).values_list("state", flat=True)
    assert set(states) == {MessageState.SENT}
