"""Dashboard routes for the outbox (`/outbox/`) and the template library (`/templates/`)."""

from django.urls import path

from messaging.template_views import (
    TemplateDeleteView,
    TemplateDetailView,
    TemplateFormView,
    TemplateListView,
    TemplateTestSendView,
)
from messaging.views import MessageDetailView, MessageRetryView, OutboxView

app_name = "messaging"
urlpatterns = [
    path("outbox/", OutboxView.as_view(), name="outbox"),
    path("outbox/<int:pk>/", MessageDetailView.as_view(), name="detail"),
    path("outbox/<int:pk>/retry/", MessageRetryView.as_view(), name="retry"),
    path("templates/", TemplateListView.as_view(), name="template-list"),
    path("templates/new/", TemplateFormView.as_view(), name="template-create"),
    path("templates/<int:pk>/", TemplateDetailView.as_view(), name="template-detail"),
    path("templates/<int:pk>/edit/", TemplateFormView.as_view(), name="template-edit"),
    path(
        "templates/<int:pk>/test-send/", TemplateTestSendView.as_view(), name="template-test-send"
    ),
    path("templates/<int:pk>/delete/", TemplateDeleteView.as_view(), name="template-delete"),
]
