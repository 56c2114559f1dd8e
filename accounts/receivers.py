"""A new password revokes the user's API tokens, whichever way it was set."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import pre_save

from accounts.services import api_tokens_revoke_all


def revoke_tokens_on_password_change(
    sender: Any,
    instance: Any,
    raw: bool = False,
    update_fields: Any = None,
    **kwargs: Any,
) -> None:
    """pre_save of the user model: the stored password hash differs from the one being saved.

    Comparing hashes catches every path at once (the admin's password forms, `changepassword`,
    `set_password()` then `save()`, a hash assigned by hand); a save that names its fields
    without `password` (the last-login stamp of every sign-in) costs no query.
    """
    if raw or instance.pk is None:
        return
    if update_fields is not None and "password" not in update_fields:
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        api_tokens_revoke_all(user=instance)


def connect() -> None:
    pre_save.connect(
        revoke_tokens_on_password_change,
        sender=get_user_model(),
        dispatch_uid="accounts.revoke_tokens_on_password_change",
    )
