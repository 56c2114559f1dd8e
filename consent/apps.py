from django.apps import AppConfig


class ConsentConfig(AppConfig):
    """Per-channel consent with its history, the suppression list and unsubscribing."""

    name = "consent"
    verbose_name = "Consent"
