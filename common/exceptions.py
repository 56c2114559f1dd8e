"""Domain errors raised by services.

Services raise ApplicationError with the name of the input field at fault; the API turns it
into a 400 keyed by that field and the dashboard into a form error on that field.
"""

from __future__ import annotations


class ApplicationError(Exception):
    """A request that breaks a business rule; `field` names the input at fault."""

    def __init__(self, message: str, *, field: str = "non_field_errors") -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, list[str]]:
        return {self.field: [self.message]}
