"""A marketer builds a segment in the browser and finds it behind a campaign."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from accounts.roles import MARKETER
from campaigns.services import campaign_create
from segments.models import Segment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIP = {"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]}


def test_a_marketer_builds_a_segment_and_sees_the_campaigns(
    page, log_in, role_user, customer_factory
):
    marketer = role_user(MARKETER)
    customer_factory(first_name="Gia", last_name="Grant", tags=["vip"], email_consent=True)
    customer_factory(first_name="Hal", last_name="Hart", tags=["trial"])
    log_in(marketer)

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Segments").click()
    expect(page.get_by_role("heading", name="Segments", level=1)).to_be_visible()
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Name").fill("VIP customers")
    page.get_by_label("Definition").fill(json.dumps(VIP))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview: 1 customer match now")).to_be_visible()
    page.get_by_role("button", name="Create segment").click()

    expect(page.get_by_role("heading", name=re.compile("VIP customers"), level=1)).to_be_visible()
    expect(page.get_by_text("1 customer match now.")).to_be_visible()
    expect(page.get_by_role("link", name="Gia Grant")).to_be_visible()
    expect(page.get_by_role("link", name="Hal Hart")).to_have_count(0)

    campaign_create(
        name="Spring offer for VIPs",
        segment=Segment.objects.get(name="VIP customers"),
        variants=[
            {"name": "A", "split": 100, "subject": "Hello {{ first_name }}", "body_text": "Hi"}
        ],
        created_by=marketer,
    )
    nav.get_by_role("link", name="Campaigns").click()
    expect(page.get_by_role("heading", name="Campaigns", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="New campaign")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Spring offer for VIPs")
    expect(row).to_contain_text("Email")
    expect(row).to_contain_text("Draft")
    row.get_by_role("link", name="Spring offer for VIPs").click()
    expect(page.get_by_role("heading", name=re.compile("Spring offer for VIPs"))).to_be_visible()
    expect(page.get_by_text("VIP customers").first).to_be_visible()
