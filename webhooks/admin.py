"""Admin for webhooks: subscriptions (created through the dashboard or the API, where the
target guard runs) and the read-only delivery log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from webhooks.models import Delivery, DeliveryAttempt, Subscription
from webhooks.services import subscription_update


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Name and activity are editable here; URL and events through the guarded services."""

    list_display = ["name", "url", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "url"]
    fields = ["name", "is_active", "url", "events", "secret", "created_by", "created_at"]
    readonly_fields = ["url", "events", "secret", "created_by", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created in the dashboard or the API, where the URL is checked

    def save_model(self, request: HttpRequest, obj: Subscription, form: Any, change: bool) -> None:
        subscription_update(
            subscription=obj, name=form.cleaned_data["name"], is_active=obj.is_active
        )


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["attempted_at", "url", "status_code", "succeeded", "duration_ms", "error"]
    readonly_fields = ["attempted_at", "url", "status_code", "succeeded", "duration_ms", "error"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log, read-only (retry from the dashboard or the API)."""

    list_display = ["created_at", "event", "subscription", "state", "attempts", "last_status_code"]
    list_filter = ["state", "event"]
    search_fields = ["idempotency_key", "uuid"]
    list_select_related = ["subscription"]
    inlines = [DeliveryAttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
