"""The drill-down page: the customers behind any number of the dashboard.

Every number links here with `dashboard.links.drill_url` (`?<filters>&of=<kind>&<params>`).
The view reads the filters (FilteredPageMixin), asks `dashboard.drilldown` for the kind's
customers, and renders them 50 a page, or streams them as CSV (`&export=csv`). A bad `of` or
parameter is the page with an error naming it, status 400: a link that went stale (a stage
renamed, a hand-edited URL) must say what is wrong rather than fail.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from customers.exports import customers_csv_response
from dashboard.drilldown import (
    KINDS,
    Drilldown,
    DrillError,
    Totals,
    drilldown_for,
    without_jit,
)
from dashboard.mixins import FilteredPageMixin

PAGE_SIZE = 50
# Query parameters that belong to the page itself, not to what it lists.
PAGE_PARAMS = ("page", "export")


class CountedPaginator(Paginator):
    """A paginator told the count: the drill-down counts its customers (and their events)
    in one statement, and the list must not count them again."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def count_words(drill: Drilldown, totals: Totals) -> str:
    """ "49 customers"; where the number counts records, "57 moves by 49 customers" (and
    their weight where the number adds weights up)."""
    customers = f"{totals.customers:,} customer{'' if totals.customers == 1 else 's'}"
    if drill.noun is None or totals.events is None:
        return customers
    noun = drill.noun[0] if totals.events == 1 else drill.noun[1]
    weight = f" (weight {totals.weight:,})" if drill.weighted else ""
    return f"{totals.events:,} {noun}{weight} by {customers}"


class DrillDownView(LoginRequiredMixin, PermissionRequiredMixin, FilteredPageMixin, View):
    """The customers behind a number: a sentence saying who they are, how many, and the list
    (each row with where they stand and the detail the number is about)."""

    permission_required = ("analytics.view_flywheel", "customers.view_customer")

    def get(self, request: HttpRequest) -> HttpResponseBase:
        kind = KINDS.get(request.GET.get("of", ""))
        kept = self._kept_params(request, kind.params if kind else ())
        context: dict[str, Any] = {
            **self.filter_context(),
            "kind": kind,
            "kinds": KINDS,
            # The filter bar carries the drill-down on: hidden inputs, and its links' queries.
            "filter_keep": kept,
            "filter_keep_query": urlencode(kept),
        }
        try:
            drill = drilldown_for(request.GET, **self.filters.selector_kwargs())
        except DrillError as error:
            context["drill_errors"] = error.errors
            return render(request, "dashboard/drill.html", context, status=400)
        if request.GET.get("export") == "csv":
            if not request.user.has_perm("customers.export_customer"):
                raise PermissionDenied
            filename = f"customers-{request.GET.get('of')}-{timezone.localdate():%Y-%m-%d}.csv"
            return customers_csv_response(drill.customers, filename=filename)
        with without_jit():
            totals = drill.totals()
            page = CountedPaginator(
                drill.listed(totals), PAGE_SIZE, count=totals.customers
            ).get_page(request.GET.get("page"))
            details = drill.details([customer.pk for customer in page])
            rows = [(customer, details.get(customer.pk, "")) for customer in page]
        query = request.GET.copy()
        for name in PAGE_PARAMS:
            query.pop(name, None)
        context.update(
            {
                "drill": drill,
                "totals": totals,
                "count_words": count_words(drill, totals),
                "page": page,
                "rows": rows,
                "query": query.urlencode(),
            }
        )
        # A bad filter falls back to its default, with its error on the bar (status 200),
        # as on every dashboard page; only what the list is about can make it a 400.
        return render(request, "dashboard/drill.html", context)

    def _kept_params(self, request: HttpRequest, names: tuple[str, ...]) -> list[tuple[str, str]]:
        """`of` and the kind's parameters, as the filter bar must carry them on (hidden)."""
        return [
            (name, request.GET[name]) for name in ("of", *names) if request.GET.get(name, "") != ""
        ]
