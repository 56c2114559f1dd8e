from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """The flywheel numbers: daily rollups kept by the database, selectors and the API."""

    name = "analytics"
    verbose_name = "Analytics"
