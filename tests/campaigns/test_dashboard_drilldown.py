"""A campaign's numbers on the dashboard lead to its recipients: those sent to, who opened,
clicked or converted — as many as the numbers say."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.selectors import campaign_performance
from campaigns.models import Recipient
from campaigns.services import campaign_send_now, tracking_record
from dashboard.drilldown import drilldown_for
from messaging.models import MessageState, OutboundMessage
from tests.campaigns.conftest import run_send

pytestmark = pytest.mark.django_db


def test_each_number_of_a_campaign_lists_its_recipients(client, draft, consenting, make_user):
    customers = [consenting(first_name=name) for name in ("Ada", "Bea", "Cy", "Dov")]
    campaign = draft(customers)
    campaign_send_now(campaign=campaign)
    run_send(campaign)
    OutboundMessage.objects.exclude(customer=customers[3]).update(state=MessageState.SENT)
    ada, bea, *_ = Recipient.objects.filter(campaign=campaign).order_by("customer__first_name")
    tracking_record(recipient_id=ada.pk, kind="open")
    tracking_record(recipient_id=ada.pk, kind="open")  # once per recipient, however often
    tracking_record(recipient_id=bea.pk, kind="open")
    tracking_record(recipient_id=ada.pk, kind="click", url="https://example.com/a")

    today = campaign.started_at.date()
    (row,) = campaign_performance(start=today, end=today)
    assert row.sent
    assert row.open_rate is not None
    assert row.click_rate is not None
    expected = {
        "sent": row.sent,
        "open": round(row.open_rate * row.sent),
        "click": round(row.click_rate * row.sent),
        "conversion": row.conversions,
    }
    assert expected == {"sent": 3, "open": 2, "click": 1, "conversion": 0}
    for event, count in expected.items():
        drill = drilldown_for(
            {"of": "campaign", "campaign": campaign.pk, "event": event}, start=today, end=today
        )
        assert drill.customers.count() == count, event

    client.force_login(make_user("Marketer"))
    page = client.get(
        reverse("dashboard:customers"),
        {"of": "campaign", "campaign": campaign.pk, "event": "click"},
    )
    assert page.status_code == 200
    assert "Customers who clicked in the campaign" in page.content.decode()
    assert customers[0].email in page.content.decode()
    assert customers[1].email not in page.content.decode()
    marketing = client.get(reverse("dashboard:marketing"), {"start": today, "end": today})
    assert f"of=campaign&amp;campaign={campaign.pk}&amp;event=open" in marketing.content.decode()

    unknown = client.get(
        reverse("dashboard:customers"), {"of": "campaign", "campaign": 10**9, "event": "open"}
    )
    assert unknown.status_code == 400
    assert "There is no campaign with that id." in unknown.content.decode()
