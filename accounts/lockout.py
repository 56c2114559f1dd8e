"""Lockouts after repeated failed sign-ins (django-axes), and the answer a locked-out visitor gets.

Each failed sign-in (dashboard, admin, API token endpoint) is recorded by axes per username,
address and user agent. Three counts are kept over the cool-off window, each with its own limit
(settings, docs/api.md): one account from one address, one address whatever the accounts, and
one account from anywhere. Reaching any limit refuses every sign-in it covers, the right
password included, until the cool-off has passed without a new failure or an admin unlocks it
(the admin's "Failed sign-ins" list, or `manage.py axes_reset_username` / `axes_reset_ip`).
"""

from __future__ import annotations

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_lockout_parameters
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

ACCOUNT_AND_ADDRESS = ("username", "ip_address")
ADDRESS = ("ip_address",)
ACCOUNT = ("username",)


def failure_limits() -> dict[tuple[str, ...], int]:
    """Each count axes keeps, by the attempt fields it groups on, with its limit (0: off)."""
    limits = {
        ACCOUNT_AND_ADDRESS: settings.FLYWHEEL_LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS,
        ADDRESS: settings.FLYWHEEL_LOGIN_FAILURES_PER_ADDRESS,
        ACCOUNT: settings.FLYWHEEL_LOGIN_FAILURES_PER_ACCOUNT,
    }
    return {group: limit for group, limit in limits.items() if limit > 0}


def lockout_parameters(request: Any, credentials: dict[str, Any] | None = None) -> list[Any]:
    """AXES_LOCKOUT_PARAMETERS: the counts that are switched on."""
    return [list(group) if len(group) > 1 else group[0] for group in failure_limits()]


class LockoutHandler(AxesDatabaseHandler):
    """axes' database handler with a limit per count, and a success that forgives only itself.

    axes compares one number of failures with one limit (AXES_FAILURE_LIMIT, set to the
    account-and-address limit). Here each count is scaled to that limit first, so that it
    reaches AXES_FAILURE_LIMIT exactly when it reaches its own: the per-address count locks at
    its own, higher, number.
    """

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        scale = settings.AXES_FAILURE_LIMIT
        limits = failure_limits()
        groups = get_lockout_parameters(request, credentials)
        failures = 0
        for group, attempts in zip(
            groups, self.get_user_attempts(request, credentials), strict=True
        ):
            limit = limits[tuple(group) if isinstance(group, list) else (group,)]
            count = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            failures = max(failures, count * scale // limit)
        return failures

    def reset_user_attempts(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        """On a successful sign-in, forget that account's failures from that address only.

        axes would forget every count the request falls in, the address's included: a person
        with an account of their own could then try other accounts' passwords without end,
        signing in between rounds.
        """
        count, _ = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
        ).delete()
        return count


def cool_off_seconds(request: HttpRequest | None = None) -> int:
    """How long a lockout lasts after the last failed sign-in, in seconds."""
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else 0


def lockout_message(request: HttpRequest | None = None) -> str:
    minutes = max(1, round(cool_off_seconds(request) / 60))
    return (
        "Too many failed sign-ins for this account or from this address. Sign-ins are refused "
        f"for {minutes} minutes after the last failed one; an admin can unlock it sooner."
    )


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After; JSON for the API, the login page otherwise.

    Every failure during a lockout restarts the cool-off, so the wait is a whole cool-off from
    now (at most: older failures of an address's count may lapse sooner).
    """
    message = lockout_message(request)
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        username = get_client_username(request, credentials) or ""
        # An unbound form: binding it would try the password again, and fail again.
        form = AuthenticationForm(request, initial={"username": username})
        response = TemplateResponse(
            request,
            "registration/login.html",
            {"form": form, "locked_out": message, "next": request.POST.get("next", "")},
            status=429,
        ).render()
    response["Retry-After"] = str(cool_off_seconds(request))
    return response
