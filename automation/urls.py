"""Dashboard routes for automation (under /automation/)."""

from django.urls import path

from automation.views import (
    FailedStepsView,
    RuleCreateView,
    RuleDeleteView,
    RuleDetailView,
    RuleListView,
    RulePauseView,
    RuleResumeView,
    RuleUpdateView,
    StepRetryView,
)

app_name = "automation"
urlpatterns = [
    path("", RuleListView.as_view(), name="rules"),
    path("rules/new/", RuleCreateView.as_view(), name="rule_create"),
    path("rules/<int:pk>/", RuleDetailView.as_view(), name="rule_detail"),
    path("rules/<int:pk>/edit/", RuleUpdateView.as_view(), name="rule_update"),
    path("rules/<int:pk>/pause/", RulePauseView.as_view(), name="rule_pause"),
    path("rules/<int:pk>/resume/", RuleResumeView.as_view(), name="rule_resume"),
    path("rules/<int:pk>/delete/", RuleDeleteView.as_view(), name="rule_delete"),
    path("steps/failed/", FailedStepsView.as_view(), name="failed_steps"),
    path("steps/<int:pk>/retry/", StepRetryView.as_view(), name="step_retry"),
]
