"""Headless Chromium for the browser tests and `manage.py screenshots`.

We drive Debian's Chromium (/usr/bin/chromium) with Playwright instead of the browser
Playwright downloads: that download needs hosts a closed network does not reach, while the
distribution's package installs like any other. Playwright is a development dependency, so
this module imports it only when a browser is asked for.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

# Headless, as root in a container (no sandbox), without a GPU. The last four stop Chromium's
# own background traffic (updates, sync, field trials…): on a closed network each of those is
# a refused connection, many at a time, at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The size of every page the tests and the screenshots look at.
VIEWPORT = {"width": 1280, "height": 800}


class ChromiumMissingError(RuntimeError):
    """Debian's chromium package is not installed where we look for it."""


def chromium_launch(playwright: Playwright) -> Browser:
    """Start headless Chromium from CHROMIUM_PATH (default /usr/bin/chromium)."""
    if not os.access(CHROMIUM_PATH, os.X_OK):
        raise ChromiumMissingError(
            f"No Chromium at {CHROMIUM_PATH}: install Debian's package "
            "(`apt-get install --no-install-recommends chromium`) or set CHROMIUM_PATH."
        )
    return playwright.chromium.launch(
        executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS
    )
