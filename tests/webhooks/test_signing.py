"""The signature is exactly what docs/webhooks.md says, and its recipe verifies real requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from webhooks.models import Delivery
from webhooks.services import delivery_attempt
from webhooks.signing import body_encode, installation_secret, signature, signed_headers

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def documented_verify() -> Any:
    """The `verify` function of the documentation's Python snippet."""
    [snippet] = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # noqa: S102 - our own documentation, under test
    return namespace["verify"]


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"event":"customer.created","data":{"customer_id":1}}'

    expected = hmac.new(b"whsec_abc", b"1767225600." + body, hashlib.sha256).hexdigest()

    assert signature(secret="whsec_abc", timestamp=1767225600, body=body) == expected


def test_the_headers_carry_event_delivery_timestamp_and_prefixed_signature() -> None:
    body = body_encode({"b": 1, "a": "é"})

    headers = signed_headers(
        secret="s", timestamp=1700000000, body=body, event="purchase.recorded", delivery_id="d-1"
    )

    assert body == '{"a":"é","b":1}'.encode()
    assert headers["X-Flywheel-Event"] == "purchase.recorded"
    assert headers["X-Flywheel-Delivery"] == "d-1"
    assert headers["X-Flywheel-Timestamp"] == "1700000000"
    digest = hmac.new(b"s", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert headers["X-Flywheel-Signature"] == f"sha256={digest}"


def test_the_installation_secret_is_configured_or_derived(settings) -> None:
    settings.FLYWHEEL_WEBHOOK_SECRET = ""
    derived = installation_secret()
    settings.SECRET_KEY = "another-key-" * 5
    assert installation_secret() != derived

    settings.FLYWHEEL_WEBHOOK_SECRET = "configured"
    assert installation_secret() == "configured"


@pytest.mark.django_db
def test_the_documented_recipe_verifies_a_real_delivery(
    allow_private, receiver, make_subscription
) -> None:
    verify = documented_verify()
    subscription = make_subscription(receiver.url())
    delivery = Delivery.objects.create(
        subscription=subscription,
        event="customer.stage_changed",
        idempotency_key="k",
        payload={"customer_id": 7, "to_stage": "purchase"},
    )

    delivery_attempt(delivery_id=delivery.pk, retry_in=None)

    [request] = receiver.received()
    assert verify(subscription.secret, request.headers, request.body)
    assert not verify("whsec_wrong", request.headers, request.body)
    assert not verify(subscription.secret, request.headers, request.body + b" ")
    sent_at = int(request.headers["X-Flywheel-Timestamp"])
    assert abs(sent_at - time.time()) < 60
    assert not verify(subscription.secret, request.headers, request.body, now=sent_at + 301)
    assert json.loads(request.body)["data"] == {"customer_id": 7, "to_stage": "purchase"}
