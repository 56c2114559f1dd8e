"""The webhook pages of the dashboard: admins manage subscriptions and read the log."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from webhooks.models import TEST_EVENT, Delivery, DeliveryAttempt, DeliveryState, Subscription
from webhooks.tasks import delivery_send

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.216.34/hooks/flywheel"


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    ids: list[int] = []
    monkeypatch.setattr(delivery_send, "delay", ids.append)
    return ids


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def subscription(make_subscription) -> Subscription:
    return make_subscription(PUBLIC_URL, events=["customer.created"], name="Billing")


def test_an_admin_creates_a_subscription_and_sees_its_secret_once_prominently(
    admin_client, admin_user
) -> None:
    response = admin_client.post(
        reverse("webhooks:create"),
        {"name": "Billing", "url": PUBLIC_URL, "events": ["purchase.recorded"], "is_active": "on"},
    )

    subscription = Subscription.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("webhooks:detail", args=[subscription.pk]) + "?created=1"
    page = admin_client.get(response["Location"]).content.decode()
    assert subscription.secret in page
    assert "<details open>" in page
    assert subscription.created_by == admin_user


def test_a_private_url_is_an_error_on_the_field(admin_client) -> None:
    response = admin_client.post(
        reverse("webhooks:create"),
        {"name": "Local", "url": "http://localhost:8000/hook", "events": ["customer.created"]},
    )

    assert response.status_code == 400
    assert "Private and loopback addresses are refused." in response.content.decode()
    assert not Subscription.objects.exists()


def test_the_list_shows_subscriptions_and_failed_counts(admin_client, subscription) -> None:
    Delivery.objects.create(
        subscription=subscription,
        event="customer.created",
        idempotency_key="customer.created:1",
        state=DeliveryState.FAILED,
    )

    page = admin_client.get(reverse("webhooks:list")).content.decode()

    assert "Billing" in page
    assert PUBLIC_URL in page


def test_edit_saves_through_the_service(admin_client, subscription) -> None:
    response = admin_client.post(
        reverse("webhooks:edit", args=[subscription.pk]),
        {"name": "Renamed", "url": PUBLIC_URL, "events": ["customer.created", "survey.answered"]},
    )

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.name == "Renamed"
    assert subscription.events == ["customer.created", "survey.answered"]
    assert subscription.is_active is False  # the box was not ticked


def test_delete_asks_first_then_deletes(admin_client, subscription) -> None:
    url = reverse("webhooks:delete", args=[subscription.pk])

    assert "Delete the subscription" in admin_client.get(url).content.decode()
    assert admin_client.post(url).status_code == 302
    assert not Subscription.objects.exists()


def test_send_test_event_queues_a_test_delivery(
    admin_client, subscription, queued, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("webhooks:test", args=[subscription.pk]))

    assert response.status_code == 302
    delivery = Delivery.objects.get()
    assert delivery.event == TEST_EVENT
    assert queued == [delivery.pk]
    page = admin_client.get(reverse("webhooks:detail", args=[subscription.pk])).content.decode()
    assert TEST_EVENT in page


def test_the_log_shows_a_failed_delivery_with_retry_and_its_attempts(
    admin_client, subscription, queued, django_capture_on_commit_callbacks
) -> None:
    delivery = Delivery.objects.create(
        subscription=subscription,
        event="customer.created",
        idempotency_key="customer.created:1",
        payload={"customer_id": 42},
        state=DeliveryState.FAILED,
        attempts=1,
        last_status_code=503,
        last_error="The receiver answered 503.",
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        attempted_at=delivery.created_at,
        url=PUBLIC_URL,
        status_code=503,
        error="The receiver answered 503.",
        response_excerpt="Service Unavailable",
    )

    log = admin_client.get(
        reverse("webhooks:detail", args=[subscription.pk]), {"state": "failed"}
    ).content.decode()
    detail = admin_client.get(reverse("webhooks:delivery", args=[delivery.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        retried = admin_client.post(reverse("webhooks:delivery_retry", args=[delivery.pk]))

    assert "The receiver answered 503." in log
    assert reverse("webhooks:delivery_retry", args=[delivery.pk]) in log
    assert "&quot;customer_id&quot;:42" in detail
    assert "Service Unavailable" in detail
    assert retried.status_code == 302
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING
    assert queued == [delivery.pk]


def test_all_deliveries_include_the_automation_calls(admin_client, settings, queued) -> None:
    from webhooks.services import webhook_call

    webhook_call(url=PUBLIC_URL, payload={"rule": 1}, idempotency_key="rule:1")

    page = admin_client.get(reverse("webhooks:deliveries"), {"calls": "1"}).content.decode()

    assert "automation.webhook" in page


@pytest.mark.parametrize("role_user", ["marketer", "sales_rep", "support"])
def test_other_roles_get_403(request, role_user, subscription) -> None:
    client = Client()
    client.force_login(request.getfixturevalue(role_user))

    assert client.get(reverse("webhooks:list")).status_code == 403
    assert client.get(reverse("webhooks:detail", args=[subscription.pk])).status_code == 403
    assert client.post(reverse("webhooks:test", args=[subscription.pk])).status_code == 403
    assert client.get(reverse("webhooks:deliveries")).status_code == 403
