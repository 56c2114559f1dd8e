from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    """The daily work: interactions, follow-up tasks and purchases, each feeding the wheel."""

    name = "interactions"
    verbose_name = "Interactions, tasks and purchases"
