"""Dashboard routes for the outbox."""

from django.urls import path

from messaging.views import MessageDetailView, MessageRetryView, OutboxView

app_name = "messaging"
urlpatterns = [
    path("", OutboxView.as_view(), name="outbox"),
    path("<int:pk>/", MessageDetailView.as_view(), name="detail"),
    path("<int:pk>/retry/", MessageRetryView.as_view(), name="retry"),
]
