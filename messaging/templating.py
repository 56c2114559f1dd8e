"""Personalisation of message templates, sandboxed: fields in, escaped text out.

A template may contain `{{ field }}` and `{{ field|default:"text" }}`, where a field is one
of the names `template_context` provides (`first_name`, `stage`, `attributes.plan`…). Nothing
else is interpreted: no attribute access on objects, no tags, no code. Values are escaped for
HTML bodies; plain-text bodies and subjects get them as they are.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.html import escape

if TYPE_CHECKING:
    from customers.models import Customer

PLACEHOLDER = re.compile(
    r"\{\{\s*(?P<name>[a-z_][a-z0-9_]*(?:\.[A-Za-z0-9_-]+)?)\s*"
    r"(?:\|\s*default\s*:\s*\"(?P<default>[^\"]*)\"\s*)?\}\}"
)


def template_context(customer: Customer) -> dict[str, str]:
    """The fields a template may use for `customer`, all as plain strings."""
    owner = customer.owner
    context = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "full_name": customer.full_name,
        "email": customer.email,
        "company": customer.company,
        "stage": customer.stage.name,
        "phase": customer.stage.get_phase_display(),
        "owner_name": (owner.get_full_name() or owner.get_username()) if owner else "",
        "owner_email": owner.email if owner else "",
        "referral_code": customer.referral_code,
        "referral_link": f"{settings.FLYWHEEL_BASE_URL}/r/{customer.referral_code}/",
    }
    for key, value in (customer.attributes or {}).items():
        if isinstance(value, str | int | float | bool):
            context[f"attributes.{key}"] = str(value)
    return context


def template_render(text: str, context: dict[str, Any], *, html: bool = False) -> str:
    """Replace each placeholder with its value (or its default, or nothing)."""

    def value(match: re.Match[str]) -> str:
        found = context.get(match["name"])
        result = str(found) if found not in (None, "") else (match["default"] or "")
        return escape(result) if html else result

    return PLACEHOLDER.sub(value, text)


def template_fields(text: str) -> list[str]:
    """The field names a template uses, for validation and previews."""
    return sorted({match["name"] for match in PLACEHOLDER.finditer(text)})
