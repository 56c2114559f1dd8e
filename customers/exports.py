"""Customers as CSV, streamed: the customer list's export and a segment's share it.

The rows are read with a server-side cursor in chunks (`iterator(chunk_size=...)`) and
written out one by one, so an export of a million customers never holds them in memory.
Cells are written by common.csv, which neutralises text a spreadsheet would run as a formula.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from common.csv import csv_response
from customers.models import Customer

EXPORT_CHUNK = 2000
EXPORT_COLUMNS = [
    "id", "email", "first_name", "last_name", "company", "phone", "stage", "phase",
    "owner", "source", "utm_campaign", "tags", "email_consent", "sms_consent",
    "created_at", "last_activity_at",
]  # fmt: skip


def _row(c: Customer) -> list[Any]:
    return [
        c.pk, c.email, c.first_name, c.last_name, c.company, c.phone, c.stage.slug,
        c.stage.phase, c.owner_id or "", c.source, c.utm_campaign, ";".join(c.tags),
        int(c.email_consent), int(c.sms_consent), c.created_at.isoformat(),
        c.last_activity_at.isoformat() if c.last_activity_at else "",
    ]  # fmt: skip


def _rows(customers: QuerySet[Customer]) -> Iterator[list[Any]]:
    for customer in customers.select_related("stage").iterator(chunk_size=EXPORT_CHUNK):
        yield _row(customer)


def customers_csv_response(
    customers: QuerySet[Customer], *, filename: str
) -> StreamingHttpResponse:
    """A streamed text/csv download of `customers`, in the queryset's order, saved as
    `filename`."""
    return csv_response(EXPORT_COLUMNS, _rows(customers), filename=filename)
