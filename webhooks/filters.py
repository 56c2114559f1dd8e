"""Filters for the delivery log of the API."""

from __future__ import annotations

import django_filters

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
