"""Customers as CSV, streamed: the customer list's export and a segment's share it.

The rows are read with a server-side cursor in chunks (`iterator(chunk_size=...)`) and
written out one by one, so an export of a million customers never holds them in memory.
Every text cell is neutralised against formula injection: a spreadsheet would run a cell
that starts with = + - @ (or a tab or carriage return, which some read past) as a formula,
so such a cell gets a leading apostrophe and is shown as the text it is.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from customers.models import Customer

EXPORT_CHUNK = 2000
EXPORT_COLUMNS = [
    "id", "email", "first_name", "last_name", "company", "phone", "stage", "phase",
    "owner", "source", "utm_campaign", "tags", "email_consent", "sms_consent",
    "created_at", "last_activity_at",
]  # fmt: skip
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """The value as a spreadsheet should see it: text that would start a formula is quoted
    with a leading apostrophe; numbers and other text are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """A file that hands back what is written: csv.writer then yields lines, not a file."""

    def write(self, value: str) -> str:
        return value


def _row(c: Customer) -> list[Any]:
    return [
        c.pk, c.email, c.first_name, c.last_name, c.company, c.phone, c.stage.slug,
        c.stage.phase, c.owner_id or "", c.source, c.utm_campaign, ";".join(c.tags),
        int(c.email_consent), int(c.sms_consent), c.created_at.isoformat(),
        c.last_activity_at.isoformat() if c.last_activity_at else "",
    ]  # fmt: skip


def customers_csv_lines(customers: QuerySet[Customer]) -> Iterator[str]:
    """The header, then one line per customer, in the queryset's order, chunk by chunk."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for customer in customers.select_related("stage").iterator(chunk_size=EXPORT_CHUNK):
        yield writer.writerow([csv_safe(value) for value in _row(customer)])


def customers_csv_response(
    customers: QuerySet[Customer], *, filename: str
) -> StreamingHttpResponse:
    """A streamed text/csv download of `customers`, saved as `filename`."""
    response = StreamingHttpResponse(customers_csv_lines(customers), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
