"""Filters for the template library: channel, kind and a free-text search."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from messaging.models import Channel, MessageKind, MessageTemplate


class TemplateFilter(django_filters.FilterSet):
    """channel, kind, and `q` (name, subject or text) — for the API and the dashboard."""

    channel = django_filters.ChoiceFilter(choices=Channel.choices, empty_label="Any")
    kind = django_filters.ChoiceFilter(choices=MessageKind.choices, empty_label="Any")
    q = django_filters.CharFilter(method="filter_q", label="Search")

    class Meta:
        model = MessageTemplate
        fields = ["channel", "kind", "q"]

    def filter_q(
        self, queryset: QuerySet[MessageTemplate], name: str, value: str
    ) -> QuerySet[MessageTemplate]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(subject__icontains=value) | Q(body_text__icontains=value)
        )
