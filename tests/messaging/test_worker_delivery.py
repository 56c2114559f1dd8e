"""Messages delivered by a real Celery worker to a real (local) SMTP server."""

from __future__ import annotations

import time

import pytest

from messaging.models import MessageState, OutboundMessage
from messaging.services import message_queue, message_retry

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _queue(customer, key: str) -> OutboundMessage:
    message, _ = message_queue(
        channel="email",
        kind="transactional",
        to=customer.email,
        subject="Your case is closed",
        body_text="How did we do?",
        idempotency_key=key,
        customer=customer,
    )
    return message


def _wait_for_state(message: OutboundMessage, state: str, timeout: float = 30) -> OutboundMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message.refresh_from_db()
        if message.state == state:
            return message
        time.sleep(0.1)
    raise AssertionError(f"message stayed {message.state} ({message.error})")


def test_the_worker_sends_a_queued_message_once(customer_factory, smtp_sink, start_worker):
    worker = start_worker(smtp=smtp_sink)
    customer = customer_factory()

    message = _queue(customer, "case-closed:1")
    _queue(customer, "case-closed:1")  # the same reason again

    [received] = smtp_sink.wait_for(1)
    assert received["To"] == customer.email
    assert received["Message-ID"] == message.message_id
    _wait_for_state(message, MessageState.SENT)
    worker.wait_idle()
    assert len(smtp_sink.messages) == 1


def test_temporary_smtp_failures_are_retried_until_sent(customer_factory, smtp_sink, start_worker):
    smtp_sink.fail_next = 2
    start_worker(smtp=smtp_sink, FLYWHEEL_RETRY_BACKOFF_SECONDS="0.2")

    message = _queue(customer_factory(), "retry:1")

    smtp_sink.wait_for(1)
    message = _wait_for_state(message, MessageState.SENT)
    assert message.attempts == 3
    assert message.error == ""


def test_after_the_last_retry_the_message_fails_visibly_and_can_be_retried(
    customer_factory, smtp_sink, start_worker
):
    smtp_sink.fail_next = 100
    start_worker(
        smtp=smtp_sink, FLYWHEEL_RETRY_BACKOFF_SECONDS="0.1", FLYWHEEL_SEND_MAX_RETRIES="2"
    )
    message = _queue(customer_factory(), "fails:1")

    message = _wait_for_state(message, MessageState.FAILED)
    assert message.attempts == 3
    assert "451" in message.error

    smtp_sink.fail_next = 0
    message_retry(message=message)
    _wait_for_state(message, MessageState.SENT)
    assert len(smtp_sink.wait_for(1)) == 1
