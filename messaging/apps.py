from django.apps import AppConfig


class MessagingConfig(AppConfig):
    """Outgoing email and SMS: one outbox, consent checked at send time, retried on failure."""

    name = "messaging"
    verbose_name = "Messages"
