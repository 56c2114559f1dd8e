"""The campaign API: drafts, actions, stats and preview, with errors named by field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Campaign, Recipient
from tests.campaigns.conftest import EMAIL_VARIANT, run_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_as, marketer):
    return api_as(marketer)


def test_create_read_update_and_send_a_campaign(api, consenting):
    customers = [consenting() for _ in range(2)]
    created = api.post(
        "/api/v1/campaigns/",
        {
            "name": "Launch",
            "customer_ids": [c.pk for c in customers],
            "cost": "120.00",
            "variants": [
                {**EMAIL_VARIANT, "name": "A", "split": 50},
                {**EMAIL_VARIANT, "name": "B", "split": 50},
            ],
        },
    )
    assert created.status_code == 201, created.data
    pk = created.data["id"]
    assert created.data["state"] == "draft"
    assert [v["split"] for v in created.data["variants"]] == [50, 50]

    patched = api.patch(f"/api/v1/campaigns/{pk}/", {"ab_metric": "open"})
    assert patched.status_code == 200
    assert patched.data["ab_metric"] == "open"

    sent = api.post(f"/api/v1/campaigns/{pk}/send-now/")
    assert sent.status_code == 200
    assert sent.data["state"] == "sending"
    again = api.post(f"/api/v1/campaigns/{pk}/send-now/")
    assert again.status_code == 400
    assert "state" in again.data

    run_send(Campaign.objects.get(pk=pk))
    stats = api.get(f"/api/v1/campaigns/{pk}/stats/")
    assert stats.status_code == 200
    assert stats.data["total"]["recipients"] == 2
    assert stats.data["verdict"]["winner"] is None
    assert stats.data["verdict"]["message"].startswith("Not enough data yet")
    assert stats.data["costs"]["cost"] == "120.00"

    edit = api.patch(f"/api/v1/campaigns/{pk}/", {"name": "Too late"})
    assert edit.status_code == 400
    assert "state" in edit.data


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "variants": []}, "variants"),
        (
            {
                "name": "X",
                "variants": [
                    {**EMAIL_VARIANT, "split": 40},
                    {**EMAIL_VARIANT, "name": "B", "split": 40},
                ],
            },
            "variants",
        ),
        ({"name": "X", "variants": [{**EMAIL_VARIANT, "subject": ""}]}, "variants[0].subject"),
        ({"name": "X", "channel": "fax", "variants": [EMAIL_VARIANT]}, "channel"),
        ({"name": "X", "customer_ids": [999999], "variants": [EMAIL_VARIANT]}, "customer_ids"),
        ({"name": "X", "segment": 999999, "variants": [EMAIL_VARIANT]}, "segment"),
        (
            {"name": "X", "send_rate_per_minute": 0, "variants": [EMAIL_VARIANT]},
            "send_rate_per_minute",
        ),
        ({"name": "X", "currency": "euro", "variants": [EMAIL_VARIANT]}, "currency"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, body, field):
    response = api.post("/api/v1/campaigns/", body)

    assert response.status_code == 400
    assert field in response.data, response.data
    assert not Campaign.objects.exists()


def test_schedule_pause_resume_cancel(api, draft):
    campaign = draft()
    url = f"/api/v1/campaigns/{campaign.pk}"

    past = api.post(f"{url}/schedule/", {"scheduled_at": timezone.now().isoformat()})
    assert past.status_code == 400
    assert "scheduled_at" in past.data
    at = (timezone.now() + timedelta(hours=2)).isoformat()
    assert api.post(f"{url}/schedule/", {"scheduled_at": at}).data["state"] == "scheduled"
    assert api.post(f"{url}/pause/").data["state"] == "paused"
    assert api.post(f"{url}/resume/").data["state"] == "scheduled"
    assert api.post(f"{url}/cancel/").data["state"] == "cancelled"
    assert api.post(f"{url}/cancel/").status_code == 400
    assert api.delete(f"{url}/").status_code == 400


def test_preview_personalises_each_variant(api, draft, consenting):
    customer = consenting(first_name="<Zoé>")
    campaign = draft([customer])

    response = api.get(f"/api/v1/campaigns/{campaign.pk}/preview/", {"customer": customer.pk})

    assert response.status_code == 200
    [variant] = response.data
    assert variant["subject"] == "Hello <Zoé>"
    assert "<p>Hi &lt;Zoé&gt;</p>" in variant["body_html"]
    assert api.get(f"/api/v1/campaigns/{campaign.pk}/preview/").status_code == 400
    missing = api.get(f"/api/v1/campaigns/{campaign.pk}/preview/", {"customer": 999999})
    assert missing.status_code == 400


def test_a_delete_removes_only_a_draft(api, draft):
    campaign = draft()
    assert api.delete(f"/api/v1/campaigns/{campaign.pk}/").status_code == 204
    assert not Campaign.objects.exists()
    assert not Recipient.objects.exists()
