"""Durable events: recorded with the change, delivered after commit, never silently lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from common.events import event_emit, events_prune, events_redispatch, subscribe, unsubscribe
from common.models import Event

pytestmark = pytest.mark.django_db

EVENT = "test.happened"


@pytest.fixture
def received():
    seen: list[dict] = []

    def handler(event, payload):
        seen.append(payload)

    subscribe(EVENT)(handler)
    yield seen
    unsubscribe(EVENT, handler)


def test_delivered_after_commit_and_marked(received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        event_emit(EVENT, {"n": 1})

    assert received == [{"n": 1}]
    event = Event.objects.get(name=EVENT)
    assert event.dispatched_at is not None
    assert event.attempts == 1


def test_a_rolled_back_change_leaves_no_event(received):
    with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012
        event_emit(EVENT, {"n": 2})
        raise RuntimeError("the change failed")

    assert not Event.objects.filter(name=EVENT).exists()
    assert received == []


def test_an_event_whose_dispatch_was_lost_is_delivered_by_the_sweep(
    received, django_capture_on_commit_callbacks
):
    # The process "dies" after the commit: the after-commit dispatch never runs.
    with django_capture_on_commit_callbacks(execute=False):
        event_emit(EVENT, {"n": 3})
    assert received == []

    delivered = events_redispatch(older_than=timedelta(0))

    assert delivered == 1
    assert received == [{"n": 3}]
    assert Event.objects.get(name=EVENT).dispatched_at is not None
    assert events_redispatch(older_than=timedelta(0)) == 0  # and only once


def test_a_failing_subscriber_is_retried_without_stopping_the_others(
    received, django_capture_on_commit_callbacks
):
    calls = {"n": 0}

    def flaky(event, payload):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("down for a moment")

    subscribe(EVENT)(flaky)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            event_emit(EVENT, {"n": 4})
        assert received == [{"n": 4}]  # the other subscriber still got it
        assert Event.objects.get(name=EVENT).dispatched_at is None

        events_redispatch(older_than=timedelta(0))
    finally:
        unsubscribe(EVENT, flaky)

    assert calls["n"] == 2
    assert Event.objects.get(name=EVENT).dispatched_at is not None


def test_old_dispatched_events_are_pruned_and_undispatched_ones_kept():
    old = timezone.now() - timedelta(days=31)
    Event.objects.create(name=EVENT, payload={}, dispatched_at=old)
    kept = Event.objects.create(name=EVENT, payload={})

    assert events_prune() == 1
    assert list(Event.objects.values_list("pk", flat=True)) == [kept.pk]
