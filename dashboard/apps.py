from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The pages that show the flywheel: the wheel at home, each team's page, and the
    customers behind every number. The numbers themselves come from `analytics.selectors`."""

    name = "dashboard"
    verbose_name = "Dashboard"
