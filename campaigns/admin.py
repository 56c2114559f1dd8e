"""Admin for campaigns: shown read-only. A campaign is drafted, launched and paused through
`campaigns.services` (the dashboard and the API), which the admin would bypass."""

from __future__ import annotations

from django.contrib import admin

from campaigns.models import Campaign, ProviderEvent, Recipient, TrackingEvent, Variant
from common.admin import ReadOnlyAdmin


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "channel", "state", "segment", "scheduled_at", "total")
    list_filter = ("state", "channel")
    list_select_related = ("segment",)
    search_fields = ("name", "utm_campaign")
    raw_id_fields = ("segment", "created_by", "audience_snapshot")
    exclude = ("customer_ids",)  # may hold a whole list's ids: the recipients show them


@admin.register(Variant)
class VariantAdmin(ReadOnlyAdmin):
    list_display = ("id", "campaign", "name", "split", "subject")
    list_select_related = ("campaign",)
    search_fields = ("campaign__name", "name", "subject")
    raw_id_fields = ("campaign",)


@admin.register(Recipient)
class RecipientAdmin(ReadOnlyAdmin):
    list_display = ("id", "campaign", "customer", "variant", "state", "created_at")
    list_filter = ("state",)
    list_select_related = ("campaign", "customer", "variant")
    search_fields = ("customer__email", "message_ref")
    raw_id_fields = ("campaign", "customer", "variant", "message")


@admin.register(TrackingEvent)
class TrackingEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "recipient", "kind", "url", "occurred_at")
    list_filter = ("kind",)
    search_fields = ("url",)
    raw_id_fields = ("recipient",)


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "event", "message_ref", "recipient", "received_at")
    list_filter = ("event",)
    search_fields = ("message_ref",)
    raw_id_fields = ("recipient",)
