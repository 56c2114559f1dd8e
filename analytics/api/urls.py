"""API routes for the flywheel numbers (spliced into flywheel_crm.api_urls, under /api/v1/)."""

from django.urls import path

from analytics.api import views

urlpatterns = [
    path("analytics/stage-counts/", views.StageCountsApi.as_view(), name="analytics-stage-counts"),
    path("analytics/phase-counts/", views.PhaseCountsApi.as_view(), name="analytics-phase-counts"),
    path(
        "analytics/transitions/",
        views.TransitionMatrixApi.as_view(),
        name="analytics-transitions",
    ),
    path(
        "analytics/phase-conversion/",
        views.PhaseConversionApi.as_view(),
        name="analytics-phase-conversion",
    ),
    path("analytics/velocity/", views.VelocityApi.as_view(), name="analytics-velocity"),
    path(
        "analytics/force-friction/",
        views.ForceFrictionApi.as_view(),
        name="analytics-force-friction",
    ),
    path("analytics/momentum/", views.MomentumApi.as_view(), name="analytics-momentum"),
    path("analytics/surveys/", views.SurveyTrendsApi.as_view(), name="analytics-surveys"),
    path(
        "analytics/loop-completion/",
        views.LoopCompletionApi.as_view(),
        name="analytics-loop-completion",
    ),
    path(
        "analytics/lifetime-value/",
        views.LifetimeValueApi.as_view(),
        name="analytics-lifetime-value",
    ),
    path("analytics/costs/", views.CostsApi.as_view(), name="analytics-costs"),
    path(
        "analytics/campaigns/", views.CampaignPerformanceApi.as_view(), name="analytics-campaigns"
    ),
]
