"""Personal API tokens: what a person's scripts and tools authenticate with."""

from __future__ import annotations

import uuid

from django.db import models
from knox.models import AbstractAuthToken


class ApiToken(AbstractAuthToken):
    """A personal API token, sent as `Authorization: Token <token>` (django-rest-knox).

    Only a SHA-512 digest of the token is stored (the primary key), with its first characters
    to find it by; the token itself is shown once, when it is issued. Every token expires
    (`REST_KNOX["TOKEN_TTL"]`), and all of a user's tokens are revoked when their password
    changes. `public_id` names a token in lists and revocations without revealing any of it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(
        max_length=100, blank=True, help_text="What the token is for, to recognise it by."
    )

    class Meta:
        ordering = ("-created",)
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.user} — {self.name or 'API token'} ({self.public_id})"
