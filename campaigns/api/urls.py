"""API routes for campaigns (spliced into flywheel_crm.api_urls, under /api/v1/)."""

from django.urls import path

from campaigns.api.views import (
    CampaignCancelApi,
    CampaignDetailApi,
    CampaignListCreateApi,
    CampaignPauseApi,
    CampaignPreviewApi,
    CampaignResumeApi,
    CampaignScheduleApi,
    CampaignSendNowApi,
    CampaignStatsApi,
)

urlpatterns = [
    path("campaigns/", CampaignListCreateApi.as_view(), name="campaign-list"),
    path("campaigns/<int:pk>/", CampaignDetailApi.as_view(), name="campaign-detail"),
    path("campaigns/<int:pk>/schedule/", CampaignScheduleApi.as_view(), name="campaign-schedule"),
    path("campaigns/<int:pk>/send-now/", CampaignSendNowApi.as_view(), name="campaign-send-now"),
    path("campaigns/<int:pk>/pause/", CampaignPauseApi.as_view(), name="campaign-pause"),
    path("campaigns/<int:pk>/resume/", CampaignResumeApi.as_view(), name="campaign-resume"),
    path("campaigns/<int:pk>/cancel/", CampaignCancelApi.as_view(), name="campaign-cancel"),
    path("campaigns/<int:pk>/stats/", CampaignStatsApi.as_view(), name="campaign-stats"),
    path("campaigns/<int:pk>/preview/", CampaignPreviewApi.as_view(), name="campaign-preview"),
]
