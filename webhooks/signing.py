"""How a webhook request is signed (the recipe receivers follow is in docs/webhooks.md).

The signature is HMAC-SHA256, keyed with the subscription's secret, over
`f"{timestamp}.{body}"`: the unix time of the attempt, a dot, and the exact bytes of the body.
Signing the timestamp with the body lets a receiver refuse a captured request replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

SIGNATURE_SCHEME = "sha256"
USER_AGENT = "Flywheel-CRM-Webhooks/1"


def body_encode(envelope: dict[str, Any]) -> bytes:
    """The request body: compact JSON with sorted keys, the same bytes on every attempt."""
    return json.dumps(
        envelope, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `{timestamp}.{body}` under `secret`."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(
    *, secret: str, timestamp: int, body: bytes, event: str, delivery_id: str
) -> dict[str, str]:
    """The headers of one attempt, X-Flywheel-Signature included."""
    digest = signature(secret=secret, timestamp=timestamp, body=body)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Flywheel-Event": event,
        "X-Flywheel-Delivery": delivery_id,
        "X-Flywheel-Timestamp": str(timestamp),
        "X-Flywheel-Signature": f"{SIGNATURE_SCHEME}={digest}",
    }


def installation_secret() -> str:
    """The secret of the automation engine's one-off calls (FLYWHEEL_WEBHOOK_SECRET).

    Unset, it is derived from SECRET_KEY, so that every installation has its own without
    configuration; set it to give receivers a secret that survives a SECRET_KEY rotation.
    """
    configured: str = settings.FLYWHEEL_WEBHOOK_SECRET
    if configured:
        return configured
    return hmac.new(
        settings.SECRET_KEY.encode("utf-8"), b"flywheel.webhooks.call-secret", hashlib.sha256
    ).hexdigest()
