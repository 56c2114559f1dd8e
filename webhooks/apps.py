from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outgoing webhooks: subscriptions per event, signed deliveries, retries and their log."""

    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from common.events import subscribe
        from webhooks.models import WebhookEvent
        from webhooks.services import event_received

        # Each committed event becomes one delivery per subscription listening to it.
        for event in WebhookEvent.values:
            subscribe(event)(event_received)
