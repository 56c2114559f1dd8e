from django.apps import AppConfig


class AutomationConfig(AppConfig):
    """Automation rules and their durable, idempotent steps run by Celery."""

    name = "automation"
    verbose_name = "Automation"
