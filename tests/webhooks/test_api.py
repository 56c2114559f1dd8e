"""The webhook API: subscriptions (secret shown once), the delivery log, retrying."""

from __future__ import annotations

import pytest
from django.urls import reverse

from webhooks.models import Delivery, DeliveryAttempt, DeliveryState, Subscription
from webhooks.tasks import delivery_send

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://93.184.216.34/hooks/flywheel"


@pytest.fixture
def admin_api(api_as, admin_user):
    return api_as(admin_user)


@pytest.fixture(autouse=True)
def _no_publishing(monkeypatch) -> None:
    monkeypatch.setattr(delivery_send, "delay", lambda delivery_id: None)


def _create(client, **body):
    data = {"name": "Billing", "url": PUBLIC_URL, "events": ["purchase.recorded"], **body}
    return client.post(reverse("api:webhook-subscription-list"), data)


def _delivery(subscription: Subscription, *, state: str = DeliveryState.FAILED, **fields):
    return Delivery.objects.create(
        subscription=subscription,
        event=fields.pop("event", "purchase.recorded"),
        idempotency_key=fields.pop("key", f"purchase.recorded:{Delivery.objects.count() + 1}"),
        payload={"purchase_id": 1},
        state=state,
        **fields,
    )


def test_the_secret_is_returned_on_create_only(admin_api, admin_user) -> None:
    response = _create(admin_api)

    assert response.status_code == 201, response.data
    subscription = Subscription.objects.get()
    assert response.data["secret"] == subscription.secret
    assert response.data["events"] == ["purchase.recorded"]
    assert response.data["created_by"] == {
        "id": admin_user.pk,
        "username": "admin-role",
        "name": "",
    }
    detail = admin_api.get(reverse("api:webhook-subscription-detail", args=[subscription.pk]))
    listing = admin_api.get(reverse("api:webhook-subscription-list"))
    assert "secret" not in detail.data
    assert "secret" not in listing.data["results"][0]
    assert subscription.secret not in detail.content.decode() + listing.content.decode()


PRIVATE = {"url": ["Private and loopback addresses are refused."]}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"url": "http://127.0.0.1:8000/hook"}, PRIVATE),
        ({"url": "http://[::1]/hook"}, PRIVATE),
        ({"url": "http://169.254.169.254/"}, PRIVATE),
        ({"url": "ftp://93.184.216.34/"}, {"url": ["Only http and https URLs are allowed."]}),
        (
            {"url": "https://u:p@93.184.216.34/"},
            {"url": ["The URL may not contain credentials (user:password@)."]},
        ),
        ({"events": []}, {"events": ["This list may not be empty."]}),
        (
            {"events": ["customer.deleted"]},
            {"events": {"0": ['"customer.deleted" is not a valid choice.']}},
        ),
        ({"name": ""}, {"name": ["This field may not be blank."]}),
    ],
)
def test_bad_input_is_a_400_on_the_field(admin_api, body, errors) -> None:
    response = _create(admin_api, **body)

    assert response.status_code == 400
    assert response.json() == errors
    assert not Subscription.objects.exists()


def test_private_targets_are_accepted_when_the_setting_allows_them(admin_api, settings) -> None:
    settings.FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS = True

    assert _create(admin_api, url="http://127.0.0.1:9000/hook").status_code == 201


def test_patch_changes_what_is_given_and_guards_the_url(admin_api) -> None:
    subscription = Subscription.objects.get(pk=_create(admin_api).data["id"])
    url = reverse("api:webhook-subscription-detail", args=[subscription.pk])

    refused = admin_api.patch(url, {"url": "http://10.0.0.1/"})
    changed = admin_api.patch(url, {"is_active": False, "events": ["customer.created"]})

    assert refused.status_code == 400
    assert refused.json() == {"url": ["Private and loopback addresses are refused."]}
    assert changed.status_code == 200
    subscription.refresh_from_db()
    assert subscription.url == PUBLIC_URL
    assert (subscription.is_active, subscription.events) == (False, ["customer.created"])


def test_delete_removes_the_subscription_and_its_log(admin_api) -> None:
    subscription = Subscription.objects.get(pk=_create(admin_api).data["id"])
    _delivery(subscription)

    response = admin_api.delete(reverse("api:webhook-subscription-detail", args=[subscription.pk]))

    assert response.status_code == 204
    assert not Subscription.objects.exists()
    assert not Delivery.objects.exists()


def test_the_delivery_log_filters_by_subscription_state_and_event(admin_api) -> None:
    first = Subscription.objects.get(pk=_create(admin_api).data["id"])
    second = Subscription.objects.get(pk=_create(admin_api, name="CRM").data["id"])
    failed = _delivery(first)
    delivered = _delivery(first, state=DeliveryState.DELIVERED)
    other = _delivery(
        second, state=DeliveryState.PENDING, event="customer.created", key="customer.created:1"
    )
    url = reverse("api:webhook-delivery-list")

    def ids(**query) -> list[int]:
        response = admin_api.get(url, query)
        assert response.status_code == 200, response.data
        return [row["id"] for row in response.data["results"]]

    assert ids() == [other.pk, delivered.pk, failed.pk]  # newest first
    assert ids(subscription=first.pk) == [delivered.pk, failed.pk]
    assert ids(state="failed") == [failed.pk]
    assert ids(event="customer.created") == [other.pk]
    row = admin_api.get(url, {"state": "failed"}).data["results"][0]
    assert row["url"] == PUBLIC_URL
    assert row["payload"] == {"purchase_id": 1}
    assert admin_api.get(url, {"state": "lost"}).status_code == 400
    assert admin_api.get(url, {"subscription": 999999}).status_code == 400


def test_a_delivery_shows_every_attempt(admin_api) -> None:
    subscription = Subscription.objects.get(pk=_create(admin_api).data["id"])
    delivery = _delivery(subscription, attempts=1, last_status_code=500)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        attempted_at=delivery.created_at,
        url=PUBLIC_URL,
        status_code=500,
        error="The receiver answered 500.",
    )

    response = admin_api.get(reverse("api:webhook-delivery-detail", args=[delivery.pk]))

    assert response.status_code == 200
    [attempt] = response.data["attempt_log"]
    assert (attempt["status_code"], attempt["succeeded"]) == (500, False)


def test_retry_queues_a_failed_delivery_and_refuses_others(
    admin_api, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    queued: list[int] = []
    monkeypatch.setattr(delivery_send, "delay", queued.append)
    subscription = Subscription.objects.get(pk=_create(admin_api).data["id"])
    failed = _delivery(subscription)
    delivered = _delivery(subscription, state=DeliveryState.DELIVERED)

    with django_capture_on_commit_callbacks(execute=True):
        ok = admin_api.post(reverse("api:webhook-delivery-retry", args=[failed.pk]))
    refused = admin_api.post(reverse("api:webhook-delivery-retry", args=[delivered.pk]))

    assert ok.status_code == 200
    assert ok.data["state"] == "pending"
    assert queued == [failed.pk]
    assert refused.status_code == 400
    assert list(refused.json()) == ["state"]


@pytest.mark.parametrize("role_user", ["marketer", "sales_rep", "support"])
def test_other_roles_may_not_see_webhooks(api_as, request, role_user) -> None:
    client = api_as(request.getfixturevalue(role_user))

    assert client.get(reverse("api:webhook-subscription-list")).status_code == 403
    assert client.get(reverse("api:webhook-delivery-list")).status_code == 403
    assert _create(client).status_code == 403
