"""A worker killed with SIGKILL in the middle of a bulk survey send loses nothing and sends
nothing twice: after a new worker starts (and the periodic sweeps run, as beat would run
them), every invitation has been emailed exactly once.

"Exactly once" is judged as a mail provider judges it, by Message-ID: a message the provider
accepted in the instant before the worker died, and that the worker had no time to record,
is sent again with the same Message-ID, which providers drop. The test counts those raw
repeats too and allows at most one per killed worker process.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest

from messaging.models import MessageState, OutboundMessage
from messaging.services import messages_requeue_stale
from surveys.models import Invitation, InvitationState, Survey
from surveys.services import survey_batches_resume, survey_send_bulk

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 150
CONCURRENCY = 2


def _wait(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_mid_batch_then_restart_sends_every_invitation_exactly_once(
    customer_factory, smtp_sink, start_worker
):
    survey = Survey.objects.create(kind="csat", name="Crash CSAT", question="Happy with us?")
    for _ in range(CUSTOMERS):
        customer_factory(tags=["crash"])
    smtp_sink.delay = 0.02  # a provider that takes its time, so the kill lands mid-send
    worker = start_worker(smtp=smtp_sink, concurrency=CONCURRENCY, CELERY_VISIBILITY_TIMEOUT="5")

    batch = survey_send_bulk(survey=survey, filters={"tag": "crash"}, sent_by=None)
    _wait(lambda: smtp_sink.count() >= CUSTOMERS // 3, timeout=60, what="a third of the mail")
    worker.kill()  # SIGKILL, whole process group: no cleanup, no acknowledgements
    at_kill = smtp_sink.count()
    assert at_kill < CUSTOMERS, "the kill came too late to interrupt anything"

    start_worker(smtp=smtp_sink, concurrency=CONCURRENCY, CELERY_VISIBILITY_TIMEOUT="5")
    # What beat would do a few minutes later: hand back work that stopped moving.
    survey_batches_resume(older_than=timedelta(0))
    messages_requeue_stale(older_than=timedelta(0))
    _wait(
        lambda: OutboundMessage.objects.filter(state=MessageState.SENT).count() >= CUSTOMERS,
        timeout=90,
        what="every message to be sent after the restart",
    )
    time.sleep(1)  # let any stray duplicate arrive before counting

    batch.refresh_from_db()
    invitations = Invitation.objects.filter(batch=batch)
    assert invitations.count() == CUSTOMERS
    assert set(invitations.values_list("state", flat=True)) == {InvitationState.SENT}
    expected_ids = set(
        OutboundMessage.objects.filter(pk__in=invitations.values("message_id")).values_list(
            "message_id", flat=True
        )
    )
    assert len(expected_ids) == CUSTOMERS

    received = Counter(message["Message-ID"] for message in smtp_sink.messages)
    assert set(received) == expected_ids  # every invitation arrived, nothing else did
    repeats = sum(n - 1 for n in received.values())
    assert repeats <= CONCURRENCY, received.most_common(3)
    assert OutboundMessage.objects.filter(state=MessageState.SENT).count() == CUSTOMERS
