"""Lead form routes: the public form (`/f/<slug>/`), the double opt-in link and the dashboard."""

from django.urls import path

from leadforms.views import (
    ConfirmView,
    LeadFormDetailView,
    LeadFormEditView,
    LeadFormListView,
    PublicFormView,
)

app_name = "leadforms"
urlpatterns = [
    path("f/confirm/<str:token>/", ConfirmView.as_view(), name="confirm"),
    path("f/<slug:slug>/", PublicFormView.as_view(), name="public"),
    path("forms/", LeadFormListView.as_view(), name="list"),
    path("forms/new/", LeadFormEditView.as_view(), name="create"),
    path("forms/<int:pk>/", LeadFormDetailView.as_view(), name="detail"),
    path("forms/<int:pk>/edit/", LeadFormEditView.as_view(), name="update"),
]
