"""API routes for consent (spliced into /api/v1/)."""

from django.urls import path

from consent.api.views import CustomerConsentApi, SuppressionDetailApi, SuppressionListCreateApi

urlpatterns = [
    path("customers/<int:pk>/consent/", CustomerConsentApi.as_view(), name="customer-consent"),
    path("suppressions/", SuppressionListCreateApi.as_view(), name="suppression-list"),
    path("suppressions/<int:pk>/", SuppressionDetailApi.as_view(), name="suppression-detail"),
]
