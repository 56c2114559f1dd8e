"""The dashboard: list, create with variants, preview and test send, actions, progress,
results."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from campaigns.models import Campaign, CampaignState, Recipient
from campaigns.services import campaign_send_now
from messaging.models import MessageState, OutboundMessage
from tests.campaigns.conftest import run_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client: Client, marketer) -> Client:
    client.force_login(marketer)
    return client


def _variant_form(prefix: str = "variants", **values: str) -> dict[str, str]:
    data = {
        f"{prefix}-TOTAL_FORMS": "2",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "1",
        f"{prefix}-MAX_NUM_FORMS": "10",
        f"{prefix}-0-name": "A",
        f"{prefix}-0-split": "50",
        f"{prefix}-0-subject": "Hi {{ first_name }}",
        f"{prefix}-0-body_text": "Hello",
        f"{prefix}-1-name": "B",
        f"{prefix}-1-split": "50",
        f"{prefix}-1-subject": "Hey {{ first_name }}",
        f"{prefix}-1-body_text": "Hello",
    }
    data.update(values)
    return data


def _campaign_form(customers: list, **values: str) -> dict[str, str]:
    return {
        "name": "Dashboard",
        "channel": "email",
        "customer_ids": " ".join(str(c.pk) for c in customers),
        "send_rate_per_minute": "1000",
        "cost": "10",
        "currency": "EUR",
        "attribution_window_days": "14",
        "ab_metric": "click",
        **_variant_form(),
        **values,
    }


def test_a_marketer_creates_a_draft_with_two_variants(browser: Client, consenting):
    customers = [consenting()]

    response = browser.post("/campaigns/new/", _campaign_form(customers))

    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert [v.name for v in campaign.variants.order_by("pk")] == ["A", "B"]
    page = browser.get(response["Location"])
    assert page.status_code == 200
    assert b"Send now" in page.content


def test_splits_that_do_not_add_up_are_shown_as_an_error(browser: Client, consenting):
    data = _campaign_form([consenting()], **{"variants-1-split": "20"})

    response = browser.post("/campaigns/new/", data)

    assert response.status_code == 400
    assert b"add up to 70%" in response.content
    assert not Campaign.objects.exists()


def test_a_double_click_on_send_now_sends_once(browser: Client, draft):
    campaign = draft()

    first = browser.post(f"/campaigns/{campaign.pk}/send-now/")
    second = browser.post(f"/campaigns/{campaign.pk}/send-now/", follow=True)

    assert first.status_code == 302
    assert first["Location"].endswith("/progress/")
    assert b"cannot be sent again" in second.content
    run_send(campaign)
    assert Recipient.objects.count() == OutboundMessage.objects.count() == 3


def test_the_progress_page_refreshes_while_sending(browser: Client, draft):
    campaign = draft()
    campaign_send_now(campaign=campaign)

    sending = browser.get(f"/campaigns/{campaign.pk}/progress/")
    assert sending.status_code == 200
    assert sending["Refresh"] == "2"
    assert b"<progress" in sending.content

    run_send(campaign)
    done = browser.get(f"/campaigns/{campaign.pk}/progress/")
    assert "Refresh" not in done
    assert b'value="100"' in done.content


def test_the_results_page_and_the_list(browser: Client, draft):
    campaign = draft()
    campaign_send_now(campaign=campaign)
    run_send(campaign)
    OutboundMessage.objects.update(state=MessageState.SENT)

    page = browser.get(f"/campaigns/{campaign.pk}/")
    listing = browser.get("/campaigns/")

    assert page.status_code == listing.status_code == 200
    assert b"One variant only" in page.content
    assert b"Spring" in listing.content


def test_preview_for_a_customer_and_test_send_to_oneself(
    browser: Client, draft, consenting, marketer
):
    customer = consenting(first_name="Ann", stage="advocacy")
    campaign = draft(
        [customer],
        variants=[
            {
                "name": "A",
                "split": 100,
                "subject": "For {{ first_name }}",
                "body_text": "[[phase:delight]]Thanks, loyal one.[[/phase]]"
                "[[phase:attract]]Welcome.[[/phase]]",
            }
        ],
    )

    page = browser.get(f"/campaigns/{campaign.pk}/preview/", {"customer": customer.pk})
    assert page.status_code == 200
    assert b"Thanks, loyal one." in page.content
    assert b"Welcome." not in page.content

    variant = campaign.variants.get()
    sent = browser.post(
        f"/campaigns/{campaign.pk}/preview/", {"customer": customer.pk, "variant": variant.pk}
    )
    assert sent.status_code == 302
    message = OutboundMessage.objects.get()
    assert message.to == marketer.email
    assert message.subject == "[Test] For Ann"
    assert message.kind == "transactional"
    assert not Recipient.objects.exists()  # a test counts in no statistic
    assert mail.outbox == []  # queued for the workers, not sent inline


def test_a_sales_rep_sees_but_cannot_send(client: Client, sales_rep, draft):
    campaign = draft()
    client.force_login(sales_rep)

    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 200
    assert client.post(f"/campaigns/{campaign.pk}/send-now/").status_code == 403
    assert client.get("/campaigns/new/").status_code == 403
    campaign.refresh_from_db()
    assert campaign.state == CampaignState.DRAFT
