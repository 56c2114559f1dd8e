"""Filters for the suppression list of the API."""

from __future__ import annotations

import django_filters

from common.filters import CreatedRangeFilterSet
from consent.models import Suppression, SuppressionReason
from messaging.models import Channel


class SuppressionFilter(CreatedRangeFilterSet):
    """channel, reason, address (a part of it, any case), created_after, created_before."""

    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    reason = django_filters.ChoiceFilter(choices=SuppressionReason.choices)
    address = django_filters.CharFilter(lookup_expr="icontains", max_length=254)

    class Meta:
        model = Suppression
        fields = ["channel", "reason", "address"]
