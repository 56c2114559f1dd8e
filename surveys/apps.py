from django.apps import AppConfig


class SurveysConfig(AppConfig):
    """Satisfaction surveys (NPS, CSAT, CES): invitations, the public answer page, answers."""

    name = "surveys"
    verbose_name = "Surveys"
