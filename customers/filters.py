"""Filters for customer lists, shared by the API and the dashboard."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from common.filters import IsoDateTimeFilter
from customers.models import Customer
from stages.models import Phase, Stage


class CustomerFilter(django_filters.FilterSet):
    """stage, phase, owner, tag, created_after/created_before and a free-text `q`."""

    stage = django_filters.ModelChoiceFilter(
        field_name="stage",
        to_field_name="slug",
        queryset=Stage.objects.all(),
        label="Stage",
    )
    phase = django_filters.ChoiceFilter(
        field_name="stage__phase", choices=Phase.choices, label="Phase"
    )
    owner = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.order_by("username"),
        label="Owner",
    )
    tag = django_filters.CharFilter(method="filter_tag", label="Tag")
    created_after = IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label="Created on or after"
    )
    created_before = IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label="Created before"
    )
    q = django_filters.CharFilter(method="filter_q", label="Search (name, email, company)")

    class Meta:
        model = Customer
        fields = ["stage", "phase", "owner", "tag", "created_after", "created_before", "q"]

    def filter_tag(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet:
        return queryset.filter(tags__contains=[value.strip().lower()])

    def filter_q(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet:
        condition = Q()
        for word in value.split()[:5]:
            condition &= (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(company__icontains=word)
            )
        return queryset.filter(condition)
