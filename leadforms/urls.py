"""Dashboard routes for leadforms."""

from django.urls import path  # noqa: F401

app_name = "leadforms"
urlpatterns: list = []
