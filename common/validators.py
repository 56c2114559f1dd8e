"""Validators for free-form input that PostgreSQL would otherwise reject with a 500."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

MAX_JSON_DEPTH = 8


def validate_no_nul(value: Any, _depth: int = 0) -> None:
    """Reject what PostgreSQL's jsonb cannot store anywhere in a JSON value: NUL characters
    and lone surrogates (e.g. "\\ud800"), and nesting deeper than MAX_JSON_DEPTH."""
    if _depth > MAX_JSON_DEPTH:
        raise ValidationError(f"Nested deeper than {MAX_JSON_DEPTH} levels.")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationError("Null characters are not allowed.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError(
                "Text must be valid Unicode (no lone surrogate characters)."
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            validate_no_nul(key, _depth + 1)
            validate_no_nul(item, _depth + 1)
    elif isinstance(value, list):
        for item in value:
            validate_no_nul(item, _depth + 1)
