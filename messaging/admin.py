"""Admin for messaging: read-only. The outbox is written and sent by `messaging.services`;
templates are edited in the dashboard and the API, which check their placeholders."""

from __future__ import annotations

from django.contrib import admin

from common.admin import ReadOnlyAdmin
from messaging.models import MessageTemplate, OutboundMessage


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdmin):
    list_display = ("id", "channel", "kind", "to", "subject", "state", "attempts", "sent_at")
    list_filter = ("channel", "kind", "state")
    list_select_related = ("customer",)
    search_fields = ("to", "idempotency_key", "message_id")
    raw_id_fields = ("customer",)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ReadOnlyAdmin):
    list_display = ("name", "channel", "kind", "subject", "updated_at")
    list_filter = ("channel", "kind")
    search_fields = ("name", "subject")
