"""Filter classes every FilterSet shares (API lists and dashboard lists alike)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class _UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, handed on in UTC.

    Python reads offsets up to ±23:59 (`2026-08-28T01:54:53-20:43`); PostgreSQL takes at
    most ±15:59 and answers the query with a DataError. In UTC every offset is gone, and a
    moment that UTC cannot hold (`0001-01-01T00:00:00+05:00` is in year 0) is a field error.
    """

    default_error_messages = {
        "out_of_range": "Enter a date and time between the years 1 and 9999 (in UTC).",
    }

    def to_python(self, value: Any) -> datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                self.error_messages["out_of_range"], code="out_of_range"
            ) from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """django-filter's IsoDateTimeFilter, safe for PostgreSQL: every FilterSet's date-time
    filter is this one (`created_after`, `occurred_before`, `answered_after`…)."""

    field_class = _UtcIsoDateTimeField


class CreatedRangeFilterSet(django_filters.FilterSet):
    """A FilterSet with `created_after` (inclusive) and `created_before` (exclusive) on
    `created_at`, the range every list of records with a creation time offers."""

    created_after = IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label="Created on or after"
    )
    created_before = IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label="Created before"
    )
