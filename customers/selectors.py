"""Reads for customers."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from customers.filters import CustomerFilter
from customers.models import Customer


def customer_queryset() -> QuerySet[Customer]:
    """Customers with what every list shows (stage, owner) fetched in the same query."""
    return Customer.objects.select_related("stage", "owner")


def customer_list(*, filters: dict[str, Any] | None = None) -> QuerySet[Customer]:
    """Customers matching `filters` (the CustomerFilter's parameters); invalid ones raise."""
    filterset = CustomerFilter(filters or {}, queryset=customer_queryset())
    if not filterset.is_valid():
        from django.core.exceptions import ValidationError

        raise ValidationError(filterset.errors)
    return filterset.qs
