"""What every app's admin shares."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from common.models import Event


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record written by the services: seen in the admin, never added, changed or deleted.

    The rules of a write (validation, events, the customer's stage and consent) live in the
    app's services, which the dashboard and the API call; the admin would bypass them.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "created_at", "dispatched_at", "attempts")
    list_filter = ("name",)
    search_fields = ("name",)
