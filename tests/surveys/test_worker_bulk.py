"""A bulk send worked through by a real Celery worker, delivered to a real (local) SMTP server.

Every customer of the batch gets exactly one email, with their own link, even when some of
them were already invited by an earlier run of the batch that died, and when the batch task is
delivered again after the batch is done.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from email.message import Message

import pytest

from messaging.models import OutboundMessage
from surveys.models import Invitation, InvitationSource, Survey, SurveyBatch
from surveys.services import batch_invitation_key, survey_invite, survey_send_bulk
from surveys.tasks import survey_batch_process
from surveys.tokens import invitation_id_from_token

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 50
ALREADY_INVITED = 10


def _text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    raise AssertionError("no text part")


def _invitation_of(message: Message) -> int:
    [token] = re.findall(r"/s/([^/\s]+)/", _text(message))
    invitation_id = invitation_id_from_token(token)
    assert invitation_id is not None, token
    return invitation_id


def _wait_until_done(batch: SurveyBatch, timeout: float = 60) -> SurveyBatch:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if batch.state == SurveyBatch.State.DONE:
            return batch
        time.sleep(0.1)
    raise AssertionError(f"the batch stayed {batch.state} at {batch.processed}/{batch.total}")


def test_a_bulk_send_emails_every_customer_exactly_once(customer_factory, smtp_sink, start_worker):
    survey = Survey.objects.create(kind="nps", name="Worker NPS", question="Would you?")
    customers = [customer_factory(tags=["vip"]) for _ in range(CUSTOMERS)]
    bystander = customer_factory(tags=["other"])
    batch = survey_send_bulk(survey=survey, filters={"tag": "vip"}, sent_by=None)
    # An earlier run that died after inviting the first customers: their invitations and
    # emails are committed, the batch's progress is not.
    for customer in customers[:ALREADY_INVITED]:
        survey_invite(
            survey=survey,
            customer=customer,
            source=InvitationSource.BULK,
            batch=batch,
            idempotency_key=batch_invitation_key(batch.pk, customer.pk),
        )

    worker = start_worker(smtp=smtp_sink)
    received = smtp_sink.wait_for(CUSTOMERS, timeout=90)
    batch = _wait_until_done(batch)

    invitations = {i.pk: i for i in Invitation.objects.select_related("message")}
    assert len(invitations) == CUSTOMERS
    assert {i.customer_id for i in invitations.values()} == {c.pk for c in customers}
    per_invitation = Counter(_invitation_of(message) for message in received)
    assert per_invitation == dict.fromkeys(invitations, 1)
    for message in received:
        invitation = invitations[_invitation_of(message)]
        assert invitation.message is not None
        assert message["Message-ID"] == invitation.message.message_id
        assert message["To"] == invitation.customer.email
    assert (batch.total, batch.processed, batch.sent, batch.skipped, batch.failed) == (
        CUSTOMERS,
        CUSTOMERS,
        CUSTOMERS,
        0,
        0,
    )
    assert batch.percent == 100
    assert not Invitation.objects.filter(customer=bystander).exists()

    # The batch task delivered again, even with its progress lost: nothing new is sent.
    SurveyBatch.objects.filter(pk=batch.pk).update(state="sending", cursor=0)
    survey_batch_process.delay(batch.pk)
    batch = _wait_until_done(batch)
    time.sleep(1.0)  # let any (wrong) second email arrive

    assert len(smtp_sink.messages) == CUSTOMERS, worker.log()
    assert Invitation.objects.count() == CUSTOMERS
    assert OutboundMessage.objects.count() == CUSTOMERS
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {"sent"}
    assert (batch.total, batch.processed, batch.sent) == (CUSTOMERS, CUSTOMERS, CUSTOMERS)
