"""API routes for automation (spliced into flywheel_crm.api_urls, under /api/v1/)."""

from django.urls import path

from automation.api.views import (
    RuleDetailApi,
    RuleListCreateApi,
    RulePauseApi,
    RuleResumeApi,
    StepDetailApi,
    StepListApi,
    StepRetryApi,
)

urlpatterns = [
    path("automation/rules/", RuleListCreateApi.as_view(), name="automation-rule-list"),
    path("automation/rules/<int:pk>/", RuleDetailApi.as_view(), name="automation-rule-detail"),
    path("automation/rules/<int:pk>/pause/", RulePauseApi.as_view(), name="automation-rule-pause"),
    path(
        "automation/rules/<int:pk>/resume/",
        RuleResumeApi.as_view(),
        name="automation-rule-resume",
    ),
    path("automation/steps/", StepListApi.as_view(), name="automation-step-list"),
    path("automation/steps/<int:pk>/", StepDetailApi.as_view(), name="automation-step-detail"),
    path("automation/steps/<int:pk>/retry/", StepRetryApi.as_view(), name="automation-step-retry"),
]
