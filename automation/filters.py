"""Filters for the automation API lists: rules, and steps by rule, customer and state."""

from __future__ import annotations

import django_filters

from automation.models import Rule, Step, StepState, TriggerType
from common.filters import CreatedRangeFilterSet
from customers.models import Customer


class StepFilter(django_filters.FilterSet):
    """rule (id), customer (id), state."""

    rule = django_filters.ModelChoiceFilter(queryset=Rule.objects.all(), label="Rule id")
    customer = django_filters.ModelChoiceFilter(
        queryset=Customer.objects.all(), label="Customer id"
    )
    state = django_filters.ChoiceFilter(choices=StepState.choices)

    class Meta:
        model = Step
        fields = ["rule", "customer", "state"]


class RuleFilter(CreatedRangeFilterSet):
    """is_active, trigger_type, created_after, created_before."""

    trigger_type = django_filters.ChoiceFilter(choices=TriggerType.choices)

    class Meta:
        model = Rule
        fields = ["is_active", "trigger_type"]
