"""The survey link's token: the invitation's id, signed with the site's secret key.

Nothing secret is stored: a token can only come from this server, a changed character breaks
the signature, and an id that does not exist (any more) is simply not found. Expiry and
single use are the invitation's state, not the token's.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "surveys.invitation"


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, algorithm="sha256")


def invitation_token(invitation_id: int) -> str:
    """The token of the invitation's link: `<id>:<signature>`, URL-safe."""
    return _signer().sign(str(invitation_id))


def invitation_id_from_token(token: str) -> int | None:
    """The invitation id a token names, or None when it was not signed by this server."""
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def invitation_path(invitation_id: int) -> str:
    """The public page's path, `/s/<token>/`."""
    return reverse("surveys:answer", args=[invitation_token(invitation_id)])


def invitation_url(invitation_id: int) -> str:
    """The absolute link sent to the customer (settings.FLYWHEEL_BASE_URL + the path)."""
    return settings.FLYWHEEL_BASE_URL.rstrip("/") + invitation_path(invitation_id)
