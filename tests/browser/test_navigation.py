"""Each role logs in through the login form, sees the navigation docs/permissions.md gives it,
and tours every page it links to without a console error, a failed request or a CDN."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import ADMIN, MARKETER, ROLES, SALES_REP, SUPPORT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVERYONE = [
    "Flywheel",
    "Customers",
    "My tasks",
    "Segments",
    "Campaigns",
    "Templates",
    "Forms",
    "Surveys",
    "Automation",
]
NAVIGATION = dict.fromkeys(ROLES, EVERYONE)
# The tools menu beside the user's name: the outbox and the API for everyone, webhooks for
# an Admin alone, and the Django admin site for staff users.
TOOLS = {
    ADMIN: ["Outbox", "API", "Webhooks", "Admin"],
    MARKETER: ["Outbox", "API"],
    SALES_REP: ["Outbox", "API"],
    SUPPORT: ["Outbox", "API"],
}
# Support looks after people who are already customers, so it does not create new ones.
MAY_ADD_CUSTOMERS = {ADMIN, MARKETER, SALES_REP}

# Where each link leads: the page's main heading.
HEADINGS = {
    "Flywheel": "The wheel",
    "Customers": "Customers",
    "My tasks": "My tasks",
    "Segments": "Segments",
    "Campaigns": "Campaigns",
    "Templates": "Templates",
    "Forms": "Lead forms",
    "Surveys": "Surveys",
    "Automation": "Automation rules",
}
TOOL_HEADINGS = {"Outbox": "Outbox", "Webhooks": "Webhooks"}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_the_navigation_its_permissions_allow(page, role_user, log_in, role):
    user = role_user(role)
    log_in(user)

    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link").all_inner_texts() == NAVIGATION[role]
    tools = page.get_by_role("navigation", name="Tools")
    assert tools.get_by_role("link").all_inner_texts() == TOOLS[role]
    expect(page.get_by_role("banner").get_by_text(user.get_username(), exact=True)).to_be_visible()
    new_customer = page.get_by_role("link", name="New customer")
    if role in MAY_ADD_CUSTOMERS:
        expect(new_customer).to_be_visible()
    else:
        expect(new_customer).to_have_count(0)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(nav).to_have_count(0)


def test_an_admin_tours_every_page_without_errors_or_foreign_requests(page, role_user, log_in):
    """The Admin's navigation holds every page; the page fixture fails the test on a console
    error, a failed request or a request to another host."""
    log_in(role_user(ADMIN))
    nav = page.get_by_role("navigation", name="Main")

    for label, heading in HEADINGS.items():
        nav.get_by_role("link", name=label, exact=True).click()
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        # The stylesheet was served and applied (the live server serves static files).
        expect(page.locator("header.topbar")).to_have_css("display", "flex")

    # The dashboard's other pages, through its tabs.
    nav.get_by_role("link", name="Flywheel", exact=True).click()
    tabs = page.get_by_role("navigation", name="Dashboard pages")
    for tab in ("Marketing", "Sales", "Support", "Wheel"):
        tabs.get_by_role("link", name=tab, exact=True).click()
        expect(tabs.get_by_role("link", name=tab, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "The wheel" if tab == "Wheel" else tab
        )

    tools = page.get_by_role("navigation", name="Tools")
    for label, heading in TOOL_HEADINGS.items():
        tools.get_by_role("link", name=label, exact=True).click()
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        expect(tools.get_by_role("link", name=label, exact=True)).to_have_attribute(
            "aria-current", "page"
        )

    tools.get_by_role("link", name="Admin", exact=True).click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    page.go_back()

    page.get_by_role("navigation", name="Tools").get_by_role("link", name="API").click()
    # Swagger UI, from our own static files, renders the schema it fetched from us.
    expect(page.get_by_role("heading", name=re.compile("Flywheel CRM API"))).to_be_visible()
