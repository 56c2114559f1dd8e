"""API routes for leadforms (spliced into /api/v1/)."""

from django.urls import path

from leadforms.api.views import (
    LeadFormDetailApi,
    LeadFormListCreateApi,
    LeadFormStatsApi,
    LeadFormSubmissionsApi,
)

urlpatterns = [
    path("forms/", LeadFormListCreateApi.as_view(), name="leadform-list"),
    path("forms/<slug:slug>/", LeadFormDetailApi.as_view(), name="leadform-detail"),
    path(
        "forms/<slug:slug>/submissions/",
        LeadFormSubmissionsApi.as_view(),
        name="leadform-submissions",
    ),
    path("forms/<slug:slug>/stats/", LeadFormStatsApi.as_view(), name="leadform-stats"),
]
