"""REST API v1 routes."""

from django.urls import path

from accounts.api import urls as accounts_api_urls
from analytics.api import urls as analytics_api_urls
from automation.api import urls as automation_api_urls
from campaigns.api import urls as campaign_api_urls
from consent.api import urls as consent_api_urls
from customers.api.views import CustomerDetailApi, CustomerListCreateApi, CustomerTimelineApi
from interactions.api import urls as interaction_urls
from leadforms.api import urls as leadform_api_urls
from messaging.api import urls as messaging_api_urls
from segments.api import urls as segment_api_urls
from stages.api.views import (
    CustomerTransitionListCreateApi,
    StageDetailApi,
    StageListCreateApi,
    StageReorderApi,
)
from surveys.api import urls as survey_api_urls
from webhooks.api import urls as webhook_api_urls

app_name = "api"
urlpatterns = [
    *accounts_api_urls.urlpatterns,
    path("customers/", CustomerListCreateApi.as_view(), name="customer-list"),
    path("customers/<int:pk>/", CustomerDetailApi.as_view(), name="customer-detail"),
    path(
        "customers/<int:pk>/transitions/",
        CustomerTransitionListCreateApi.as_view(),
        name="customer-transitions",
    ),
    path("customers/<int:pk>/timeline/", CustomerTimelineApi.as_view(), name="customer-timeline"),
    path("stages/", StageListCreateApi.as_view(), name="stage-list"),
    path("stages/reorder/", StageReorderApi.as_view(), name="stage-reorder"),
    path("stages/<slug:slug>/", StageDetailApi.as_view(), name="stage-detail"),
    # Spliced rather than include()d: every route stays a plain pattern of this module.
    *interaction_urls.urlpatterns,
    *survey_api_urls.urlpatterns,
    *automation_api_urls.urlpatterns,
    *webhook_api_urls.urlpatterns,
    *segment_api_urls.urlpatterns,
    *consent_api_urls.urlpatterns,
    *leadform_api_urls.urlpatterns,
    *campaign_api_urls.urlpatterns,
    *messaging_api_urls.urlpatterns,
    *analytics_api_urls.urlpatterns,
]
