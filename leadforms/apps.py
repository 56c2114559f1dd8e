from django.apps import AppConfig


class LeadformsConfig(AppConfig):
    """Lead capture forms: built in the dashboard, filled in on public pages and embeds."""

    name = "leadforms"
    verbose_name = "Lead forms"
