"""The API's JSON parser: any body it cannot turn into data is a ParseError (a 400 on `body`)."""

from __future__ import annotations

from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, plus a 400 for JSON nested too deeply for Python's decoder.

    `[[[[...]]]]` a hundred thousand levels deep is a few hundred kilobytes; the decoder
    answers it with RecursionError, which DRF's parser lets through as a 500.
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
