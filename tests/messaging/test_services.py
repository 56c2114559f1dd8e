"""The outbox services in-process: idempotency, consent at send time, failure and retry."""

from __future__ import annotations

import pytest
from django.core import mail

from messaging.models import Channel, MessageKind, MessageState, OutboundMessage
from messaging.services import (
    DeliveryError,
    message_deliver,
    message_mark_failed,
    message_queue,
    message_retry,
)
from messaging.sms import LocmemSMSBackend

pytestmark = pytest.mark.django_db


def _queue(customer, *, key="k-1", kind=MessageKind.TRANSACTIONAL, channel=Channel.EMAIL):
    return message_queue(
        channel=channel,
        kind=kind,
        to=customer.email if channel == Channel.EMAIL else "+15550100",
        subject="Hello",
        body_text="Hi there",
        idempotency_key=key,
        customer=customer,
    )


def test_the_same_reason_never_makes_two_messages(customer_factory):
    customer = customer_factory()

    first, created = _queue(customer)
    again, created_again = _queue(customer)

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert OutboundMessage.objects.count() == 1


def test_delivery_sends_once_with_a_stable_message_id(customer_factory):
    message, _ = _queue(customer_factory())

    message_deliver(message_id=message.pk)
    message_deliver(message_id=message.pk)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == message.message_id
    message.refresh_from_db()
    assert message.state == MessageState.SENT
    assert message.attempts == 1


def test_marketing_without_consent_is_suppressed_at_send_time(customer_factory):
    from consent.services import consent_record

    customer = customer_factory(email_consent=True)
    message, _ = _queue(customer, kind=MessageKind.MARKETING)
    # Withdrawn since.
    consent_record(customer=customer, channel="email", granted=False, method="dashboard")

    message_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == MessageState.SUPPRESSED
    assert "consent" in message.error
    assert mail.outbox == []


def test_transactional_messages_do_not_need_marketing_consent(customer_factory):
    message, _ = _queue(customer_factory(email_consent=False))

    message_deliver(message_id=message.pk)

    assert len(mail.outbox) == 1


def test_sms_goes_through_the_configured_backend(customer_factory):
    LocmemSMSBackend.outbox.clear()
    message, _ = _queue(customer_factory(sms_consent=True), channel=Channel.SMS, kind="marketing")

    message_deliver(message_id=message.pk)

    assert [sms.body for sms in LocmemSMSBackend.outbox] == ["Hi there"]


def test_a_provider_failure_is_recorded_and_raised(customer_factory, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    message, _ = _queue(customer_factory())

    with pytest.raises(DeliveryError):
        message_deliver(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == MessageState.QUEUED
    assert message.attempts == 1
    assert "ConnectionRefused" in message.error or "Errno" in message.error


def test_a_failed_message_can_be_retried(customer_factory, django_capture_on_commit_callbacks):
    message, _ = _queue(customer_factory())
    message_mark_failed(message_id=message.pk, error="gave up")
    message.refresh_from_db()
    assert message.state == MessageState.FAILED

    with django_capture_on_commit_callbacks() as callbacks:
        message_retry(message=message)

    assert message.state == MessageState.QUEUED
    assert len(callbacks) == 1  # handed to the workers again
