"""Campaign routes: public tracking (`/t/...`) and the dashboard (`/campaigns/...`)."""

from django.urls import path

from campaigns.views import (
    CampaignActionView,
    CampaignDetailView,
    CampaignFormView,
    CampaignListView,
    CampaignPreviewView,
    CampaignProgressView,
    ClickView,
    OpenPixelView,
    ProviderWebhookView,
)

app_name = "campaigns"
urlpatterns = [
    path("t/o/<str:token>.gif", OpenPixelView.as_view(), name="track-open"),
    path("t/c/<str:token>/", ClickView.as_view(), name="track-click"),
    path("t/provider/", ProviderWebhookView.as_view(), name="provider-webhook"),
    path("campaigns/", CampaignListView.as_view(), name="list"),
    path("campaigns/new/", CampaignFormView.as_view(), name="create"),
    path("campaigns/<int:pk>/", CampaignDetailView.as_view(), name="detail"),
    path("campaigns/<int:pk>/edit/", CampaignFormView.as_view(), name="edit"),
    path("campaigns/<int:pk>/progress/", CampaignProgressView.as_view(), name="progress"),
    path("campaigns/<int:pk>/preview/", CampaignPreviewView.as_view(), name="preview"),
    path(
        "campaigns/<int:pk>/<slug:action>/",
        CampaignActionView.as_view(),
        name="action",
    ),
]
