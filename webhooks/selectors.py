"""Reads for webhooks: subscriptions and the delivery log."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from webhooks.models import Delivery, DeliveryState, Subscription


def subscription_list() -> QuerySet[Subscription]:
    """Subscriptions by name, each with its count of failed deliveries (`failed_count`)."""
    return Subscription.objects.select_related("created_by").annotate(
        failed_count=Count("deliveries", filter=Q(deliveries__state=DeliveryState.FAILED))
    )


def delivery_queryset() -> QuerySet[Delivery]:
    return Delivery.objects.select_related("subscription")


def delivery_list(
    *,
    subscription: Subscription | None = None,
    state: str = "",
    event: str = "",
    calls_only: bool = False,
) -> QuerySet[Delivery]:
    """Deliveries newest first; by subscription (or only the automation's calls), state, event."""
    deliveries = delivery_queryset().order_by("-created_at", "-id")
    if subscription is not None:
        deliveries = deliveries.filter(subscription=subscription)
    elif calls_only:
        deliveries = deliveries.filter(subscription__isnull=True)
    if state:
        deliveries = deliveries.filter(state=state)
    if event:
        deliveries = deliveries.filter(event=event)
    return deliveries
