"""API permission: the matrix in accounts.roles, checked per HTTP method or per action."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

SAFE = ("GET", "HEAD", "OPTIONS")

# Making the server send customer data, signed with a secret, to a URL of one's choosing is
# one power, whichever door it comes through: a webhook subscription, or an automation rule's
# "call a webhook" action. Both ask for this permission (Admin's, in accounts.roles).
WEBHOOK_TARGETS_PERMISSION = "webhooks.add_subscription"


def can_choose_webhook_targets(user: Any) -> bool:
    """Whether `user` may point the server's webhook requests at a URL of their choosing."""
    return bool(user and user.is_authenticated and user.has_perm(WEBHOOK_TARGETS_PERMISSION))


class RolePermission(BasePermission):
    """Grants a request when the user holds the permission the view names for it.

    Views set `required_permissions`: a dict from HTTP method (or "SAFE" for read methods)
    to a permission name, or to a list of names that must all be held. HEAD and OPTIONS
    need what GET needs unless the view names them. A view that names nothing for a method
    it implements refuses it; a method it does not implement is left to its 405.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if not hasattr(view, (request.method or "").lower()):
            return True  # the view will answer 405 Method Not Allowed, which is the truth
        mapping: dict[str, str | list[str]] = getattr(view, "required_permissions", {})
        needed = mapping.get(request.method or "")
        if needed is None and request.method in SAFE:
            needed = mapping.get("SAFE", mapping.get("GET"))
        if needed is None:
            return False
        perms = [needed] if isinstance(needed, str) else list(needed)
        return user.has_perms(perms)
