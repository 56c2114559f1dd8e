"""Cursor pagination for every list endpoint: stable under inserts and fast at any depth."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """`next`/`previous` links and `results`; `page_size` up to 500, default 50."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-id"
