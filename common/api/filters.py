"""The ordering of every list: `?ordering=` names a field the list offers, or it is a 400."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from rest_framework import filters
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.views import APIView


class OrderingFilter(filters.OrderingFilter):
    """DRF's OrderingFilter, except that an unknown field is a 400 naming `ordering`.

    DRF drops the fields it does not know and falls back to the default ordering, so a typo
    (`?ordering=-craeted_at`) answers 200 in an order the client did not ask for.
    """

    def remove_invalid_fields(
        self, queryset: QuerySet, fields: Iterable[str], view: APIView, request: Request
    ) -> list[str]:
        valid = [item[0] for item in self.get_valid_fields(queryset, view, {"request": request})]
        fields = [term for term in fields if term]  # "name," has an empty last term
        unknown = [term for term in fields if term.removeprefix("-") not in valid]
        if unknown:
            offered = ", ".join(valid) or "none"
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Unknown ordering field {', '.join(map(repr, unknown))}; "
                        f"this list orders by: {offered} (prefix '-' for descending)."
                    ]
                }
            )
        return fields
