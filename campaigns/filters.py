"""Filters for the campaign list of the API."""

from __future__ import annotations

import django_filters

from campaigns.models import Campaign, CampaignState
from common.filters import CreatedRangeFilterSet
from messaging.models import Channel
from segments.models import Segment


class CampaignFilter(CreatedRangeFilterSet):
    """state, channel, segment (id), created_after, created_before."""

    state = django_filters.ChoiceFilter(choices=CampaignState.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    segment = django_filters.ModelChoiceFilter(queryset=Segment.objects.all(), label="Segment id")

    class Meta:
        model = Campaign
        fields = ["state", "channel", "segment"]
