"""Dashboard routes: each team's page and the customers behind a number, under /dashboard/.
The wheel itself is the home page, routed in flywheel_crm.urls as "home"."""

from django.urls import URLPattern, path

from dashboard.views.drill import DrillDownView
from dashboard.views.teams import MarketingView, SalesView, SupportView

app_name = "dashboard"
urlpatterns: list[URLPattern] = [
    path("marketing/", MarketingView.as_view(), name="marketing"),
    path("sales/", SalesView.as_view(), name="sales"),
    path("support/", SupportView.as_view(), name="support"),
    path("customers/", DrillDownView.as_view(), name="customers"),
]
