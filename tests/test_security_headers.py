"""Every response carries a strict Content-Security-Policy and a Permissions-Policy; the
public lead form alone may be framed, and the email previews alone allow inline styles."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from leadforms.services import form_create
from messaging.services import template_create

pytestmark = pytest.mark.django_db


def policy(response: Any) -> dict[str, set[str]]:
    """The Content-Security-Policy header as {directive: {sources}}."""
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = set(sources)
    return directives


def test_a_dashboard_page_gets_the_strict_policy(client: Client, marketer: Any) -> None:
    client.force_login(marketer)

    response = client.get(reverse("customers:list"))

    assert response.status_code == 200
    assert policy(response) == {
        "default-src": {"'self'"},
        "script-src": {"'self'"},
        "style-src": {"'self'"},
        "img-src": {"'self'", "data:"},
        "font-src": {"'self'"},
        "connect-src": {"'self'"},
        "object-src": {"'none'"},
        "base-uri": {"'self'"},
        "form-action": {"'self'"},
        "frame-ancestors": {"'none'"},
    }
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize(
    "path", ["/login/", "/api/v1/customers/", "/api/docs/", "/api/docs/?script=", "/nowhere/"]
)
def test_every_response_carries_both_policies(client: Client, path: str) -> None:
    response = client.get(path)

    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    permissions = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions


def test_the_api_docs_page_has_no_inline_script(client: Client) -> None:
    body = client.get("/api/docs/").content.decode()

    assert "<script>" not in body
    assert '<script src="/api/docs/?script="></script>' in body
    assert "<style>" not in body


def test_the_public_lead_form_may_be_framed_by_any_site(client: Client) -> None:
    form = form_create(name="Newsletter", fields=[])

    response = client.get(reverse("leadforms:public", args=[form.slug]))

    assert response.status_code == 200
    assert policy(response)["frame-ancestors"] == {"*"}
    assert "X-Frame-Options" not in response
    assert policy(response)["script-src"] == {"'self'"}
    assert policy(response)["form-action"] == {"'self'"}


def test_a_lead_form_may_send_the_visitor_on_to_its_thank_you_page(client: Client) -> None:
    form = form_create(
        name="Newsletter", fields=[], redirect_url="https://shop.example.com/thanks?from=form"
    )

    response = client.get(reverse("leadforms:public", args=[form.slug]))

    assert policy(response)["form-action"] == {"'self'", "https://shop.example.com"}


def test_the_lead_forms_confirmation_page_may_not_be_framed(client: Client) -> None:
    response = client.get(reverse("leadforms:confirm", args=["bad-token"]))

    assert policy(response)["frame-ancestors"] == {"'none'"}
    assert response["X-Frame-Options"] == "DENY"


def test_an_email_preview_page_allows_the_emails_inline_styles_and_images(
    client: Client, marketer: Any, customer_factory: Any
) -> None:
    template = template_create(name="Hi", subject="Hi", body_text="Hi", body_html="<p>Hi</p>")
    customer = customer_factory()
    client.force_login(marketer)

    response = client.get(
        reverse("messaging:template-detail", args=[template.pk]), {"customer": customer.pk}
    )

    assert response.status_code == 200
    assert policy(response)["style-src"] == {"'self'", "'unsafe-inline'"}
    assert policy(response)["img-src"] == {"'self'", "data:", "https:"}
    assert policy(response)["script-src"] == {"'self'"}
    assert policy(response)["frame-ancestors"] == {"'none'"}
