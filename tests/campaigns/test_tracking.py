"""Opens, clicks and the provider's webhook: signed links, no open redirect, auth."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from django.core import signing
from django.test import Client, override_settings

from campaigns.models import ProviderEvent, Recipient, TrackingEvent
from campaigns.services import campaign_send_now
from campaigns.tracking import (
    CLICK_SALT,
    PIXEL_GIF,
    click_from_token,
    click_token,
    open_token,
)
from tests.campaigns.conftest import run_send

pytestmark = pytest.mark.django_db

SECRET = "provider-secret-for-tests"


@pytest.fixture
def recipient(draft, consenting) -> Recipient:
    campaign = draft([consenting(first_name="Ann")])
    campaign_send_now(campaign=campaign)
    run_send(campaign)
    return Recipient.objects.select_related("message").get()


def _paths(html: str, kind: str) -> list[str]:
    return [
        unescape(url).split("127.0.0.1:8000", 1)[1]
        for url in re.findall(rf'"(http://127\.0\.0\.1:8000/t/{kind}/[^"]+)"', html)
    ]


def test_the_open_pixel_records_the_first_open_only(client: Client, recipient):
    [pixel] = _paths(recipient.message.body_html, "o")

    for _ in range(3):
        response = client.get(pixel)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/gif"
        assert response.content == PIXEL_GIF
        assert "no-store" in response["Cache-Control"]

    assert TrackingEvent.objects.filter(recipient=recipient, kind="open").count() == 1


def test_a_forged_pixel_is_still_a_gif_and_records_nothing(client: Client, recipient):
    forged = f"/t/o/{recipient.pk}:forged.gif"

    response = client.get(forged)

    assert response.status_code == 200
    assert response.content == PIXEL_GIF
    assert not TrackingEvent.objects.exists()


def test_a_click_redirects_to_the_signed_url_and_records_it(client: Client, recipient):
    [link] = _paths(recipient.message.body_html, "c")

    response = client.get(link)

    assert response.status_code == 302
    assert response["Location"].startswith("https://example.com/offer?x=1&y=2")
    kinds = set(TrackingEvent.objects.filter(recipient=recipient).values_list("kind", flat=True))
    assert kinds == {"click", "open"}  # a click is an open too
    client.get(link)
    assert TrackingEvent.objects.filter(recipient=recipient, kind="click").count() == 1


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # the signature
        lambda token: "x" + token,  # the payload
        lambda token: token.split(":")[0] + ":" + "A" * 43,  # a made-up signature
    ],
)
def test_a_tampered_click_link_is_a_404_and_redirects_nowhere(client: Client, recipient, tamper):
    [link] = _paths(recipient.message.body_html, "c")
    token = link.removeprefix("/t/c/").rstrip("/")

    response = client.get(f"/t/c/{tamper(token)}/")

    assert response.status_code == 404
    assert "Location" not in response
    assert not TrackingEvent.objects.filter(kind="click").exists()


def test_no_open_redirect_a_token_signed_elsewhere_or_for_another_url_is_refused(
    client: Client, recipient
):
    # Signed with another key: forged.
    forged = signing.Signer(key="attacker", salt=CLICK_SALT, algorithm="sha256").sign_object(
        [recipient.pk, "https://evil.example/"], compress=True
    )
    assert client.get(f"/t/c/{forged}/").status_code == 404
    # Query parameters cannot change the target.
    [link] = _paths(recipient.message.body_html, "c")
    response = client.get(link, {"url": "https://evil.example/", "next": "//evil.example"})
    assert response.status_code == 302
    assert "evil" not in response["Location"]
    # The open token cannot be used as a click token (another salt).
    assert client.get(f"/t/c/{open_token(recipient.pk)}/").status_code == 404


@pytest.mark.parametrize(
    "target", ["javascript:alert(1)", "//evil.example/", "data:text/html,x", "/relative"]
)
def test_only_http_urls_are_ever_redirected_to(target):
    assert click_from_token(click_token(1, target)) is None


# --- the provider's webhook ---------------------------------------------------------------------


def _post(client: Client, body, secret: str | None = SECRET):
    headers = {} if secret is None else {"X-Flywheel-Provider-Secret": secret}
    return client.post(
        "/t/provider/", data=json.dumps(body), content_type="application/json", headers=headers
    )


@override_settings(FLYWHEEL_PROVIDER_WEBHOOK_SECRET=SECRET)
@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x"])
def test_the_webhook_refuses_a_wrong_secret(client: Client, recipient, secret):
    response = _post(client, {"event": "bounce", "message_id": recipient.message_ref}, secret)

    assert response.status_code == 403
    assert not TrackingEvent.objects.exists()
    assert not ProviderEvent.objects.exists()


@override_settings(FLYWHEEL_PROVIDER_WEBHOOK_SECRET="")
def test_the_webhook_is_closed_without_a_configured_secret(client: Client, recipient):
    assert _post(client, {"event": "bounce", "message_id": "x"}, "").status_code == 403


@override_settings(FLYWHEEL_PROVIDER_WEBHOOK_SECRET=SECRET)
def test_a_hard_bounce_is_recorded_once_and_suppresses_the_address(client: Client, recipient):
    body = {"event": "bounce", "message_id": recipient.message_ref, "bounce_type": "hard"}

    first = _post(client, body)
    second = _post(client, body)

    assert first.status_code == second.status_code == 200
    assert first.json()["recorded"] is True
    assert second.json()["recorded"] is False
    assert TrackingEvent.objects.get(recipient=recipient).kind == "bounce"
    assert ProviderEvent.objects.count() == 2
    from consent.models import Suppression

    assert Suppression.objects.filter(
        address=recipient.customer.email.lower(), reason="bounce"
    ).exists()


@override_settings(FLYWHEEL_PROVIDER_WEBHOOK_SECRET=SECRET)
def test_a_complaint_and_a_delivery_are_recorded(client: Client, recipient):
    ref = recipient.message_ref.strip("<>")  # providers often drop the brackets

    assert _post(client, {"event": "delivered", "message_id": ref}).status_code == 200
    assert _post(client, {"event": "complaint", "message_id": ref}).status_code == 200

    kinds = set(TrackingEvent.objects.values_list("kind", flat=True))
    assert kinds == {"delivered", "complaint"}
    from consent.models import Suppression

    assert Suppression.objects.filter(reason="complaint").count() == 1


@override_settings(FLYWHEEL_PROVIDER_WEBHOOK_SECRET=SECRET)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event": "exploded", "message_id": "<a@b>"}, "event"),
        ({"event": "bounce"}, "message_id"),
        ({"event": "bounce", "message_id": "<a@b>", "bounce_type": "medium"}, "bounce_type"),
        ({"event": "bounce", "message_id": "<a@b>", "occurred_at": "yesterday"}, "occurred_at"),
        (["not", "an", "object"], "body"),
    ],
)
def test_bad_webhook_input_is_a_400_naming_the_field(client: Client, body, field):
    response = _post(client, body)

    assert response.status_code == 400
    assert field in response.json()


@override_settings(FLYWHEEL_PROVIDER_WEBHOOK_SECRET=SECRET)
def test_an_unknown_message_is_logged_not_an_error(client: Client):
    response = _post(client, {"event": "bounce", "message_id": "<nobody@x>"})

    assert response.status_code == 200
    assert response.json()["recorded"] is False
    assert ProviderEvent.objects.get().recipient is None
