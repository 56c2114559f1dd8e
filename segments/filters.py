"""Filters for the segment list of the API."""

from __future__ import annotations

import django_filters

from common.filters import CreatedRangeFilterSet
from segments.models import Segment, SegmentKind


class SegmentFilter(CreatedRangeFilterSet):
    """kind (dynamic or static), created_after, created_before."""

    kind = django_filters.ChoiceFilter(choices=SegmentKind.choices)

    class Meta:
        model = Segment
        fields = ["kind"]
