"""The Content-Security-Policy and Permissions-Policy in a real browser.

Every role walks every page its links lead to, on the demo data (customers, segments,
campaigns, templates and their previews, surveys, forms, rules, webhooks): each page answers
with both headers and works under them, since the `page` fixture fails a test on any
`securitypolicyviolation`; so do the admin site's pages. An inline script injected into one of
our pages does not run, and the public lead form, unlike every other page, may be framed by
another website.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from campaigns.models import Campaign
from common.browser import VIEWPORT
from customers.management.commands.seed_demo import DEMO_USERS
from customers.models import Customer
from leadforms.models import LeadForm
from leadforms.services import form_create
from messaging.services import template_create
from tests.browser.conftest import PageProblems
from webhooks.services import subscription_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_LOGINS = {user.role: user for user in DEMO_USERS if user.username != "sales2"}
# Links the walk does not follow: leaving (log out), files rather than pages (CSV exports),
# the JSON API and the Django admin site beyond its index (its own pages, not the dashboard).
SKIP = re.compile(r"^/(logout/|api/(?!docs/)|admin/.+|static/)|export|format=csv")
MAX_PAGES = 150
STYLED_HTML = (
    '<p style="color:#1d4ed8;font-weight:700">Hello {{ first_name }}</p>'
    '<p><a href="https://example.com/offer" style="display:inline-block;padding:8px">Offer</a></p>'
)


def page_kind(url: str) -> str:
    """Pages that differ only by ids or by the values of their query are one kind of page."""
    parts = urlsplit(url)
    path = re.sub(r"/\d+/", "/<id>/", parts.path)
    keys = sorted({pair.split("=", 1)[0] for pair in parts.query.split("&") if pair})
    return f"{path}?{'&'.join(keys)}"


def admin_page_kind(url: str) -> str:
    """The admin site's pages by path alone: its lists' filters and orderings are many."""
    return re.sub(r"/\d+/", "/<id>/", urlsplit(url).path)


def walk(
    page: Any, start: list[str], *, skip: re.Pattern[str] = SKIP, kind: Any = page_kind
) -> list[str]:
    """Visit `start`, then every page of the site linked from a visited page (but `skip`),
    one of each `kind`; check each answers 200 with both policies. Returns the URLs visited."""
    origin = urlsplit(page.url)
    queue, seen, visited = list(start), set(), []
    while queue:
        url = queue.pop(0)
        if kind(url) in seen:
            continue
        seen.add(kind(url))
        response = page.goto(url)
        assert response is not None
        assert response.status == 200, url
        assert "script-src 'self'" in response.headers["content-security-policy"], url
        assert "camera=()" in response.headers["permissions-policy"], url
        visited.append(url)
        assert len(visited) <= MAX_PAGES, "the walk does not end: is a page kind too fine?"
        for href in page.eval_on_selector_all(
            # getAttribute: an SVG link's `href` is not a string (the wheel's links are SVG).
            "a[href]:not([download])",
            "links => links.map(link => new URL(link.getAttribute('href'), document.baseURI).href)",
        ):
            parts = urlsplit(href)
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.netloc == origin.netloc and not skip.search(local):
                queue.append(local)
    return visited


@pytest.fixture
def demo(settings: Any) -> dict[str, Any]:
    """The demo data, plus what it lacks: an email template styled inline (its preview is
    framed with srcdoc, under the page's policy), a webhook and a form that redirects."""
    settings.FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    call_command("seed_demo", customers=40, verbosity=0)
    template = template_create(
        name="Styled welcome", subject="Hi", body_text="Hello", body_html=STYLED_HTML
    )
    subscription_create(name="Shop", url="http://127.0.0.1:9/hook", events=["customer.created"])
    form_create(name="Demo day", fields=[], redirect_url="https://example.com/thanks")
    customer = Customer.objects.order_by("pk").first()
    campaign = Campaign.objects.order_by("pk").first()
    assert customer is not None
    assert campaign is not None
    return {
        # Previews are reached through a form, not a link.
        "previews": [
            f"/templates/{template.pk}/?customer={customer.pk}",
            f"/campaigns/{campaign.pk}/preview/?customer={customer.pk}",
        ],
        "form": LeadForm.objects.get(name="Demo day"),
    }


def log_in_as(page: Any, role: str) -> None:
    login = DEMO_LOGINS[role]
    page.goto("/login/")
    page.get_by_label("Username").fill(login.username)
    page.get_by_label("Password").fill(login.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="The wheel", level=1)).to_be_visible()


