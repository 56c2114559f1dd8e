"""Bulk sends, chunk by chunk in this process: every customer once, skips recorded, resumable.

The same batch run by a real Celery worker is in test_worker_bulk.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from common.exceptions import ApplicationError
from messaging.models import OutboundMessage
from stages.models import Stage
from surveys import services, tasks
from surveys.models import Invitation, InvitationSource, Survey, SurveyBatch
from surveys.services import (
    batch_invitation_key,
    survey_batch_run,
    survey_batch_step,
    survey_batches_resume,
    survey_invite,
    survey_send_bulk,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch) -> list[int]:
    """The batch ids handed to the workers (the Celery task is not really published)."""
    sent: list[int] = []
    monkeypatch.setattr(tasks.survey_batch_process, "delay", sent.append)
    return sent


def step(batch: SurveyBatch, size: int) -> SurveyBatch:
    """One chunk of the batch, in this process."""
    stepped = survey_batch_step(batch_id=batch.pk, chunk_size=size)
    assert stepped is not None
    return stepped


def run_in_chunks(batch: SurveyBatch, size: int = 3) -> SurveyBatch:
    for _ in range(1000):
        batch = step(batch, size)
        if not batch.is_running:
            return batch
    raise AssertionError("the batch never finished")


def test_every_matching_customer_is_invited_once(
    customer_factory, surveys, support, published, django_capture_on_commit_callbacks
):
    vips = [customer_factory(tags=["vip"]) for _ in range(7)]
    others = [customer_factory() for _ in range(2)]

    with django_capture_on_commit_callbacks(execute=True):
        batch = survey_send_bulk(survey=surveys["nps"], filters={"tag": "vip"}, sent_by=support)

    assert published == [batch.pk]
    assert (batch.state, batch.total, batch.processed, batch.percent) == ("queued", 7, 0, 0)

    batch = run_in_chunks(batch)

    assert (batch.state, batch.total, batch.processed, batch.sent) == ("done", 7, 7, 7)
    assert (batch.skipped, batch.failed, batch.percent) == (0, 0, 100)
    invitations = Invitation.objects.filter(batch=batch)
    assert sorted(invitations.values_list("customer_id", flat=True)) == sorted(c.pk for c in vips)
    assert {i.idempotency_key for i in invitations} == {
        batch_invitation_key(batch.pk, c.pk) for c in vips
    }
    assert set(invitations.values_list("source", "sent_by", "state")) == {
        (InvitationSource.BULK, support.pk, "sent")
    }
    assert OutboundMessage.objects.count() == 7
    assert not Invitation.objects.filter(customer__in=others).exists()
    assert batch.started_at is not None
    assert batch.finished_at is not None


def test_progress_is_committed_chunk_by_chunk(customer_factory, surveys, published):
    for _ in range(5):
        customer_factory(tags=["vip"])
    batch = survey_send_bulk(survey=surveys["csat"], filters={"tag": "vip"}, sent_by=None)

    batch = step(batch, 2)

    assert (batch.state, batch.processed, batch.sent, batch.percent) == ("sending", 2, 2, 40)
    assert Invitation.objects.filter(batch=batch).count() == 2


def test_a_customer_with_an_open_invitation_is_skipped_with_the_reason(
    customer_factory, surveys, invite, published
):
    customers = [customer_factory(tags=["vip"]) for _ in range(3)]
    earlier = invite(customers[1], "nps")
    batch = survey_send_bulk(survey=surveys["nps"], filters={"tag": "vip"}, sent_by=None)

    batch = run_in_chunks(batch)

    assert (batch.total, batch.processed, batch.sent, batch.skipped) == (3, 3, 2, 1)
    skipped = Invitation.objects.get(batch=batch, customer=customers[1])
    assert skipped.state == "skipped"
    assert f"#{earlier.pk}" in skipped.reason
    assert OutboundMessage.objects.filter(customer=customers[1]).count() == 1


def test_running_a_finished_batch_again_changes_nothing(customer_factory, surveys, published):
    for _ in range(4):
        customer_factory()
    batch = run_in_chunks(survey_send_bulk(survey=surveys["ces"], filters={}, sent_by=None))

    again = survey_batch_run(batch_id=batch.pk)
    assert again is not None
    assert again.state == "done"
    # Even a batch whose progress was lost starts again without duplicates.
    SurveyBatch.objects.filter(pk=batch.pk).update(state="sending", cursor=0, processed=0)
    batch = run_in_chunks(batch, size=1)

    assert (batch.state, batch.total, batch.processed, batch.sent) == ("done", 4, 4, 4)
    assert Invitation.objects.count() == 4
    assert OutboundMessage.objects.count() == 4


def test_customers_already_invited_by_the_batch_are_not_invited_again(
    customer_factory, surveys, published
):
    customers = [customer_factory(tags=["vip"]) for _ in range(5)]
    batch = survey_send_bulk(survey=surveys["nps"], filters={"tag": "vip"}, sent_by=None)
    # A run that died after inviting two customers (its invitations committed).
    for customer in customers[:2]:
        survey_invite(
            survey=surveys["nps"],
            customer=customer,
            source=InvitationSource.BULK,
            batch=batch,
            idempotency_key=batch_invitation_key(batch.pk, customer.pk),
        )

    batch = run_in_chunks(batch, size=2)

    assert (batch.total, batch.processed, batch.sent) == (5, 5, 5)
    assert Invitation.objects.count() == 5
    assert OutboundMessage.objects.count() == 5


def test_customers_created_after_the_request_are_not_part_of_it(
    customer_factory, surveys, published
):
    customer_factory(tags=["vip"])
    batch = survey_send_bulk(survey=surveys["nps"], filters={"tag": "vip"}, sent_by=None)
    customer_factory(tags=["vip"])

    batch = run_in_chunks(batch)

    assert (batch.total, batch.sent) == (1, 1)


def test_chosen_customers_can_be_sent_instead_of_filters(customer_factory, surveys, published):
    chosen = [customer_factory() for _ in range(3)]
    customer_factory()

    batch = survey_send_bulk(
        survey=surveys["nps"], customer_ids=[c.pk for c in chosen] * 2, sent_by=None
    )
    batch = run_in_chunks(batch)

    assert (batch.total, batch.sent) == (3, 3)
    assert set(Invitation.objects.values_list("customer_id", flat=True)) == {c.pk for c in chosen}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"filters": {"stag": "vip"}}, "filters"),  # a typo must not widen to everyone
        ({"filters": {"stage": "nowhere"}}, "filters"),
        ({"filters": {"created_after": "yesterday"}}, "filters"),
        ({"filters": {"tag": ["a", "b"]}}, "filters"),
        ({"customer_ids": [999999]}, "customer_ids"),
        ({"customer_ids": []}, "customer_ids"),
    ],
)
def test_bad_targets_are_refused_before_anything_is_recorded(
    customer_factory, surveys, published, kwargs, field
):
    customer_factory()

    with pytest.raises(ApplicationError) as error:
        survey_send_bulk(survey=surveys["nps"], sent_by=None, **kwargs)

    assert error.value.field == field
    assert not SurveyBatch.objects.exists()


def test_an_inactive_survey_is_not_sent_in_bulk(surveys, published):
    surveys["nps"].is_active = False
    surveys["nps"].save()

    with pytest.raises(ApplicationError) as error:
        survey_send_bulk(survey=surveys["nps"], sent_by=None)

    assert error.value.field == "survey"


def test_filters_that_stop_being_valid_later_neither_fail_nor_widen_the_send(
    customer_factory, surveys, published
):
    stage = Stage.objects.create(slug="pilot", name="Pilot", phase="engage", position=999)
    pilot = customer_factory(stage="pilot")
    customer_factory()
    batch = survey_send_bulk(survey=surveys["nps"], filters={"stage": "pilot"}, sent_by=None)
    pilot.delete()  # with its history, so that the stage can go too
    stage.delete()

    batch = run_in_chunks(batch)

    assert (batch.state, batch.error, batch.total, batch.processed) == ("done", "", 1, 1)
    assert not Invitation.objects.exists()


def test_an_invitation_that_cannot_be_queued_is_recorded_as_failed(
    customer_factory, surveys, published, monkeypatch
):
    customers = [customer_factory() for _ in range(3)]
    real_email = services.invitation_email

    def flaky_email(invitation):
        if invitation.customer_id == customers[1].pk:
            raise RuntimeError("template unavailable")
        return real_email(invitation)

    monkeypatch.setattr(services, "invitation_email", flaky_email)

    batch = run_in_chunks(survey_send_bulk(survey=surveys["nps"], filters={}, sent_by=None))

    assert (batch.processed, batch.sent, batch.failed) == (3, 2, 1)
    failed = Invitation.objects.get(customer=customers[1])
    assert (failed.state, failed.reason) == ("failed", "RuntimeError: template unavailable")
    assert OutboundMessage.objects.count() == 2


def test_the_sweep_hands_stalled_batches_back_to_the_workers(
    surveys, published, django_capture_on_commit_callbacks
):
    stalled = SurveyBatch.objects.create(survey=surveys["nps"], state="sending")
    fresh = SurveyBatch.objects.create(survey=surveys["nps"], state="sending")
    done = SurveyBatch.objects.create(survey=surveys["nps"], state="done")
    long_ago = timezone.now() - timedelta(hours=1)
    SurveyBatch.objects.filter(pk__in=[stalled.pk, done.pk]).update(updated_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        assert survey_batches_resume() == 1
    assert published == [stalled.pk]
    assert fresh.pk not in published


def test_the_task_continues_a_batch_that_outlives_its_time_budget(
    customer_factory, surveys, published, monkeypatch, django_capture_on_commit_callbacks
):
    for _ in range(3):
        customer_factory()
    batch = survey_send_bulk(survey=surveys["nps"], filters={}, sent_by=None)
    monkeypatch.setattr(
        tasks,
        "survey_batch_run",
        lambda batch_id: services.survey_batch_step(batch_id=batch_id, chunk_size=1),
    )

    with django_capture_on_commit_callbacks(execute=True):
        tasks.survey_batch_process.run(batch.pk)

    assert published == [batch.pk]
    batch.refresh_from_db()
    assert (batch.state, batch.processed) == ("sending", 1)


@pytest.mark.django_db
def test_an_id_batch_skips_customers_deleted_since_and_still_reaches_everyone_else(
    customer_factory,
):
    from customers.services import customer_delete

    survey = Survey.objects.create(kind="nps", name="Ids NPS", question="Would you?")
    customers = [customer_factory() for _ in range(7)]
    batch = survey_send_bulk(survey=survey, sent_by=None, customer_ids=[c.pk for c in customers])
    for gone in customers[:3]:  # a whole first chunk disappears before the batch runs
        customer_delete(customer=gone)

    while step(batch, 3).is_running:
        pass

    invited = set(Invitation.objects.filter(batch=batch).values_list("customer_id", flat=True))
    assert invited == {c.pk for c in customers[3:]}
