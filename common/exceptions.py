"""Domain errors raised by services.

Services raise ApplicationError with the name of the input field at fault, or
InvalidFieldsError naming every field at fault at once; the API turns either into a 400 keyed
by field (common/api/exceptions.py) and the dashboard into form errors on those fields.
"""

from __future__ import annotations

from collections.abc import Mapping


class ApplicationError(Exception):
    """A request that breaks a business rule; `field` names the input at fault."""

    def __init__(self, message: str, *, field: str = "non_field_errors") -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, list[str]]:
        return {self.field: [self.message]}


class InvalidFieldsError(ApplicationError):
    """Several inputs at fault at once: `errors` maps each field, or its path inside a field
    (`fields[2].maps_to`, `actions[1].params.stage`), to its messages. The API answers it as a
    400 with that mapping as the body; a form shows each message on its field."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        if not errors:
            raise ValueError("InvalidFieldsError needs at least one field's error.")
        field, messages = next(iter(errors.items()))
        super().__init__(messages[0], field=field)
        self.errors: dict[str, list[str]] = {name: list(found) for name, found in errors.items()}

    def as_dict(self) -> dict[str, list[str]]:
        return self.errors
