"""Dashboard routes: each team's page and the customers behind a number, under /dashboard/.
The wheel itself is the home page, routed in flywheel_crm.urls as "home"."""

from django.urls import URLPattern, path
from django.views.generic import RedirectView

app_name = "dashboard"
urlpatterns: list[URLPattern] = [
    # TEMPORARY (branch h-wheel only): the drill-down page is built on another branch; this
    # placeholder only lets `drill_url` reverse "dashboard:customers". Drop it at the merge.
    path(
        "customers/",
        RedirectView.as_view(pattern_name="customers:list", permanent=False),
        name="customers",
    ),
]
