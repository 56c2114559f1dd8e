"""What every dashboard page shares: the filters read from the URL, and the tabs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from dashboard.filters import DashboardFilters, preset_links, read_filters

# The dashboard's pages, as tabs: (url name, label, permission needed to see the tab).
TABS = (
    ("home", "Wheel", "analytics.view_flywheel"),
    ("dashboard:marketing", "Marketing", "campaigns.view_campaign"),
    ("dashboard:sales", "Sales", "interactions.view_task"),
    ("dashboard:support", "Support", "surveys.view_survey"),
)


class FilteredPageMixin:
    """Reads the filter bar from the query string into `self.filters` before the view runs,
    and puts the form, the filters, the quick periods and the tabs into the context."""

    request: HttpRequest
    filters: DashboardFilters

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)  # type: ignore[misc]
        self.filter_form, self.filters = read_filters(request.GET)

    def filter_context(self) -> dict[str, Any]:
        return {
            "filter_form": self.filter_form,
            "filters": self.filters,
            "filter_query": self.filters.query(),
            "presets": preset_links(self.filters),
            "dashboard_tabs": [
                {"url_name": name, "label": label}
                for name, label, permission in TABS
                if self.request.user.has_perm(permission)
            ],
        }
