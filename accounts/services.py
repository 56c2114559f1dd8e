"""Writes for accounts: issuing and revoking personal API tokens."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken


@transaction.atomic
def api_token_create(*, user: AbstractBaseUser, name: str = "") -> tuple[ApiToken, str]:
    """Issue a personal API token for `user`: the stored row and the token, shown only now.

    The user's expired tokens are deleted on the way (requests look only at the token they
    present, accounts/authentication.py).
    """
    ApiToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    token, secret = ApiToken.objects.create(user=user, name=name)
    return token, secret


def api_token_revoke(*, user: AbstractBaseUser, public_id: uuid.UUID) -> bool:
    """Revoke one of `user`'s own tokens; False when they hold none by that id.

    Another user's token is never found here, so nobody can revoke it but its owner (or an
    Admin, in the admin site).
    """
    deleted, _ = ApiToken.objects.filter(user=user, public_id=public_id).delete()
    return deleted > 0


def api_tokens_revoke_all(*, user: AbstractBaseUser) -> int:
    """Revoke every API token of `user`: logging out everywhere, or a new password."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted
