from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Marketing campaigns: variants, chunked sends, tracking, A/B results and attribution."""

    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from campaigns.services import attribution_on_stage_changed
        from common.events import subscribe
        from stages.services import EVENT_STAGE_CHANGED

        subscribe(EVENT_STAGE_CHANGED)(attribution_on_stage_changed)
