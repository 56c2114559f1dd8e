"""API routes for surveys, spliced into flywheel_crm.api_urls (under /api/v1/)."""

from django.urls import path

from surveys.api.views import (
    InvitationListApi,
    ResponseListApi,
    SurveyBatchCreateApi,
    SurveyBatchDetailApi,
    SurveyInvitationCreateApi,
    SurveyListApi,
)

urlpatterns = [
    path("surveys/", SurveyListApi.as_view(), name="survey-list"),
    path(
        "surveys/<int:pk>/invitations/",
        SurveyInvitationCreateApi.as_view(),
        name="survey-invitations",
    ),
    path("surveys/<int:pk>/batches/", SurveyBatchCreateApi.as_view(), name="survey-batches"),
    path("surveys/batches/<int:pk>/", SurveyBatchDetailApi.as_view(), name="survey-batch-detail"),
    path("surveys/invitations/", InvitationListApi.as_view(), name="survey-invitation-list"),
    path("surveys/responses/", ResponseListApi.as_view(), name="survey-response-list"),
]
