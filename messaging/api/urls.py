"""API routes for the message template library (spliced into /api/v1/)."""

from django.urls import path

from messaging.api.views import (
    TemplateDetailApi,
    TemplateListCreateApi,
    TemplatePreviewApi,
    TemplateTestSendApi,
)

urlpatterns = [
    path("templates/", TemplateListCreateApi.as_view(), name="template-list"),
    path("templates/<int:pk>/", TemplateDetailApi.as_view(), name="template-detail"),
    path("templates/<int:pk>/preview/", TemplatePreviewApi.as_view(), name="template-preview"),
    path(
        "templates/<int:pk>/test-send/",
        TemplateTestSendApi.as_view(),
        name="template-test-send",
    ),
]
