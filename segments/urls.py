"""Dashboard routes for segments (under /segments/)."""

from django.urls import path

from segments.views import (
    SegmentCreateView,
    SegmentDeleteView,
    SegmentDetailView,
    SegmentExportView,
    SegmentFreezeView,
    SegmentListView,
    SegmentMembersView,
    SegmentUpdateView,
)

app_name = "segments"
urlpatterns = [
    path("", SegmentListView.as_view(), name="list"),
    path("new/", SegmentCreateView.as_view(), name="create"),
    path("<int:pk>/", SegmentDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", SegmentUpdateView.as_view(), name="update"),
    path("<int:pk>/delete/", SegmentDeleteView.as_view(), name="delete"),
    path("<int:pk>/members/", SegmentMembersView.as_view(), name="members"),
    path("<int:pk>/freeze/", SegmentFreezeView.as_view(), name="freeze"),
    path("<int:pk>/export.csv", SegmentExportView.as_view(), name="export"),
]
