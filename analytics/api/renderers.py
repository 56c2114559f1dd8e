"""CSV for BI tools and spreadsheets: every analytics table, one row per result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.renderers import BaseRenderer

from common.csv import csv_text


class CSVRenderer(BaseRenderer):
    """Renders the `results` rows of an analytics response as CSV with a header line.

    Chosen by `?format=csv` or `Accept: text/csv`. Column order is the row's field order;
    empty values (no answers, no stays) are empty cells. Written by common.csv, so a segment
    or campaign named like a formula (`@SUM(1+1)`) arrives as text.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        rows = data.get("results", []) if isinstance(data, dict) else []
        view = (renderer_context or {}).get("view")
        row_serializer = getattr(view, "row_serializer", None)
        if row_serializer is not None:
            columns = list(row_serializer().fields)
        else:
            columns = list(rows[0]) if rows else []
        # The header line even without rows: a BI tool learns the columns either way.
        lines = csv_text(columns, ([row.get(column) for column in columns] for row in rows))
        return lines.encode(self.charset)
