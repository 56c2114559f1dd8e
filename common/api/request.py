"""Typed access to what DRF's request carries."""

from __future__ import annotations

from django.contrib.auth.models import User
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request


def request_user(request: Request) -> User:
    """The authenticated user of `request` (the views' permission has already required one)."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
