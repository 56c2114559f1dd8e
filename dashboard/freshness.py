"""How fresh the wheel's numbers are: computed at most once a minute per view, and at once
after your own change.

The home page reads a dozen selectors; over a year at a million customers that is several
hundred milliseconds of queries, the same for everyone who opens the same view. So the numbers
of one view (its filters, and whether campaigns may be seen) are kept in the cache for
`FLYWHEEL_DASHBOARD_CACHE_SECONDS` (60 by default; 0 turns it off) — the same minute the
rollups' fold runs on — and shared by everyone who opens that view.

Two things make a view recompute before then:
- your own change: `DashboardFreshnessMiddleware` notes in your session when you last changed
  something (a successful POST, PUT, PATCH or DELETE while logged in), and numbers computed
  before that moment are not shown to you: move a customer, and the wheel you go back to has
  turned;
- "Refresh now" on the page (`?refresh=1`), for someone else's change within the minute.

The page says when its numbers were computed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

CHANGED_AT = "dashboard_numbers_changed_at"  # session key: when this person last wrote
KEY_PREFIX = "dashboard:numbers:v1:"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})

T = TypeVar("T")


def cache_seconds() -> int:
    return int(getattr(settings, "FLYWHEEL_DASHBOARD_CACHE_SECONDS", 60))


def changed_at(request: HttpRequest) -> float:
    """When the person of this request last changed something (0: not in this session)."""
    session = getattr(request, "session", None)
    return float(session.get(CHANGED_AT, 0)) if session is not None else 0.0


def fresh_numbers(
    view: str, compute: Callable[[], T], *, not_before: float = 0.0, refresh: bool = False
) -> tuple[T, float]:
    """The numbers of one view (`view` names it: page, filters, what the user may see) and
    when they were computed: from the cache when computed within the last
    `cache_seconds()` and not before `not_before`, else computed now and kept."""
    seconds = cache_seconds()
    if seconds <= 0:
        return compute(), time.time()
    key = KEY_PREFIX + hashlib.sha256(view.encode()).hexdigest()
    if not refresh:
        kept = cache.get(key)
        if kept is not None and kept[0] >= not_before:
            computed_at, numbers = kept
            return numbers, computed_at
    computed_at = time.time()
    numbers = compute()
    cache.set(key, (computed_at, numbers), seconds)
    return numbers, computed_at


class DashboardFreshnessMiddleware:
    """Notes in a logged-in person's session when they last changed something, so that the
    dashboard never shows them numbers from before their own change."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.method in WRITES
            and response.status_code < 400
            and request.path != reverse("login")  # logging in changes no number
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
            and hasattr(request, "session")
        ):
            request.session[CHANGED_AT] = time.time()
        return response


def view_key(*parts: Any) -> str:
    """A view's name for the cache, from what makes its numbers differ."""
    return "|".join(str(part) for part in parts)
