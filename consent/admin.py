"""Admin for consent: read-only. Consent and suppressions change only through
`consent.services`, the one path that keeps the history and the customer's flags together."""

from __future__ import annotations

from django.contrib import admin

from common.admin import ReadOnlyAdmin
from consent.models import ConsentEvent, Suppression


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "channel", "granted", "method", "source", "occurred_at")
    list_filter = ("channel", "granted", "method")
    list_select_related = ("customer",)
    search_fields = ("customer__email", "source")
    raw_id_fields = ("customer", "recorded_by")


@admin.register(Suppression)
class SuppressionAdmin(ReadOnlyAdmin):
    list_display = ("id", "channel", "address", "reason", "created_at")
    list_filter = ("channel", "reason")
    search_fields = ("address", "note")
    raw_id_fields = ("created_by",)
