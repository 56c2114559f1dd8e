"""A day at the customer list and the 360° customer page, in a real browser.

Everything goes through the pages as a person would use them: the filter form, the links,
the quick-log form (keyboard only), the move form and the survey send.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import SALES_REP, SUPPORT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def names(page):
    """The name cells of the customer table, top to bottom."""
    return page.get_by_role("table").locator("tbody tr td:first-child")


def timeline(page):
    return page.get_by_role("region", name="Timeline")


@pytest.fixture
def three_customers(customer_factory, role_user):
    rep = role_user(SALES_REP)
    return {
        "ana": customer_factory(
            first_name="Ana", last_name="Alves", company="Acme Mills", stage="awareness", owner=rep
        ),
        "ben": customer_factory(
            first_name="Ben", last_name="Brook", company="Birch & Co", stage="purchase"
        ),
        "cleo": customer_factory(
            first_name="Cleo", last_name="Cruz", company="Cedar Ltd", stage="advocacy"
        ),
    }


def test_a_rep_filters_the_list_and_opens_a_customers_page(page, log_in, three_customers):
    log_in(three_customers["ana"].owner)
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^\s*3 customers"))

    page.get_by_label("Stage", exact=True).select_option(label="Purchase")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^\s*1 customer\b"))
    expect(names(page)).to_have_text(["Ben Brook"])

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Phase").select_option(label="Delight")
    page.get_by_role("button", name="Filter").click()
    expect(names(page)).to_have_text(["Cleo Cruz"])

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Search (name, email, company)").fill("acme")
    page.keyboard.press("Enter")
    expect(names(page)).to_have_text(["Ana Alves"])
    expect(page.get_by_label("Search (name, email, company)")).to_have_value("acme")

    # Each row's "Log" button names its customer for screen readers.
    expect(page.get_by_role("link", name="Log an interaction with Ana Alves")).to_be_visible()
    page.get_by_role("link", name="Ana Alves", exact=True).click()
    expect(page.get_by_role("heading", name="Ana Alves", level=1)).to_be_visible()
    facts = page.get_by_role("region", name="At a glance")
    expect(facts).to_contain_text("Awareness")
    expect(facts).to_contain_text("Attract")
    expect(facts).to_contain_text("sam-sales")
    expect(timeline(page)).to_contain_text("Entered Awareness")
    for heading in ("Log an interaction", "Move to another stage", "Details", "Source"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()


def test_a_call_is_logged_with_the_keyboard_alone(page, log_in, role_user, customer_factory):
    rep = role_user(SALES_REP)
    customer = customer_factory(first_name="Dara", last_name="Diaz", owner=rep)
    log_in(rep)
    page.goto(f"/customers/{customer.pk}/")
    expect(page.get_by_role("heading", name="Dara Diaz", level=1)).to_be_visible()

    # The skip link first, then Tab through the page to the quick-log form.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    kind = page.get_by_label("Kind")
    for _ in range(40):
        page.keyboard.press("Tab")
        if kind.evaluate("element => element === document.activeElement"):
            break
    expect(kind).to_be_focused()
    expect(kind).to_have_value("call")  # a call unless changed
    page.keyboard.press("Tab")
    expect(page.get_by_label("Outcome")).to_be_focused()
    page.keyboard.type("P")  # type-ahead picks "Positive"
    expect(page.get_by_label("Outcome")).to_have_value("positive")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Summary")).to_be_focused()
    page.keyboard.type("Walked through the renewal; they want a quote by Friday")
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Logged")
    entry = timeline(page).get_by_role("listitem").filter(has_text="Walked through the renewal")
    expect(entry).to_contain_text("Call")
    expect(entry).to_contain_text("Outcome: positive · logged by sam-sales")
    expect(page.get_by_role("region", name="At a glance")).to_contain_text("Last activity")


def test_a_customer_is_moved_and_the_transition_shows(page, log_in, role_user, customer_factory):
    customer = customer_factory(first_name="Eli", last_name="Evans", stage="awareness")
    log_in(role_user(SUPPORT))
    page.goto(f"/customers/{customer.pk}/")

    move = page.get_by_role("region", name="Move to another stage")
    move.get_by_label("Move to").select_option(label="Purchase")
    move.get_by_label("Reason").fill("Signed the order")
    move.get_by_role("button", name="Move").click()

    expect(page.get_by_role("status")).to_contain_text("Moved to Purchase.")
    facts = page.get_by_role("region", name="At a glance")
    expect(facts).to_contain_text("Purchase")
    expect(facts).to_contain_text("Engage")
    moved = timeline(page).get_by_role("listitem").filter(has_text="Moved from Awareness")
    expect(moved).to_contain_text("Moved from Awareness to Purchase")
    expect(moved).to_contain_text("Skip")  # Engagement & Evaluation was skipped
    expect(moved).to_contain_text("sue-support · Signed the order")
    # The stage the customer is in is no longer offered.
    offered = move.get_by_label("Move to").locator("option").all_inner_texts()
    assert "Purchase" not in offered
    assert "Awareness" in offered


def test_support_sends_a_survey_from_the_customer_page(page, log_in, role_user, customer_factory):
    customer = customer_factory(
        first_name="Fay", last_name="Ford", email="fay@example.com", stage="post_purchase"
    )
    log_in(role_user(SUPPORT))
    page.goto(f"/customers/{customer.pk}/")

    page.get_by_role("link", name="Send survey").click()
    expect(page.get_by_role("heading", name="Send a survey to Fay Ford")).to_be_visible()
    page.get_by_label("Survey").select_option(label="Support satisfaction (CSAT)")
    page.get_by_role("button", name="Send survey").click()

    expect(page.get_by_role("heading", name="Fay Ford", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(
        "Support satisfaction sent to fay@example.com"
    )
    sent = timeline(page).get_by_role("listitem").filter(has_text="Survey sent")
    expect(sent).to_contain_text("Support satisfaction")
    expect(sent).to_contain_text("sue-support")

    page.get_by_role("navigation", name="Tools").get_by_role("link", name="Outbox").click()
    message = page.get_by_role("row").filter(has_text="fay@example.com")
    expect(message).to_have_count(1)
    expect(message).to_contain_text("Email")
    expect(message).to_contain_text("How did we do?")
