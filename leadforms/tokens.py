"""The double opt-in link's token: the submission id, signed and dated (valid 30 days)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "leadforms.confirm"
MAX_AGE_SECONDS = 30 * 24 * 3600


class ConfirmLinkExpiredError(Exception):
    """The link is genuine but older than MAX_AGE_SECONDS."""


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT, algorithm="sha256")


def confirm_token(submission_id: int) -> str:
    return _signer().sign(str(submission_id))


def submission_id_from_token(token: str) -> int | None:
    """The submission a token names; None when forged; ConfirmLinkExpiredError when too old."""
    try:
        value = _signer().unsign(token, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired as exc:
        raise ConfirmLinkExpiredError from exc
    except signing.BadSignature:
        return None
    return int(value) if value.isdigit() else None


def confirm_url(submission_id: int) -> str:
    path = reverse("leadforms:confirm", args=[confirm_token(submission_id)])
    return settings.FLYWHEEL_BASE_URL.rstrip("/") + path
