"""Dashboard routes for webhooks (under /webhooks/)."""

from django.urls import path

from webhooks.views import (
    DeliveryDetailView,
    DeliveryListView,
    DeliveryRetryView,
    SubscriptionCreateView,
    SubscriptionDeleteView,
    SubscriptionDetailView,
    SubscriptionEditView,
    SubscriptionListView,
    SubscriptionSecretRotateView,
    SubscriptionTestView,
)

app_name = "webhooks"
urlpatterns = [
    path("", SubscriptionListView.as_view(), name="list"),
    path("new/", SubscriptionCreateView.as_view(), name="create"),
    path("<int:pk>/", SubscriptionDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", SubscriptionEditView.as_view(), name="edit"),
    path("<int:pk>/delete/", SubscriptionDeleteView.as_view(), name="delete"),
    path("<int:pk>/secret/", SubscriptionSecretRotateView.as_view(), name="rotate_secret"),
    path("<int:pk>/test/", SubscriptionTestView.as_view(), name="test"),
    path("deliveries/", DeliveryListView.as_view(), name="deliveries"),
    path("deliveries/<int:pk>/", DeliveryDetailView.as_view(), name="delivery"),
    path("deliveries/<int:pk>/retry/", DeliveryRetryView.as_view(), name="delivery_retry"),
]
