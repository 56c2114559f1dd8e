"""Survey routes: the public answer page (`/s/<token>/`) and the dashboard (`/surveys/...`)."""

from django.urls import path

from surveys.views import (
    BatchDetailView,
    SurveyAnswerView,
    SurveyBulkView,
    SurveyDetailView,
    SurveyListView,
    SurveySendView,
    SurveyThanksView,
)

app_name = "surveys"
urlpatterns = [
    path("s/<str:token>/", SurveyAnswerView.as_view(), name="answer"),
    path("s/<str:token>/thanks/", SurveyThanksView.as_view(), name="thanks"),
    path("surveys/", SurveyListView.as_view(), name="list"),
    path("surveys/<int:pk>/", SurveyDetailView.as_view(), name="detail"),
    path("surveys/send/", SurveySendView.as_view(), name="send"),
    path("surveys/bulk/", SurveyBulkView.as_view(), name="bulk"),
    path("surveys/batches/<int:pk>/", BatchDetailView.as_view(), name="batch"),
]
