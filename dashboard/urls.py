"""Dashboard routes: each team's page and the customers behind a number, under /dashboard/.
The wheel itself is the home page, routed in flywheel_crm.urls as "home"."""

from django.urls import URLPattern, path  # noqa: F401 - the pages add their routes

app_name = "dashboard"
urlpatterns: list[URLPattern] = []
