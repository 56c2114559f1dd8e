"""Conversions: a stage advance within the window after an open or click."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Recipient, TrackingEvent
from campaigns.services import campaign_send_now, tracking_record
from stages.models import ActorKind
from stages.services import customer_move_stage
from tests.campaigns.conftest import run_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def engaged(draft, consenting, stages, django_capture_on_commit_callbacks):
    """A customer in awareness who received the campaign; `engage(days_ago)` records an
    open that long ago; `move(slug)` moves them, delivering the event to subscribers."""
    customer = consenting(stage="awareness")
    campaign = draft([customer], attribution_window_days=14)
    campaign_send_now(campaign=campaign)
    run_send(campaign)
    recipient = Recipient.objects.get(customer=customer)

    def engage(days_ago: float, kind: str = "open") -> None:
        tracking_record(
            recipient_id=recipient.pk,
            kind=kind,
            url="https://example.com/" if kind == "click" else "",
            occurred_at=timezone.now() - timedelta(days=days_ago),
        )

    def move(slug: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            customer.refresh_from_db()
            customer_move_stage(customer=customer, to_stage=stages[slug], actor_kind=ActorKind.USER)

    return recipient, engage, move


def conversions(recipient) -> int:
    return TrackingEvent.objects.filter(recipient=recipient, kind="conversion").count()


def test_an_open_then_a_forward_move_within_the_window_is_a_conversion(engaged):
    recipient, engage, move = engaged
    engage(days_ago=3)

    move("evaluation")

    event = TrackingEvent.objects.get(recipient=recipient, kind="conversion")
    assert event.meta["from_phase"] == "attract"
    assert event.meta["to_stage"] == "evaluation"


def test_a_click_counts_too_and_a_second_advance_converts_once(engaged):
    recipient, engage, move = engaged
    engage(days_ago=1, kind="click")

    move("evaluation")
    move("purchase")

    assert conversions(recipient) == 1


def test_an_open_outside_the_window_is_no_conversion(engaged):
    recipient, engage, move = engaged
    engage(days_ago=15)

    move("evaluation")

    assert conversions(recipient) == 0


def test_a_backward_move_is_no_conversion(engaged, stages):
    recipient, engage, move = engaged
    move("purchase")  # before any open: nothing
    engage(days_ago=0.01)

    move("evaluation")  # backward

    assert conversions(recipient) == 0


def test_without_an_open_or_click_there_is_no_conversion(engaged):
    recipient, _, move = engaged

    move("evaluation")

    assert conversions(recipient) == 0
