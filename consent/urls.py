"""Consent routes: the public unsubscribe link (`/u/<token>/`) and the dashboard pages."""

from django.urls import path

from consent.views import (
    CustomerConsentView,
    SuppressionDeleteView,
    SuppressionListView,
    UnsubscribeView,
)

app_name = "consent"
urlpatterns = [
    path("u/<str:token>/", UnsubscribeView.as_view(), name="unsubscribe"),
    path("customers/<int:pk>/consent/", CustomerConsentView.as_view(), name="customer"),
    path("consent/suppressions/", SuppressionListView.as_view(), name="suppressions"),
    path(
        "consent/suppressions/<int:pk>/delete/",
        SuppressionDeleteView.as_view(),
        name="suppression-delete",
    ),
]
