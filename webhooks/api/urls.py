"""API routes for webhooks (spliced into flywheel_crm.api_urls, under /api/v1/)."""

from django.urls import path

from webhooks.api.views import (
    DeliveryDetailApi,
    DeliveryListApi,
    DeliveryRetryApi,
    SubscriptionDetailApi,
    SubscriptionListCreateApi,
)

urlpatterns = [
    path(
        "webhooks/subscriptions/",
        SubscriptionListCreateApi.as_view(),
        name="webhook-subscription-list",
    ),
    path(
        "webhooks/subscriptions/<int:pk>/",
        SubscriptionDetailApi.as_view(),
        name="webhook-subscription-detail",
    ),
    path("webhooks/deliveries/", DeliveryListApi.as_view(), name="webhook-delivery-list"),
    path(
        "webhooks/deliveries/<int:pk>/",
        DeliveryDetailApi.as_view(),
        name="webhook-delivery-detail",
    ),
    path(
        "webhooks/deliveries/<int:pk>/retry/",
        DeliveryRetryApi.as_view(),
        name="webhook-delivery-retry",
    ),
]
