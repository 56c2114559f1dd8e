"""Screenshots of the main pages for the README, taken in headless Chromium.

`make screenshots` runs this. It never touches your data: it creates a throwaway database
(`<name>_screenshots`), loads the demo (`seed_demo`, whose marketing demo fills the surveys,
segments, campaigns and forms), serves it on a free local port (static files included, as
`runserver` does), logs in through the login form as the demo users, saves one PNG per page
into docs/screenshots/, and drops the database again.

Work a Celery worker would do (delivering emails, sending a campaign) runs in-process
(Celery's eager mode) so that the pages show sent messages; emails and SMS go to Django's
in-memory backends, never out.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test.utils import override_settings, setup_databases, teardown_databases
from django.utils import timezone

from common.browser import VIEWPORT, ChromiumMissingError, chromium_launch
from customers.demo_marketing import demo_featured_customer

DEFAULT_OUT = Path(settings.BASE_DIR) / "docs" / "screenshots"
DEFAULT_CUSTOMERS = 400


@dataclass(frozen=True)
class Shot:
    """One screenshot: the file name, the demo user who looks, and the page."""

    name: str
    username: str
    path: str
    caption: str
    height: int = VIEWPORT["height"]  # taller than the window: the page scrolled, in one PNG


class Command(BaseCommand):
    help = (
        "Save PNG screenshots of the main pages (demo data in a throwaway database) into "
        "docs/screenshots/."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out", type=Path, default=DEFAULT_OUT, help="Where to write the PNG files."
        )
        parser.add_argument(
            "--customers",
            type=int,
            default=DEFAULT_CUSTOMERS,
            help=f"How many demo customers to load (default {DEFAULT_CUSTOMERS}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as error:
            raise CommandError(
                "Playwright is a development dependency: `make install` installs it."
            ) from error
        out: Path = options["out"]
        out.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()

        test_settings = connection.settings_dict.setdefault("TEST", {})
        test_settings["NAME"] = f"{connection.settings_dict['NAME']}_screenshots"
        self.stdout.write(f"Creating the throwaway database {test_settings['NAME']}…")
        with _inline_delivery():
            old_config = setup_databases(verbosity=0, interactive=False)
            try:
                self.stdout.write("Loading the demo data…")
                call_command("seed_demo", customers=options["customers"], verbosity=0)
                featured = demo_featured_customer()
                if featured is None:
                    raise CommandError("The demo has no featured customer to show.")
                shots = shots_plan(customer_id=featured.pk)
                with sync_playwright() as playwright, _live_server() as base_url:
                    try:
                        browser = chromium_launch(playwright)
                    except ChromiumMissingError as error:
                        raise CommandError(str(error)) from error
                    try:
                        for shot in shots:
                            path = out / f"{shot.name}.png"
                            screenshot_take(browser, base_url=base_url, shot=shot, path=path)
                            size = path.stat().st_size // 1024
                            self.stdout.write(f"  {path}  {size} KB")
                    finally:
                        browser.close()
            finally:
                teardown_databases(old_config, verbosity=0)
        self.stdout.write(
            self.style.SUCCESS(
                f"Saved {len(shots)} screenshots in {time.monotonic() - started:.0f}s."
            )
        )


# --- the pages ---------------------------------------------------------------------------------


def shots_plan(*, customer_id: int) -> list[Shot]:
    """The pages the README shows, each as the role that works there (the wheel over the
    last twelve months, so that its trends have a shape)."""
    today = timezone.now().date()
    year_ago = today - timedelta(days=364)
    return [
        Shot("wheel", "marketer", f"/?start={year_ago}&end={today}", "The wheel", height=2400),
        Shot("marketing", "marketer", "/dashboard/marketing/", "The marketing page", height=1400),
        Shot("sales", "sales", "/dashboard/sales/", "The sales page", height=1400),
        Shot("support", "support", "/dashboard/support/", "The support page", height=1400),
        Shot("customers", "sales", "/customers/", "The customer list"),
        Shot(
            "customer",
            "sales",
            f"/customers/{customer_id}/",
            "A customer's 360° page",
            height=1280,
        ),
        Shot("tasks", "sales", "/tasks/", "My tasks"),
        Shot("surveys", "support", "/surveys/", "Surveys"),
        Shot("automation", "marketer", "/automation/", "Automation rules"),
        Shot("segments", "marketer", "/segments/", "Segments"),
        Shot("campaigns", "marketer", "/campaigns/", "Campaigns"),
        Shot("outbox", "support", "/outbox/", "The outbox"),
        Shot("forms", "marketer", "/forms/", "Lead forms"),
        Shot("templates", "marketer", "/templates/", "Message templates"),
    ]


def screenshot_take(browser: Any, *, base_url: str, shot: Shot, path: Path) -> None:
    """Log in as the shot's demo user through the login form, open the page, save a PNG."""
    from customers.management.commands.seed_demo import DEMO_USERS

    password = next(user.password for user in DEMO_USERS if user.username == shot.username)
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto("/login/")
        page.get_by_label("Username").fill(shot.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login/" not in url)
        page.goto(shot.path)
        page.wait_for_load_state("networkidle")
        clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": shot.height}
        page.screenshot(path=str(path), full_page=True, clip=clip)
    finally:
        context.close()


class _live_server:  # noqa: N801 - used as a context manager, like a function
    """Django's live test server on a free port of 127.0.0.1, serving static files too."""

    def __enter__(self) -> str:
        from django.contrib.staticfiles.handlers import StaticFilesHandler
        from django.test.testcases import LiveServerThread

        self.thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
        self.thread.daemon = True
        self.thread.start()
        self.thread.is_ready.wait()
        if self.thread.error:
            raise self.thread.error
        return f"http://127.0.0.1:{self.thread.port}"

    def __exit__(self, *exc: object) -> None:
        self.thread.terminate()


class _inline_delivery:  # noqa: N801 - used as a context manager, like a function
    """Run Celery tasks in-process and keep every email and SMS in memory."""

    def __enter__(self) -> None:
        from flywheel_crm.celery import app

        self.app = app
        self.was_eager = app.conf.task_always_eager
        app.conf.task_always_eager = True
        # Eager tasks log a line each; the command reports its own progress.
        self.trace_logger = logging.getLogger("celery.app.trace")
        self.trace_level = self.trace_logger.level
        self.trace_logger.setLevel(logging.WARNING)
        self.overrides = override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
            SMS_BACKEND="messaging.sms.LocmemSMSBackend",
            ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        )
        self.overrides.enable()

    def __exit__(self, *exc: object) -> None:
        self.overrides.disable()
        self.app.conf.task_always_eager = self.was_eager
        self.trace_logger.setLevel(self.trace_level)
