"""Top-level routes: the dashboard, the admin site, the API and its documentation."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.views import ApiTokensView
from customers.public_views import ReferralLandingView
from dashboard.views.home import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/tokens/", ApiTokensView.as_view(), name="api-tokens"),
    path("dashboard/", include("dashboard.urls")),
    path("customers/", include("customers.urls")),
    path("", include("interactions.urls")),
    path("", include("surveys.urls")),
    path("automation/", include("automation.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("", include("messaging.urls")),
    path("segments/", include("segments.urls")),
    path("", include("consent.urls")),
    path("", include("leadforms.urls")),
    path("", include("campaigns.urls")),
    path("r/<str:code>/", ReferralLandingView.as_view(), name="referral-landing"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("flywheel_crm.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[]), name="api-schema"),
    path(
        "api/docs/",
        # The split view serves Swagger UI's start-up script as a file (`?script`), not
        # inline: the Content-Security-Policy runs scripts from our origin only.
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", permission_classes=[]),
        name="api-docs",
    ),
]

# JSON under /api/, the HTML page elsewhere.
handler404 = "common.api.exceptions.not_found"
