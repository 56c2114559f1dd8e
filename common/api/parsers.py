"""The API's JSON parser: any body it cannot turn into data is a ParseError (a 400 on `body`),
and text PostgreSQL cannot store is a 400 on the field that holds it."""

from __future__ import annotations

from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from common.validators import text_errors


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, plus a 400 for JSON nested too deeply for Python's decoder, and one
    naming the field (`fields[2].label`) for a NUL or a lone surrogate anywhere in the body.

    `[[[[...]]]]` a hundred thousand levels deep is a few hundred kilobytes; the decoder
    answers it with RecursionError, which DRF's parser lets through as a 500. `"\\u0000"` and
    `"\\ud800"` are valid JSON that no text or jsonb column takes: checked here once, every
    endpoint's serializer and service sees only storable text.
    """

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Any = None
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        errors = text_errors(data)
        if errors:
            raise ValidationError({path or "body": messages for path, messages in errors.items()})
        return data
