"""Links from a number to the customers behind it (the drill-down page, dashboard:customers).

`drill_url(filters, "moved", from_stage="trial", to_stage="purchase")` is the page listing
the customers behind that number, for the same period, segment and owner. The kinds (`of`)
and their parameters are listed in `dashboard.drilldown.KINDS`; docs/dashboard.md explains
each one against the number it explains.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from dashboard.filters import DashboardFilters


def drill_url(filters: DashboardFilters, of: str, **params: Any) -> str:
    """The drill-down page's URL for one number: the filters, `of` and its parameters
    (None and "" are left out)."""
    return f"{reverse('dashboard:customers')}?{filters.query(of=of, **params)}"


def campaign_links(filters: DashboardFilters, campaign_id: int) -> dict[str, str]:
    """A campaign's numbers to their recipients: `sent`, `open`, `click`, `conversion`."""
    return {
        event: drill_url(filters, "campaign", campaign=campaign_id, event=event)
        for event in ("sent", "open", "click", "conversion")
    }
