"""Screenshots of the main pages for the README, taken in headless Chromium.

`make screenshots` runs this. It never touches your data: it creates a throwaway database
(`<name>_screenshots`), loads the demo (`seed_demo`) and a little marketing and survey
activity on top, serves it on a free local port (static files included, as `runserver`
does), logs in through the login form as the demo users, saves one PNG per page into
docs/screenshots/, and drops the database again.

Work a Celery worker would do (delivering emails, sending a campaign) runs in-process
(Celery's eager mode) so that the pages show sent messages; emails and SMS go to Django's
in-memory backends, never out.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count
from django.test.utils import override_settings, setup_databases, teardown_databases
from django.utils import timezone

from common.browser import VIEWPORT, ChromiumMissingError, chromium_launch

DEFAULT_OUT = Path(settings.BASE_DIR) / "docs" / "screenshots"
DEFAULT_CUSTOMERS = 400
SEED = 7


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
                showcase = showcase_create()
                shots = shots_plan(showcase)
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


def shots_plan(showcase: dict[str, Any]) -> list[Shot]:
    """The pages the README shows, each as the role that works there."""
    return [
        Shot("customers", "sales", "/customers/", "The customer list"),
        Shot(
            "customer",
            "sales",
            f"/customers/{showcase['customer_id']}/",
            "A customer's 360° page",
            height=1280,
        ),
        Shot("tasks", "sales", "/tasks/", "My tasks"),
        Shot("surveys", "support", "/surveys/", "Surveys"),
        Shot("automation", "marketer", "/automation/", "Automation rules"),
        Shot("segments", "marketer", "/segments/", "Segments"),
        Shot("campaigns", "marketer", "/campaigns/", "Campaigns"),
        Shot("outbox", "support", "/outbox/", "The outbox"),
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
        page.wait_for_url("**/customers/")
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


# --- the data on top of the demo ---------------------------------------------------------------

SEGMENTS = (
    (
        "Engaged small businesses",
        "In Engage, with 50 employees or fewer.",
        {
            "op": "and",
            "rules": [
                {"field": "phase", "op": "in", "value": ["engage"]},
                {"field": "tags", "op": "has_any", "value": ["smb"]},
            ],
        },
    ),
    (
        "Delighted customers",
        "Everyone in Post-purchase or Advocacy.",
        {"op": "and", "rules": [{"field": "phase", "op": "in", "value": ["delight"]}]},
    ),
    (
        "Churn risk",
        "Tagged churn-risk after a complaint or a step back.",
        {"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["churn-risk"]}]},
    ),
    (
        "NPS promoters",
        "Their latest NPS answer was 9 or 10.",
        {
            "op": "and",
            "rules": [
                {
                    "field": "survey_category",
                    "op": "in",
                    "value": ["promoter"],
                    "survey_kind": "nps",
                }
            ],
        },
    ),
)


def _variant(name: str, split: int, subject: str, opening: str) -> dict[str, Any]:
    return {
        "name": name,
        "split": split,
        "subject": subject,
        "body_text": f'Hi {{{{ first_name|default:"there" }}}},\n\n{opening}',
        "body_html": f"<p>Hi {{{{ first_name }}}},</p><p>{opening}</p>",
    }


def showcase_create() -> dict[str, Any]:
    """Surveys sent and answered, segments, campaigns (sent, scheduled, draft) on the demo.

    Written through the services, as the dashboard would; returns what the shots need.
    """
    from django.contrib.auth import get_user_model

    from campaigns.models import Recipient, RecipientState
    from campaigns.services import (
        campaign_create,
        campaign_schedule,
        campaign_send_now,
        tracking_click,
        tracking_open,
    )
    from customers.models import Customer
    from interactions.models import CaseState, Interaction, InteractionKind, Outcome
    from interactions.services import purchase_record, support_case_close
    from segments.services import segment_create, segment_members_add
    from surveys.models import InvitationSource, Survey
    from surveys.services import survey_answer, survey_invite

    rng = random.Random(SEED)  # noqa: S311 - demo data, not secrets
    users = {user.username: user for user in get_user_model().objects.all()}
    support, marketer = users["support"], users["marketer"]

    # The customer page: one of the first rep's advocates with the most history.
    featured = (
        Customer.objects.filter(owner=users["sales"], stage__slug="advocacy")
        .annotate(n=Count("interactions"))
        .order_by("-n", "pk")
        .first()
    )
    if featured is None:
        raise CommandError("The demo has no advocate owned by 'sales' to show.")

    # NPS from delighted customers, CSAT after a support case, CES from the rest; most answer.
    customers = list(
        Customer.objects.exclude(pk=featured.pk).order_by("pk").select_related("stage")
    )
    rng.shuffle(customers)
    delighted = [c for c in customers if c.stage.phase == "delight"]
    helped = set(
        Interaction.objects.filter(kind=InteractionKind.SUPPORT_CASE).values_list(
            "customer_id", flat=True
        )
    )
    surveys = {survey.kind: survey for survey in Survey.objects.filter(is_active=True)}
    for kind, audience, scores in (
        ("nps", delighted[:60], [10, 10, 10, 9, 9, 9, 8, 8, 7, 6, 3]),
        ("csat", [c for c in customers if c.pk in helped][:30], [5, 5, 5, 4, 4, 4, 3, 2]),
        ("ces", [c for c in customers if c.stage.phase == "engage"][:20], [7, 6, 6, 5, 5, 3]),
    ):
        for customer in audience:
            invitation = survey_invite(
                survey=surveys[kind],
                customer=customer,
                source=InvitationSource.MANUAL,
                sent_by=support,
            )
            if rng.random() < 0.7:
                survey_answer(invitation=invitation, score=rng.choice(scores))

    segments = [
        segment_create(name=name, description=description, definition=rules, created_by=marketer)
        for name, description, rules in SEGMENTS
    ]
    webinar = segment_create(
        name="Webinar attendees, March",
        kind="static",
        description="Imported from the webinar tool.",
        created_by=marketer,
    )
    attendees = rng.sample(list(Customer.objects.values_list("pk", flat=True)), 25)
    segment_members_add(segment=webinar, customer_ids=attendees)

    upgrade = campaign_create(
        name="Upgrade to Team: spring offer",
        segment=segments[0],
        variants=[
            _variant("A", 50, "Your team, one plan", "Bring the whole team in for 20% less."),
            _variant("B", 50, "20% off Team this spring", "Team is 20% off until May."),
        ],
        cost="420.00",
        currency="EUR",
        created_by=marketer,
    )
    campaign_send_now(campaign=upgrade)
    for recipient_id in Recipient.objects.filter(
        campaign=upgrade, state=RecipientState.QUEUED
    ).values_list("pk", flat=True):
        if rng.random() < 0.45:
            tracking_open(recipient_id=recipient_id)
            if rng.random() < 0.35:
                tracking_click(recipient_id=recipient_id, url="https://example.com/team")
    stories = campaign_create(
        name="Customer stories newsletter",
        segment=segments[1],
        variants=[_variant("A", 100, "How Acme grew with Flywheel", "Three stories.")],
        cost="150.00",
        currency="EUR",
        created_by=marketer,
    )
    campaign_schedule(campaign=stories, at=timezone.now() + timedelta(days=3))
    campaign_create(
        name="Win-back: churn risk",
        segment=segments[2],
        variants=[_variant("A", 100, "We miss you", "Here is what changed since.")],
        created_by=marketer,
    )

    # Support closes today's open cases and sales records a few orders: the demo's rules act.
    open_cases = Interaction.objects.filter(
        kind=InteractionKind.SUPPORT_CASE, case_state=CaseState.OPEN
    ).order_by("pk")[:8]
    for case in open_cases:
        support_case_close(interaction=case, closed_by=support, outcome=Outcome.RESOLVED)
    for customer in [c for c in customers if c.stage.slug == "purchase"][:5]:
        purchase_record(
            customer=customer,
            amount=Decimal("1200.00"),
            currency="EUR",
            recorded_by=users["sales"],
            description="Team plan, annual",
        )

    # The customer on the page answers last, so that the answer tops the timeline.
    survey_answer(
        invitation=survey_invite(
            survey=surveys["nps"],
            customer=featured,
            source=InvitationSource.MANUAL,
            sent_by=support,
        ),
        score=10,
        comment="The timeline saves us an hour a day.",
    )
    return {"customer_id": featured.pk}
