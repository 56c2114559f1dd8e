"""Validators for free-form input that PostgreSQL would otherwise reject with a 500.

PostgreSQL stores neither NUL characters (in text or jsonb) nor lone surrogates (`"\\ud800"`
in JSON, which Python decodes to a str that UTF-8 cannot encode). Each entry point checks its
input with these before anything reaches the database, and names the field at fault.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError

MAX_JSON_DEPTH = 8
NUL_MESSAGE = "Null characters are not allowed."
SURROGATE_MESSAGE = "Text must be valid Unicode (no lone surrogate characters)."
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_error(text: str) -> str | None:
    """Why PostgreSQL cannot store `text` (a NUL, a lone surrogate), or None when it can."""
    if "\x00" in text:
        return NUL_MESSAGE
    if _UNSTORABLE.search(text):
        return SURROGATE_MESSAGE
    return None


def printable(name: str) -> str:
    """`name` with its NULs and surrogates written as `\\u0000` escapes, so that an error
    keyed by it can itself be rendered and stored."""
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", name)


def text_errors(value: Any, *, path: str = "") -> dict[str, list[str]]:
    """Every string or key in a JSON value that PostgreSQL cannot store, keyed by its path
    (`fields[2].label`, `definition.rules[0].value`; `path` itself for a bare string)."""
    errors: dict[str, list[str]] = {}
    for where, message in _unstorable(value, path):
        errors.setdefault(where, []).append(message)
    return errors


def _unstorable(value: Any, path: str) -> Iterator[tuple[str, str]]:
    # A stack rather than recursion: the API's parser hands over JSON nested as deeply as
    # Python's decoder allows, and the walk must not be the one to run out of stack.
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            message = text_error(item)
            if message:
                yield where, message
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                name = printable(str(key))
                child_path = f"{where}.{name}" if where else name
                message = text_error(key) if isinstance(key, str) else None
                if message:
                    yield child_path, message
                children.append((child_path, child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(f"{where}[{i}]", child) for i, child in enumerate(item)]))


def validate_no_nul(value: Any, _depth: int = 0) -> None:
    """Reject what PostgreSQL's jsonb cannot store anywhere in a JSON value: NUL characters
    and lone surrogates (e.g. "\\ud800"), and nesting deeper than MAX_JSON_DEPTH."""
    if _depth > MAX_JSON_DEPTH:
        raise ValidationError(f"Nested deeper than {MAX_JSON_DEPTH} levels.")
    if isinstance(value, str):
        message = text_error(value)
        if message:
            raise ValidationError(message)
    elif isinstance(value, dict):
        for key, item in value.items():
            validate_no_nul(key, _depth + 1)
            validate_no_nul(item, _depth + 1)
    elif isinstance(value, list):
        for item in value:
            validate_no_nul(item, _depth + 1)
