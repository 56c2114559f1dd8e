"""Fixtures for the browser tests: one headless Chromium per session, one fresh page per test.

The pages come from pytest-django's `live_server` (a real HTTP server on the test database,
serving static files the way `runserver` does), so the tests need a transactional database:
each module marks itself `django_db(transaction=True)`. Every page watches what the browser
reports, and a test fails if a page logged a JavaScript error, a request failed or answered
an error status, anything was fetched from a host other than the live server (the
dashboard uses no CDN), or the Content-Security-Policy blocked something (a
`securitypolicyviolation` event in any frame): every page must work under the policy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import AbstractBaseUser
from playwright import sync_api as playwright_api

from accounts.roles import ADMIN, MARKETER, ROLES, SALES_REP, SUPPORT
from common.browser import VIEWPORT, ChromiumMissingError, chromium_launch

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
PASSWORD = "pass-word-123"  # tests.factories.UserFactory's password
USERNAMES = {
    ADMIN: "ada-admin",
    MARKETER: "mia-marketer",
    SALES_REP: "sam-sales",
    SUPPORT: "sue-support",
}


CSP_BINDING = "__flywheelCspViolation"
CSP_LISTENER = f"""
document.addEventListener("securitypolicyviolation", (event) => {{
  window.{CSP_BINDING}(
    `${{event.effectiveDirective}} blocked ${{event.blockedURI}}`
    + ` on ${{event.documentURI}} (${{event.sourceFile || "the page"}}:${{event.lineNumber}})`
  );
}});
"""


@dataclass
class PageProblems:
    """What went wrong in the browser while a test ran, as the browser reported it."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        # Every document the page loads (frames too) reports the policy's refusals to us;
        # Playwright's bindings and init scripts are not subject to the page's policy.
        page.expose_binding(CSP_BINDING, lambda source, text: self.csp_violations.append(text))
        page.add_init_script(CSP_LISTENER)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("request", self._on_request)
        page.on("response", self._on_response)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def _on_request_failed(self, request: Any) -> None:
        # Chromium aborts the loads still running when a page navigates away (the tour moves
        # on before an admin page's last icons arrive): that is the test's pace, not a fault.
        # A server's error answers in `_on_response`; a refused or reset connection still fails.
        if request.failure == "net::ERR_ABORTED":
            return
        self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def _on_request(self, request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.foreign_requests.append(request.url)

    def _on_response(self, response: Any) -> None:
        if response.status >= 400:
            self.failed_requests.append(
                f"{response.request.method} {response.url}: {response.status}"
            )

    def assert_clean(self) -> None:
        assert self.csp_violations == [], "the Content-Security-Policy blocked part of a page"
        assert self.foreign_requests == [], "pages fetched from other hosts (a CDN?)"
        assert self.failed_requests == [], "requests failed"
        # Chromium logs every 4xx/5xx response as a console error too: those are checked above.
        errors = [e for e in self.console_errors if "Failed to load resource" not in e]
        assert errors == [], "the browser console shows errors"


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Chromium for the browser tests (Debian's, see common.browser).

    Package-scoped: Playwright's sync API keeps a running asyncio loop in this thread while
    it lives, and Django refuses ORM calls from a thread with a running loop. The browser
    tests are synchronous (the loop is Playwright's own, idle while a test touches the
    database), so they allow it; the rest of the suite runs after Playwright has stopped,
    with Django's check intact.
    """
    allowed = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with playwright_api.sync_playwright() as playwright:
            try:
                chromium = chromium_launch(playwright)
            except ChromiumMissingError as error:
                pytest.fail(str(error))
            yield chromium
            chromium.close()
    finally:
        if allowed is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = allowed


@pytest.fixture
def page_problems(live_server: Any) -> PageProblems:
    return PageProblems(origin=live_server.url)


@pytest.fixture
def page(browser: Any, live_server: Any, page_problems: PageProblems) -> Iterator[Any]:
    """A new browser context and page on the live server; fails the test on page problems."""
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    playwright_api.expect.set_options(timeout=10_000)
    tab = context.new_page()
    page_problems.watch(tab)
    yield tab
    context.close()
    page_problems.assert_clean()


@pytest.fixture
def role_user(make_user: Callable[..., AbstractBaseUser]) -> Callable[[str], AbstractBaseUser]:
    """`role_user("Marketer")`: a user with that role (the Admin one is staff, too)."""

    def make(role: str) -> AbstractBaseUser:
        assert role in ROLES
        return make_user(role, username=USERNAMES[role], is_staff=role == ADMIN)

    return make


@pytest.fixture
def log_in(page: Any) -> Callable[[AbstractBaseUser], Any]:
    """Log in through the real login form, as a person would; returns the page."""
    expect = playwright_api.expect

    def submit(user: AbstractBaseUser) -> Any:
        page.goto("/customers/")
        expect(page.get_by_role("heading", name="Log in")).to_be_visible()
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Customers", exact=True)).to_be_visible()
        return page

    return submit
