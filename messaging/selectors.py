"""Reads for the outbox."""

from __future__ import annotations

from django.db.models import QuerySet

from messaging.models import MessageTemplate, OutboundMessage


def message_list(
    *, state: str | None = None, channel: str | None = None
) -> QuerySet[OutboundMessage]:
    """Messages newest first, optionally by state and channel."""
    messages = OutboundMessage.objects.select_related("customer").order_by("-created_at", "-id")
    if state:
        messages = messages.filter(state=state)
    if channel:
        messages = messages.filter(channel=channel)
    return messages


def template_list() -> QuerySet[MessageTemplate]:
    """Every message template, by name (messaging.filters.TemplateFilter narrows it)."""
    return MessageTemplate.objects.order_by("name", "id")
