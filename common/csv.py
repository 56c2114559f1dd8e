"""The one CSV writer: every CSV the product hands out (customer and segment exports, the
drill-down's, the analytics tables) is written here, so every cell is neutralised the same way.

A spreadsheet runs a cell that starts with = + - @ as a formula, and some read past a leading
tab or carriage return to one (OWASP, "CSV Injection"): a customer named
`=HYPERLINK("http://evil", "Click")`, or a segment named `@SUM(1+1)`, would act in the
spreadsheet of whoever opens the export. Such a cell gets a leading apostrophe, which the
spreadsheet takes as "this is text" and does not show.

Numbers stay numbers: an int, float or Decimal is written as it is, and so is text that is
nothing but a plain number (`-12.5`, `-3`, how DRF writes a negative decimal): a spreadsheet
reads it as the number, and no formula fits in it. Anything more (`-2+3`, `+33 1 23 45 67 89`)
is text that could be a formula, and is quoted.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def cell_safe(value: Any) -> Any:
    """The value as a spreadsheet should see it: text that would start a formula gets a
    leading apostrophe; numbers, plain-number text and other text are left alone; None is
    an empty cell."""
    if value is None:
        return ""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


class _Echo:
    """A file that hands back what is written: csv.writer then yields lines, not a file."""

    def write(self, value: str) -> str:
        return value


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header line, then one line per row (CRLF-terminated), every cell neutralised.

    Lazy: the rows are read as the lines are consumed, so a streamed export of a million
    customers never holds them in memory.
    """
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow([cell_safe(column) for column in columns])
    for row in rows:
        yield writer.writerow([cell_safe(value) for value in row])


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The whole CSV as one string (for small tables, such as the analytics ones)."""
    return "".join(csv_lines(columns, rows))


def csv_response(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, filename: str
) -> StreamingHttpResponse:
    """A streamed text/csv download of `rows` under a header of `columns`, saved as `filename`."""
    response = StreamingHttpResponse(csv_lines(columns, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
