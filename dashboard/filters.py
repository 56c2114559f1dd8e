"""The filters every dashboard page shares: a period, a granularity, a segment and an owner.

They live in the query string (`?start=2026-10-01&end=2026-10-31&granularity=week&segment=3
&owner=7`), so a view can be bookmarked or sent to a colleague, and every link a page draws
(a drill-down, another team's page) carries them on with `DashboardFilters.query()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib.auth import get_user_model
from django.http import QueryDict
from django.utils import timezone

from analytics.periods import (
    DEFAULT_DAYS,
    MAX_DAILY_BUCKETS,
    date_error,
    default_period,
    period_error,
)
from analytics.selectors import GRANULARITIES
from common.widgets import QuickSelect
from customers.forms import OwnerChoiceField
from segments.models import Segment

DATE_INPUT = {"type": "date"}
# Quick periods offered beside the date pickers: (days, label).
PRESETS = ((7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "12 months"))


def default_granularity(start: date, end: date) -> str:
    """Days for up to two months, weeks for up to a year, months beyond: 7 to 60 points."""
    days = (end - start).days + 1
    if days <= 62:
        return "day"
    if days <= 366:
        return "week"
    return "month"


@dataclass(frozen=True)
class DashboardFilters:
    """The validated filters of one request."""

    start: date
    end: date
    granularity: str
    segment: Segment | None = None
    owner: Any = None

    def selector_kwargs(self) -> dict[str, Any]:
        """start, end, segment and owner, as every `analytics.selectors` function takes them."""
        return {"start": self.start, "end": self.end, "segment": self.segment, "owner": self.owner}

    def query(self, **extra: Any) -> str:
        """The filters (and `extra` parameters) as a query string, without the '?'.

        A page writes one per number it links to its drill-down, so a plain dict and one
        `urlencode` (what QueryDict.urlencode does per key)."""
        params = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "granularity": self.granularity,
        }
        if self.segment is not None:
            params["segment"] = str(self.segment.pk)
        if self.owner is not None:
            params["owner"] = str(self.owner.pk)
        for key, value in extra.items():
            if value is not None and value != "":
                params[key] = str(value)
        return urlencode(params)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def is_filtered(self) -> bool:
        return self.segment is not None or self.owner is not None


class DashboardFilterForm(forms.Form):
    """What a person may type in the filter bar; every field may be left empty."""

    start = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs=DATE_INPUT),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )
    end = forms.DateField(
        required=False,
        label="To",
        widget=forms.DateInput(attrs=DATE_INPUT),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )
    granularity = forms.ChoiceField(
        required=False,
        label="By",
        choices=[("", "Automatic")] + [(g, g.capitalize()) for g in GRANULARITIES],
        widget=QuickSelect,
        error_messages={"invalid_choice": "Choose day, week or month."},
    )
    segment = forms.ModelChoiceField(
        queryset=Segment.objects.none(),
        required=False,
        empty_label="All customers",
        widget=QuickSelect,
        label="Segment",
        error_messages={"invalid_choice": "There is no such segment."},
    )
    owner = OwnerChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label="Anyone",
        widget=QuickSelect,
        label="Owner",
        error_messages={"invalid_choice": "There is no such owner."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = Segment.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["owner"].queryset = (  # type: ignore[attr-defined]
            get_user_model().objects.filter(is_active=True).order_by("username")
        )

    def clean_start(self) -> date | None:
        return self._in_range("start")

    def clean_end(self) -> date | None:
        return self._in_range("end")

    def _in_range(self, name: str) -> date | None:
        value = self.cleaned_data.get(name)
        error = date_error(value)
        if error:
            raise forms.ValidationError(error)
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "start" in self.errors or "end" in self.errors:
            return data
        start, end = default_period(data.get("start"), data.get("end"), today=_today())
        error = period_error(start, end)
        if error:
            self.add_error("start", error)
        elif data.get("granularity") == "day" and (end - start).days >= MAX_DAILY_BUCKETS:
            self.add_error(
                "granularity", f"More than {MAX_DAILY_BUCKETS:,} days: choose weeks or months."
            )
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> DashboardFilters:
        """The filters to apply: the valid ones typed, defaults for the rest (an invalid
        field falls back to its default, and the form shows its error)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        end = data.get("end") if "end" not in self.errors else None
        start = data.get("start") if "start" not in self.errors else None
        start, end = default_period(start, end, today=_today())
        if period_error(start, end):
            start, end = default_period(None, end, today=_today())
        granularity = data.get("granularity") if "granularity" not in self.errors else None
        return DashboardFilters(
            start=start,
            end=end,
            granularity=granularity or default_granularity(start, end),
            segment=data.get("segment") if "segment" not in self.errors else None,
            owner=data.get("owner") if "owner" not in self.errors else None,
        )


def _today() -> date:
    return timezone.now().date()


def read_filters(params: QueryDict) -> tuple[DashboardFilterForm, DashboardFilters]:
    """The bound filter form (for its errors and widgets) and the filters to apply."""
    data = params.copy()
    # The date pickers show the period in use, the default one included.
    end = timezone.now().date()
    if not data.get("end"):
        data["end"] = end.isoformat()
    if not data.get("start") and not params.get("end"):
        data["start"] = (end - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    form = DashboardFilterForm(data)
    form.is_valid()
    return form, form.filters()


def preset_links(filters: DashboardFilters) -> list[dict[str, Any]]:
    """The quick periods, each ending today and keeping the segment and owner."""
    today = timezone.now().date()
    links = []
    for days, label in PRESETS:
        start = today - timedelta(days=days - 1)
        chosen = DashboardFilters(
            start=start,
            end=today,
            granularity=default_granularity(start, today),
            segment=filters.segment,
            owner=filters.owner,
        )
        links.append(
            {
                "label": label,
                "query": chosen.query(),
                "current": filters.start == start and filters.end == today,
            }
        )
    return links
