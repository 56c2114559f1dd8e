from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Marketing campaigns: segments, templates, sends and their tracking.

    The models arrive with the campaigns work; the app is installed now so that its
    migrations start from the first schema.
    """

    name = "campaigns"
    verbose_name = "Campaigns"
