"""The guard every browser test relies on notices what it should: a script from another host,
a request that fails and an uncaught error."""

from __future__ import annotations

import pytest

from common.browser import VIEWPORT
from tests.browser.conftest import PageProblems

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><title>t</title>
<script src="https://cdn.example.invalid/lib.js"></script>
<img src="http://127.0.0.1:9/logo.png" alt="">
<script>notDefinedAnywhere()</script>"""


def test_the_guard_reports_a_cdn_a_failed_request_and_a_console_error(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    problems = PageProblems(origin="http://127.0.0.1:9")
    problems.watch(page)

    page.set_content(PAGE, wait_until="load")
    context.close()

    assert problems.foreign_requests == ["https://cdn.example.invalid/lib.js"]
    assert any("127.0.0.1:9/logo.png" in failed for failed in problems.failed_requests)
    assert any("notDefinedAnywhere" in error for error in problems.console_errors)
    with pytest.raises(AssertionError):
        problems.assert_clean()


def test_the_guard_reports_what_the_content_security_policy_blocks(browser):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    problems = PageProblems(origin="http://127.0.0.1:9")
    problems.watch(page)
    page.route(
        "http://127.0.0.1:9/",
        lambda route: route.fulfill(
            content_type="text/html",
            headers={"Content-Security-Policy": "script-src 'self'; style-src 'self'"},
            body='<!doctype html><title>t</title><p style="color: red">x</p>'
            "<script>document.title = 'ran'</script>",
        ),
    )

    page.goto("http://127.0.0.1:9/")
    title = page.title()
    context.close()

    assert title == "t"
    assert sorted(v.split(" ", 1)[0] for v in problems.csp_violations) == [
        "script-src-elem",
        "style-src-attr",
    ]
    with pytest.raises(AssertionError, match="Content-Security-Policy"):
        problems.assert_clean()
