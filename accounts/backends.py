"""The authentication backend that refuses sign-ins while locked out (django-axes)."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """Refuses a sign-in while its account or address is locked out (accounts/lockout.py).

    Every way in from outside (the login page, the admin's, the API's token endpoint) passes
    its request. A check without one (a management command, the shell) has no address to
    count and comes from no visitor, so it is left to the next backend instead of failing.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
