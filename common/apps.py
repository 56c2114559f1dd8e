from django.apps import AppConfig


class CommonConfig(AppConfig):
    """Pieces every app shares: base models, domain errors, the event bus, API plumbing."""

    name = "common"
    verbose_name = "Common"
