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
