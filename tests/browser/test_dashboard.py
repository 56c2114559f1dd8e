"""The dashboard in a real browser: every role lands on the wheel, filters it, follows a number
to the customers behind it, moves one of them and sees the wheel turn.

The numbers are checked as a person reads them: the wheel's links (their accessible names are
the sentences a screen reader speaks), the drill-down page's count and rows, and the URL,
which must carry the filters so that a view can be shared.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from accounts.roles import MARKETER, ROLES, SALES_REP
from tests.browser.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 800}


def wheel_link(page, sentence: str):
    """The phase or flow link on the wheel itself (the list beside it has the same names)."""
    return page.locator("svg.wheel").get_by_role("link", name=re.compile(rf"^{sentence}"))


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_every_role_lands_on_the_wheel_and_it_fits_a_phone(page, role_user, customer_factory):
    customer_factory(stage="awareness")
    customer_factory(stage="evaluation")
    for role in ROLES:
        user = role_user(role)
        page.goto("/")
        # Not logged in: the login form, and after it the page that was asked for.
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="The wheel", level=1)).to_be_visible()
        expect(wheel_link(page, "Attract: 1 customer")).to_be_visible()
        expect(wheel_link(page, "Engage: 1 customer")).to_be_visible()
        expect(wheel_link(page, "Delight: 0 customers")).to_be_visible()
        for section in ("Trends", "Transition matrix", "Velocity: time in each stage"):
            expect(page.get_by_role("heading", name=section, level=2)).to_be_visible()

        page.set_viewport_size(PHONE)
        page.reload()
        expect(page.locator("svg.wheel")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{role}: the page scrolls sideways on a phone ({width}px)"
        page.set_viewport_size({"width": 1280, "height": 800})

        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def test_a_rep_follows_a_number_to_its_customers_moves_one_and_the_wheel_turns(
    page, log_in, role_user, customer_factory
):
    rep = role_user(SALES_REP)
    for name in ("Ana", "Ben", "Cy"):
        customer_factory(first_name=name, last_name="Lead", stage="awareness", owner=rep)
    customer_factory(first_name="Dee", last_name="Buyer", stage="purchase")
    log_in(rep)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Flywheel").click()
    expect(wheel_link(page, "Attract: 3 customers")).to_be_visible()
    expect(wheel_link(page, "Engage: 1 customer")).to_be_visible()

    # Keyboard: focus the Attract arc and press Enter.
    wheel_link(page, "Attract: 3 customers").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("3 customers")
    rows = page.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(3)
    assert query_of(page.url)["of"] == ["phase"]

    page.get_by_role("link", name="Ben Lead").click()
    move = page.get_by_role("region", name="Move to another stage")
    move.get_by_label("Move to").select_option(label="Engagement & Evaluation")
    move.get_by_label("Reason").fill("Booked a demo")
    move.get_by_role("button", name="Move").click()
    expect(page.get_by_role("status")).to_contain_text("Moved to Engagement & Evaluation.")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Flywheel").click()
    expect(wheel_link(page, "Attract: 2 customers")).to_be_visible()
    expect(wheel_link(page, "Engage: 2 customers")).to_be_visible()
    flows = page.get_by_role("table", name="Moves between phases")
    expect(flows.get_by_role("row").filter(has_text="Attract → Engage")).to_contain_text("1")
    matrix = page.get_by_role("region", name="Transition matrix")
    matrix.get_by_role("link", name=re.compile(r"^1 move from Awareness to Engagement")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("moved from Awareness")
    expect(page.get_by_role("table").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("table")).to_contain_text("Ben Lead")


def test_filters_live_in_the_url_and_follow_the_drill_down(
    page, log_in, role_user, customer_factory
):
    rep = role_user(SALES_REP)
    customer_factory(first_name="Ana", last_name="Mine", stage="awareness", owner=rep)
    customer_factory(first_name="Bo", last_name="Other", stage="awareness")
    customer_factory(first_name="Cal", last_name="Other", stage="advocacy")
    log_in(role_user(MARKETER))
    page.goto("/")
    expect(wheel_link(page, "Attract: 2 customers")).to_be_visible()

    filters = page.get_by_role("form", name="Filter the numbers")
    filters.get_by_label("Owner").select_option(label=rep.get_username())
    filters.get_by_role("button", name="Apply").click()
    assert query_of(page.url)["owner"] == [str(rep.pk)]
    expect(page.locator("p.period")).to_contain_text(f"owner {rep.get_username()}")
    expect(wheel_link(page, "Attract: 1 customer")).to_be_visible()
    expect(wheel_link(page, "Delight: 0 customers")).to_be_visible()

    # The shared link shows the same view to whoever opens it.
    shared = page.url
    page.goto("/customers/")
    page.goto(shared)
    expect(page.get_by_label("Owner")).to_have_value(str(rep.pk))

    wheel_link(page, "Attract: 1 customer").click()
    assert query_of(page.url)["owner"] == [str(rep.pk)]
    expect(page.get_by_role("table").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("table")).to_contain_text("Ana Mine")
    page.get_by_role("link", name="← Back to the wheel").click()
    assert query_of(page.url)["owner"] == [str(rep.pk)]

    # A mistyped date in a shared URL: the field says what is wrong, the page still answers.
    page.goto("/?start=2026-13-40")
    expect(page.get_by_role("alert").first).to_contain_text("Enter a date as YYYY-MM-DD.")
    expect(page.get_by_role("heading", name="The wheel", level=1)).to_be_visible()
