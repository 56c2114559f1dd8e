"""Routes of sign-in and personal API tokens, spliced into flywheel_crm/api_urls.py."""

from django.urls import path

from accounts.api.views import (
    LogoutAllApi,
    LogoutApi,
    TokenListApi,
    TokenObtainApi,
    TokenRevokeApi,
)

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("auth/tokens/", TokenListApi.as_view(), name="auth-token-list"),
    path("auth/tokens/<uuid:public_id>/", TokenRevokeApi.as_view(), name="auth-token-detail"),
    path("auth/logout/", LogoutApi.as_view(), name="auth-logout"),
    path("auth/logout-all/", LogoutAllApi.as_view(), name="auth-logout-all"),
]
