from django.apps import AppConfig


class StagesConfig(AppConfig):
    """Lifecycle stages, their phases, and the append-only history of every move."""

    name = "stages"
    verbose_name = "Stages"