@pytest.mark.parametrize("role", list(DEMO_LOGINS))
def test_every_page_of_each_role_works_under_the_policy(page, page_problems, demo, role):
    log_in_as(page, role)

    visited = walk(page, ["/", *demo["previews"], "/api/docs/", f"/f/{demo['form'].slug}/"])

    kinds = {page_kind(url) for url in visited}
    for expected in ("/customers/<id>/?", "/templates/<id>/?customer", "/surveys/<id>/?"):
        assert expected in kinds, sorted(kinds)
    if role == "Admin":
        assert "/webhooks/?" in kinds
    # The walk saw the email previews and Swagger UI render, not just load.
    assert page_problems.csp_violations == []


def test_the_admin_site_works_under_the_policy(page, demo):
    """Its pages, and the periodic task form's crontab help, whose script django-celery-beat
    writes inline (templates/admin/djcelery/ serves it as a file)."""
    from django_celery_beat.models import CrontabSchedule

    CrontabSchedule.objects.create(minute="0", hour="9")
    log_in_as(page, "Admin")

    visited = walk(
        page,
        ["/admin/"],
        skip=re.compile(r"^/(?!admin/)|/delete/|/password/|/logout/"),
        kind=admin_page_kind,
    )

    assert "/admin/django_celery_beat/periodictask/add/" in {admin_page_kind(u) for u in visited}
    page.goto("/admin/django_celery_beat/periodictask/add/")
    page.locator("#id_crontab").select_option(index=1)
    expect(page.locator(".field-crontab .help")).to_contain_text("Translation: At 09:00")


def test_an_email_preview_keeps_its_inline_styles(page, demo):
    log_in_as(page, "Admin")

    page.goto(demo["previews"][0])

    greeting = page.frame_locator("iframe.email-preview").get_by_text(re.compile("^Hello"))
    expect(greeting).to_have_css("font-weight", "700")


def test_an_injected_inline_script_does_not_run(page, page_problems, live_server, demo):
    """A page of ours carrying an inline script and a style attribute (what an injection
    would add), under the policy our pages are served with: neither applies."""
    log_in_as(page, "Marketer")
    policy = page.goto("/customers/").headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-inline'" not in directives["style-src"]
    page.route(
        f"{live_server.url}/injected/",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            headers={"Content-Security-Policy": policy},
            body='<!doctype html><title>x</title><p id="p" style="color: rgb(255, 0, 0)">x</p>'
            "<script>document.title = 'pwned'</script>"
            '<img src="x" onerror="document.title = \'pwned\'" alt="">',
        ),
    )

    page.goto("/injected/")

    expect(page).to_have_title("x")
    expect(page.locator("#p")).not_to_have_css("color", "rgb(255, 0, 0)")
    violations = page_problems.csp_violations
    assert any(v.startswith("script-src-elem blocked inline") for v in violations), violations
    assert any(v.startswith("script-src-attr blocked inline") for v in violations), violations
    assert any(v.startswith("style-src-attr blocked inline") for v in violations), violations
    # Expected here (the refusals, and the injected image's 404): the page fixture checks
    # that nothing else went wrong.
    page_problems.csp_violations.clear()
    page_problems.console_errors.clear()
    page_problems.failed_requests.clear()


@contextmanager
def customer_site(html: str) -> Iterator[str]:
    """A website of a customer's: another origin, served from this machine (browsers keep a
    public site from framing local addresses, whatever our policy says). Yields its URL."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_only_the_public_lead_form_can_be_framed_by_another_site(browser, live_server, demo):
    """A customer's website frames the lead form: it shows; it frames the dashboard's login
    page: the browser refuses."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    problems = PageProblems(origin=live_server.url)
    problems.watch(page)
    html = (
        f'<!doctype html><title>Shop</title><iframe id="form" title="form" '
        f'src="{live_server.url}/f/{demo["form"].slug}/"></iframe><iframe id="login" '
        f'title="login" src="{live_server.url}/login/"></iframe>'
    )

    with customer_site(html) as site:
        page.goto(site)
        form = page.frame_locator("#form")
        expect(form.get_by_role("button", name="Send")).to_be_visible()
        expect(page.frame_locator("#login").get_by_label("Username")).to_have_count(0)
        context.close()

    assert problems.csp_violations == []
    # The refusal to frame the login page is all the browser complains about.
    assert len(problems.console_errors) == 1, problems.console_errors
    assert "frame-ancestors 'none'" in problems.console_errors[0]
