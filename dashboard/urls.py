"""Dashboard routes: each team's page and the customers behind a number, under /dashboard/.
The wheel itself is the home page, routed in flywheel_crm.urls as "home"."""

from django.urls import URLPattern, path

from dashboard.views.drill import DrillDownView

app_name = "dashboard"
urlpatterns: list[URLPattern] = [
    path("customers/", DrillDownView.as_view(), name="customers"),
]
