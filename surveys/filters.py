"""Filters for the invitation and response lists."""

from __future__ import annotations

import django_filters

from common.filters import IsoDateTimeFilter
from customers.models import Customer
from surveys.models import Invitation, InvitationSource, InvitationState, Response, Survey
from surveys.scoring import Category, SurveyKind


def _customer_filter() -> django_filters.ModelChoiceFilter:
    return django_filters.ModelChoiceFilter(queryset=Customer.objects.all(), label="Customer id")


def _survey_filter() -> django_filters.ModelChoiceFilter:
    return django_filters.ModelChoiceFilter(queryset=Survey.objects.all(), label="Survey id")


class InvitationFilter(django_filters.FilterSet):
    """customer, survey, state, source, batch (a bulk send's id)."""

    customer = _customer_filter()
    survey = _survey_filter()
    state = django_filters.ChoiceFilter(choices=InvitationState.choices)
    source = django_filters.ChoiceFilter(choices=InvitationSource.choices)
    batch = django_filters.NumberFilter(field_name="batch_id", label="Bulk send id")

    class Meta:
        model = Invitation
        fields = ["customer", "survey", "state", "source", "batch"]


class ResponseFilter(django_filters.FilterSet):
    """customer, survey, kind, category, answered_after/answered_before."""

    customer = _customer_filter()
    survey = _survey_filter()
    kind = django_filters.ChoiceFilter(choices=SurveyKind.choices)
    category = django_filters.ChoiceFilter(choices=Category.choices)
    answered_after = IsoDateTimeFilter(
        field_name="answered_at", lookup_expr="gte", label="Answered at or after"
    )
    answered_before = IsoDateTimeFilter(
        field_name="answered_at", lookup_expr="lt", label="Answered before"
    )

    class Meta:
        model = Response
        fields = ["customer", "survey", "kind", "category", "answered_after", "answered_before"]
