"""Every API list filters: each FilterSet added to a list that had none narrows it, and a bad
filter value is a 400 naming the filter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from automation.models import Rule, TriggerType
from campaigns.models import Campaign, CampaignState
from consent.models import Suppression, SuppressionReason
from leadforms.models import LeadForm, Submission, SubmissionState
from messaging.models import Channel
from segments.models import Segment, SegmentKind
from webhooks.models import Subscription, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(api_as: Callable[[User], APIClient], admin_user: User) -> APIClient:
    return api_as(admin_user)


def names(api: APIClient, url: str, **params: str) -> set[str]:
    response = api.get(url, params)
    assert response.status_code == 200, response.content
    return {row["name"] for row in response.json()["results"]}


def test_rules_filter_by_activity_trigger_and_creation(admin_api: APIClient) -> None:
    Rule.objects.create(name="on", trigger_type=TriggerType.STAGE_ENTERED, is_active=True)
    Rule.objects.create(name="off", trigger_type=TriggerType.PURCHASE_RECORDED, is_active=False)
    old = Rule.objects.create(name="old", trigger_type=TriggerType.STAGE_ENTERED, is_active=True)
    Rule.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    url = "/api/v1/automation/rules/"
    week_ago = (timezone.now() - timedelta(days=7)).isoformat()

    assert names(admin_api, url, is_active="false") == {"off"}
    assert names(admin_api, url, trigger_type="purchase_recorded") == {"off"}
    assert names(admin_api, url, created_after=week_ago) == {"on", "off"}
    assert names(admin_api, url, created_before=week_ago) == {"old"}
    bad = admin_api.get(url, {"trigger_type": "nope"})
    assert bad.status_code == 400
    assert "trigger_type" in bad.json()


def test_campaigns_filter_by_state_and_channel(admin_api: APIClient) -> None:
    Campaign.objects.create(name="draft", state=CampaignState.DRAFT, channel=Channel.EMAIL)
    Campaign.objects.create(name="sent", state=CampaignState.SENT, channel=Channel.SMS)
    url = "/api/v1/campaigns/"

    assert names(admin_api, url, state="sent") == {"sent"}
    assert names(admin_api, url, channel="email") == {"draft"}
    assert admin_api.get(url, {"state": "gone"}).status_code == 400


def test_lead_forms_filter_by_activity(admin_api: APIClient) -> None:
    LeadForm.objects.create(name="live", slug="live", is_active=True)
    LeadForm.objects.create(name="retired", slug="retired", is_active=False)

    assert names(admin_api, "/api/v1/forms/", is_active="true") == {"live"}
    assert names(admin_api, "/api/v1/forms/", is_active="false") == {"retired"}


def test_a_forms_submissions_filter_by_state_and_new_customers(admin_api: APIClient) -> None:
    form = LeadForm.objects.create(name="f", slug="f")
    Submission.objects.create(form=form, state=SubmissionState.SPAM, data={})
    kept = Submission.objects.create(
        form=form, state=SubmissionState.ACCEPTED, data={}, created_customer=True
    )
    url = "/api/v1/forms/f/submissions/"

    def ids(**params: str) -> list[int]:
        return [row["id"] for row in admin_api.get(url, params).json()["results"]]

    assert ids(state="accepted") == [kept.pk]
    assert ids(created_customer="true") == [kept.pk]


def test_segments_filter_by_kind(admin_api: APIClient) -> None:
    Segment.objects.create(name="dyn", kind=SegmentKind.DYNAMIC, definition={})
    Segment.objects.create(name="list", kind=SegmentKind.STATIC)

    assert names(admin_api, "/api/v1/segments/", kind="static") == {"list"}


def test_webhook_subscriptions_filter_by_activity_and_event(admin_api: APIClient) -> None:
    Subscription.objects.create(
        name="created", url="https://example.com/a", events=[WebhookEvent.CUSTOMER_CREATED]
    )
    Subscription.objects.create(
        name="moved",
        url="https://example.com/b",
        events=[WebhookEvent.CUSTOMER_STAGE_CHANGED],
        is_active=False,
    )
    url = "/api/v1/webhooks/subscriptions/"

    assert names(admin_api, url, event="customer.created") == {"created"}
    assert names(admin_api, url, is_active="false") == {"moved"}


def test_suppressions_filter_by_address_and_creation(admin_api: APIClient) -> None:
    Suppression.objects.create(
        channel=Channel.EMAIL, address="ann@example.com", reason=SuppressionReason.MANUAL
    )
    Suppression.objects.create(
        channel=Channel.SMS, address="+4420", reason=SuppressionReason.BOUNCE
    )
    url = "/api/v1/suppressions/"

    def addresses(**params: str) -> set[str]:
        return {row["address"] for row in admin_api.get(url, params).json()["results"]}

    assert addresses(address="ANN") == {"ann@example.com"}
    assert addresses(reason="bounce") == {"+4420"}
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    assert addresses(created_after=tomorrow) == set()


def test_a_customers_transitions_filter_by_stage_direction_and_time(
    admin_api: APIClient, customer_factory: Any
) -> None:
    customer = customer_factory()
    url = f"/api/v1/customers/{customer.pk}/transitions/"
    assert admin_api.post(url, {"to_stage": "evaluation"}).status_code == 201
    assert admin_api.post(url, {"to_stage": "awareness"}).status_code == 201

    def stages(**params: str) -> list[str]:
        response = admin_api.get(url, params)
        assert response.status_code == 200, response.content
        return [row["to_stage"] for row in response.json()["results"]]

    assert stages() == ["awareness", "evaluation", "awareness"]
    assert stages(to_stage="evaluation") == ["evaluation"]
    assert stages(direction="backward") == ["awareness"]
    assert stages(occurred_after=(timezone.now() + timedelta(hours=1)).isoformat()) == []
    assert admin_api.get(url, {"direction": "sideways"}).status_code == 400


def test_a_segments_customers_filter_as_the_customer_list_does(
    admin_api: APIClient, customer_factory: Any
) -> None:
    ann = customer_factory(first_name="Ann", tags=["vip"])
    customer_factory(first_name="Bob")
    everyone = {"name": "All", "definition": {"op": "and", "rules": []}}
    segment = admin_api.post("/api/v1/segments/", everyone, format="json")
    url = f"/api/v1/segments/{segment.json()['id']}/customers/"

    def ids(**params: str) -> list[int]:
        response = admin_api.get(url, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(tag="vip") == [ann.pk]
    assert ids(q="ann") == [ann.pk]
    assert admin_api.get(url, {"phase": "nowhere"}).status_code == 400
