"""API routes for segments (spliced into flywheel_crm.api_urls, under /api/v1/)."""

from django.urls import path

from segments.api.views import (
    SegmentCountApi,
    SegmentCustomersApi,
    SegmentDetailApi,
    SegmentExportApi,
    SegmentFreezeApi,
    SegmentListCreateApi,
    SegmentMembersAddApi,
    SegmentMembersRemoveApi,
    SegmentPreviewApi,
)

urlpatterns = [
    path("segments/", SegmentListCreateApi.as_view(), name="segment-list"),
    path("segments/preview/", SegmentPreviewApi.as_view(), name="segment-preview"),
    path("segments/<int:pk>/", SegmentDetailApi.as_view(), name="segment-detail"),
    path("segments/<int:pk>/customers/", SegmentCustomersApi.as_view(), name="segment-customers"),
    path("segments/<int:pk>/count/", SegmentCountApi.as_view(), name="segment-count"),
    path("segments/<int:pk>/export/", SegmentExportApi.as_view(), name="segment-export"),
    path("segments/<int:pk>/members/", SegmentMembersAddApi.as_view(), name="segment-members-add"),
    path(
        "segments/<int:pk>/members/remove/",
        SegmentMembersRemoveApi.as_view(),
        name="segment-members-remove",
    ),
    path("segments/<int:pk>/freeze/", SegmentFreezeApi.as_view(), name="segment-freeze"),
]
