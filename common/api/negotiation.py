"""Content negotiation of the API: an unknown `?format=` is a 400 naming `format`."""

from __future__ import annotations

from collections.abc import Iterable

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer


class ContentNegotiation(DefaultContentNegotiation):
    """DRF answers a `?format=` no renderer offers with a 404, as if the record were missing;
    the client asked for something that exists in a form it does not, which is bad input."""

    def filter_renderers(
        self, renderers: Iterable[BaseRenderer], format: str
    ) -> list[BaseRenderer]:
        renderers = list(renderers)
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            offered = ", ".join(sorted({str(renderer.format) for renderer in renderers}))
            raise ValidationError(
                {"format": [f"Unknown format {format!r}; this endpoint offers: {offered}."]}
            )
        return matching
