from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outgoing webhooks: subscriptions per event, signed deliveries, retries and their log."""

    name = "webhooks"
    verbose_name = "Webhooks"
