"""Filters for the interaction, task and purchase lists."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters.fields import ModelChoiceField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from common.filters import IsoDateTimeFilter
from customers.models import Customer
from interactions.models import (
    CaseState,
    Effect,
    Interaction,
    InteractionKind,
    Purchase,
    Task,
    TaskState,
)

ME = "me"


class _UserOrMeField(ModelChoiceField):
    """A user id, or `me` for whoever makes the request."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == ME:
            return ME
        return super().to_python(value)

    def validate(self, value: Any) -> None:
        if value != ME:
            super().validate(value)


@extend_schema_field(OpenApiTypes.STR)
class UserOrMeFilter(django_filters.ModelChoiceFilter):
    """Filter on a user: an id, or `me`. Former users (inactive) can still be named."""

    field_class = _UserOrMeField

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", get_user_model().objects.all())
        super().__init__(**kwargs)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if value == ME:
            value = self.parent.request.user
        return super().filter(qs, value)


class _StrictBooleanField(forms.NullBooleanField):
    """true/false (or 1/0); anything else is an error, not silently "no filter"."""

    widget = forms.TextInput  # NullBooleanSelect would turn any unknown value into None

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]
        text = str(value).strip().lower() if value is not None else ""
        if text == "":
            return None
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValidationError("Give true or false.", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = _StrictBooleanField


def _customer_filter() -> django_filters.ModelChoiceFilter:
    return django_filters.ModelChoiceFilter(queryset=Customer.objects.all(), label="Customer id")


class InteractionFilter(django_filters.FilterSet):
    """customer, kind, user (who logged it, id or `me`), effect, case_state, time range."""

    customer = _customer_filter()
    kind = django_filters.ChoiceFilter(choices=InteractionKind.choices)
    user = UserOrMeFilter(field_name="logged_by", label="Logged by (user id or `me`)")
    effect = django_filters.ChoiceFilter(choices=Effect.choices)
    case_state = django_filters.ChoiceFilter(choices=CaseState.choices)
    occurred_after = IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label="Occurred at or after"
    )
    occurred_before = IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label="Occurred before"
    )

    class Meta:
        model = Interaction
        fields = [
            "customer",
            "kind",
            "user",
            "effect",
            "case_state",
            "occurred_after",
            "occurred_before",
        ]


class TaskFilter(django_filters.FilterSet):
    """customer, assignee (id or `me`), state, due range, and `overdue` (open and past due)."""

    customer = _customer_filter()
    assignee = UserOrMeFilter(label="Assignee (user id or `me`)")
    state = django_filters.ChoiceFilter(choices=TaskState.choices)
    due_after = IsoDateTimeFilter(field_name="due_at", lookup_expr="gte", label="Due at or after")
    due_before = IsoDateTimeFilter(field_name="due_at", lookup_expr="lt", label="Due before")
    overdue = StrictBooleanFilter(
        method="filter_overdue",
        label="true: open and past due (friction); false: every other task",
    )

    class Meta:
        model = Task
        fields = ["customer", "assignee", "state", "due_after", "due_before", "overdue"]

    def filter_overdue(self, queryset: QuerySet[Task], name: str, value: bool) -> QuerySet:
        overdue = Q(state=TaskState.OPEN, due_at__lt=timezone.now())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class PurchaseFilter(django_filters.FilterSet):
    """customer, currency (any case), source, time range."""

    customer = _customer_filter()
    currency = django_filters.CharFilter(method="filter_currency", label="ISO 4217 code")
    source = django_filters.CharFilter(label="Source (exact)")
    occurred_after = IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label="Occurred at or after"
    )
    occurred_before = IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label="Occurred before"
    )

    class Meta:
        model = Purchase
        fields = ["customer", "currency", "source", "occurred_after", "occurred_before"]

    def filter_currency(self, queryset: QuerySet[Purchase], name: str, value: str) -> QuerySet:
        return queryset.filter(currency=value.strip().upper())
