"""The wheel's numbers are shared by everyone opening the same view for a minute, never older
than your own last change, and recomputed on "Refresh now"."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from stages.services import customer_move_stage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cache_on(settings):
    settings.FLYWHEEL_DASHBOARD_CACHE_SECONDS = 60


def engage_count(client, **params) -> int:
    """The Engage count on the wheel, as its link reads it."""
    response = client.get(reverse("home"), params)
    assert response.status_code == 200
    found = re.search(
        r'aria-label="Engage: (\d+) customers?', html.unescape(response.content.decode())
    )
    assert found is not None
    return int(found.group(1))


def test_numbers_are_shared_for_a_minute_and_refresh_on_request(
    client, make_user, customer_factory, stages, django_assert_max_num_queries
):
    owner = make_user(username="owner-of-the-view")
    customers = [customer_factory(stage="awareness", owner=owner) for _ in range(2)]
    client.force_login(make_user("Marketer"))
    assert engage_count(client, owner=owner.pk) == 0

    # Someone else's change, within the minute: the view is served from the cache.
    customer_move_stage(customer=customers[0], to_stage=stages["evaluation"], actor_kind="api")
    with django_assert_max_num_queries(8):  # session, user, filters: no numbers read
        assert engage_count(client, owner=owner.pk) == 0
    assert engage_count(client, owner=owner.pk, refresh="1") == 1
    assert engage_count(client, owner=owner.pk) == 1  # and kept for the next ones


def test_your_own_change_shows_at_once(client, make_user, customer_factory):
    owner = make_user(username="owner-of-my-view")
    customer = customer_factory(stage="awareness", owner=owner)
    client.force_login(make_user("Sales rep"))
    assert engage_count(client, owner=owner.pk) == 0

    moved = client.post(
        reverse("customers:detail", args=[customer.pk]),
        {"to_stage": "evaluation", "reason": "Booked a demo"},
    )
    assert moved.status_code in (200, 302)
    assert engage_count(client, owner=owner.pk) == 1

    page = client.get(reverse("home"), {"owner": owner.pk}).content.decode()
    assert "Numbers as of" in page
    assert "Refresh now" in page


def test_logging_in_is_not_a_change(client, make_user):
    user = make_user("Marketer", username="just-logged-in")
    client.post(reverse("login"), {"username": user.get_username(), "password": "pass-word-123"})
    assert client.session["_auth_user_id"] == str(user.pk)
    assert "dashboard_numbers_changed_at" not in client.session
    client.post(reverse("logout"))
    assert "dashboard_numbers_changed_at" not in client.session
