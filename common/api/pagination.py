"""Cursor pagination for every list endpoint: stable under inserts and fast at any depth.

DRF's own CursorPagination positions its cursor on the first ordering field alone, so an
ordering on a column with ties (`last_name`, or `created_at` after an import) repeats and
skips rows, and one on a nullable column (`last_activity_at`) stops at the first NULL. This is
keyset pagination on (ordering field, primary key) instead: the key breaks ties, NULLs sort
last in either direction, and the cursor is signed, so a cursor that was not issued by this
server is a 400 on `cursor` rather than a query built from client input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Field, Model, Q, QuerySet
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

_SALT = "common.api.pagination.cursor"
INVALID_CURSOR = "Invalid cursor: follow the `next` and `previous` links as given."


@dataclass(frozen=True)
class Cursor:
    """A boundary row: the page starts after it, or (`before`) ends just before it."""

    value: Any
    pk: Any
    before: bool


@dataclass(frozen=True)
class OrderingKey:
    """One ordering field (None: the primary key alone) plus the primary key as tie-breaker."""

    name: str
    field: Field | None
    descending: bool

    @classmethod
    def parse(cls, ordering: str, model: type[Model]) -> OrderingKey:
        descending = ordering.startswith("-")
        name = ordering.lstrip("-")
        if name == "pk":
            return cls(ordering, None, descending)
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist as exc:
            raise ImproperlyConfigured(
                f"Cursor pagination orders by model fields only; {name!r} is not one."
            ) from exc
        if not isinstance(field, Field):
            raise ImproperlyConfigured(f"Cursor pagination cannot order by the relation {name!r}.")
        return cls(ordering, None if field.primary_key else field, descending)

    def order_by(self, *, reverse: bool = False) -> list[Any]:
        """The ORDER BY of a page; `reverse` for walking backwards from a `previous` cursor."""
        descending = self.descending != reverse
        by_pk = "-pk" if descending else "pk"
        if self.field is None:
            return [by_pk]
        nulls: dict[str, bool] = {}
        if self.field.null:
            nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
        column = F(self.field.name)
        return [column.desc(**nulls) if descending else column.asc(**nulls), by_pk]

    def after(self, cursor: Cursor) -> Q:
        """Rows that come after the cursor's row in this ordering."""
        return self._beyond(cursor, later=True)

    def before(self, cursor: Cursor) -> Q:
        """Rows that come before the cursor's row in this ordering."""
        return self._beyond(cursor, later=False)

    def _beyond(self, cursor: Cursor, *, later: bool) -> Q:
        op = "gt" if later != self.descending else "lt"
        if self.field is None:
            return Q(**{f"pk__{op}": cursor.pk})
        name = self.field.name
        if cursor.value is None:
            # NULLs come last: after a NULL only NULLs with a later key; before it, every value.
            same_value = Q(**{f"{name}__isnull": True, f"pk__{op}": cursor.pk})
            return same_value if later else Q(**{f"{name}__isnull": False}) | same_value
        tie = Q(**{name: cursor.value, f"pk__{op}": cursor.pk})
        beyond = Q(**{f"{name}__{op}": cursor.value}) | tie
        if later and self.field.null:
            beyond |= Q(**{f"{name}__isnull": True})
        return beyond

    def cursor_for(self, row: Model, *, before: bool) -> Cursor:
        if self.field is None or self.field.value_from_object(row) is None:
            return Cursor(None, row.pk, before)
        return Cursor(self.field.value_to_string(row), row.pk, before)


class CursorPagination(pagination.CursorPagination):
    """`next`/`previous` links and `results`; `page_size` up to 500, default 50.

    The first field of the ordering (the view's `ordering`, or the `ordering` query parameter
    when the view has an OrderingFilter) positions the cursor, the primary key breaks ties.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    # A field name, or a tuple whose first field positions the cursor (the rest is ignored).
    ordering: Any = "-id"

    def paginate_queryset(  # type: ignore[override]  # keyset pagination needs a QuerySet
        self, queryset: QuerySet[Any], request: Request, view: Any = None
    ) -> list[Any] | None:
        self.request = request
        page_size = self.get_page_size(request)
        if not page_size:
            return None
        self.page_size = page_size
        self.base_url: str = request.build_absolute_uri()
        self.key = OrderingKey.parse(self.get_ordering(request, queryset, view)[0], queryset.model)
        cursor = self.decode_cursor(request)
        backwards = cursor is not None and cursor.before
        if cursor is not None:
            queryset = queryset.filter(
                self.key.before(cursor) if backwards else self.key.after(cursor)
            )
        rows = list(queryset.order_by(*self.key.order_by(reverse=backwards))[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if backwards:
            self.page = rows[::-1]
            self.has_next, self.has_previous = True, more
        else:
            self.page = rows
            self.has_next, self.has_previous = more, cursor is not None
        return self.page

    def get_next_link(self) -> str | None:
        if not (self.has_next and self.page):
            return None
        return self.encode_cursor(self.key.cursor_for(self.page[-1], before=False))

    def get_previous_link(self) -> str | None:
        if not (self.has_previous and self.page):
            return None
        return self.encode_cursor(self.key.cursor_for(self.page[0], before=True))

    def encode_cursor(self, cursor: Cursor) -> str:  # type: ignore[override]
        token = signing.dumps(
            {"o": self.key.name, "v": cursor.value, "k": cursor.pk, "b": cursor.before},
            salt=_SALT,
        )
        return replace_query_param(self.base_url, self.cursor_query_param, token)

    def decode_cursor(self, request: Request) -> Cursor | None:  # type: ignore[override]
        token = request.query_params.get(self.cursor_query_param)
        if not token:
            return None
        try:
            data = signing.loads(token, salt=_SALT)
            if not isinstance(data, dict) or data.get("o") != self.key.name:
                raise ValueError("The cursor belongs to another ordering.")
            value = data["v"]
            if value is not None and self.key.field is not None:
                value = self.key.field.to_python(value)
            return Cursor(value, data["k"], bool(data["b"]))
        except (signing.BadSignature, KeyError, TypeError, ValueError, DjangoValidationError):
            raise ValidationError({self.cursor_query_param: [INVALID_CURSOR]}) from None
