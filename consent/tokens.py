"""The unsubscribe link's token: the customer id (or, without a customer, the address) and the
channel, signed with the site's secret key. No expiry: an old email's link must keep working."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "consent.unsubscribe"


@dataclass(frozen=True)
class UnsubscribeTarget:
    """Whom a token unsubscribes: a customer, or a bare address, on one channel."""

    channel: str
    customer_id: int | None = None
    address: str = ""


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, algorithm="sha256")


def unsubscribe_token(*, channel: str, customer_id: int | None = None, address: str = "") -> str:
    payload = {"ch": channel, "c": customer_id} if customer_id else {"ch": channel, "a": address}
    return _signer().sign_object(payload, compress=True)


def unsubscribe_target(token: str) -> UnsubscribeTarget | None:
    """What a token names, or None when this server did not sign it."""
    try:
        payload = _signer().unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("ch") not in ("email", "sms"):
        return None
    customer_id = payload.get("c")
    if isinstance(customer_id, int):
        return UnsubscribeTarget(channel=payload["ch"], customer_id=customer_id)
    address = payload.get("a")
    if isinstance(address, str) and address:
        return UnsubscribeTarget(channel=payload["ch"], address=address)
    return None


def unsubscribe_url(*, channel: str, customer_id: int | None = None, address: str = "") -> str:
    """The absolute link `…/u/<token>/` for emails and the List-Unsubscribe header."""
    token = unsubscribe_token(channel=channel, customer_id=customer_id, address=address)
    path = reverse("consent:unsubscribe", args=[token])
    return settings.FLYWHEEL_BASE_URL.rstrip("/") + path
