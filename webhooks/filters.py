"""Filters for the webhook lists of the API: subscriptions and the delivery log."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from common.filters import CreatedRangeFilterSet
from webhooks.models import (
    CALL_EVENT,
    TEST_EVENT,
    Delivery,
    DeliveryState,
    Subscription,
    WebhookEvent,
)

DELIVERY_EVENTS = [
    *WebhookEvent.choices,
    (TEST_EVENT, "Test event"),
    (CALL_EVENT, "Automation call"),
]


class DeliveryFilter(django_filters.FilterSet):
    """subscription (id), state, event."""

    subscription = django_filters.ModelChoiceFilter(
        queryset=Subscription.objects.all(), label="Subscription id"
    )
    state = django_filters.ChoiceFilter(choices=DeliveryState.choices)
    event = django_filters.ChoiceFilter(choices=DELIVERY_EVENTS)

    class Meta:
        model = Delivery
        fields = ["subscription", "state", "event"]


class SubscriptionFilter(CreatedRangeFilterSet):
    """is_active, event (subscriptions listening to it), created_after, created_before."""

    event = django_filters.ChoiceFilter(choices=WebhookEvent.choices, method="_event")

    class Meta:
        model = Subscription
        fields = ["is_active"]

    def _event(self, queryset: QuerySet[Subscription], name: str, value: str) -> QuerySet:
        return queryset.filter(events__contains=[value])
