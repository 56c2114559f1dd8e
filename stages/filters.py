"""Filters for a customer's stage history in the API."""

from __future__ import annotations

import django_filters

from common.filters import IsoDateTimeFilter
from stages.models import ActorKind, Direction, Stage, StageTransition


class TransitionFilter(django_filters.FilterSet):
    """to_stage (slug), direction, actor_kind, occurred_after, occurred_before."""

    to_stage = django_filters.ModelChoiceFilter(
        queryset=Stage.objects.all(), to_field_name="slug", label="Stage slug"
    )
    direction = django_filters.ChoiceFilter(choices=Direction.choices)
    actor_kind = django_filters.ChoiceFilter(choices=ActorKind.choices)
    occurred_after = IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label="Occurred at or after"
    )
    occurred_before = IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label="Occurred before"
    )

    class Meta:
        model = StageTransition
        fields = ["to_stage", "direction", "actor_kind"]
