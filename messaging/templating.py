"""Personalisation of message templates, sandboxed: fields in, escaped text out.

A template may contain `{{ field }}` and `{{ field|default:"text" }}`, where a field is one
of the names `template_context` provides (`first_name`, `stage`, `attributes.plan`…). Nothing
else is interpreted: no attribute access on objects, no tags, no code. Values are escaped for
HTML bodies; plain-text bodies and subjects get them as they are.

Blocks shown only to some customers: `[[stage:advocacy]]…[[/stage]]` keeps its text for a
customer whose stage slug is `advocacy` (several: `[[stage:purchase,post_purchase]]`), and
`[[phase:delight]]…[[/phase]]` for a customer in that phase (attract, engage, delight). For
anyone else the block disappears, markers included. A stage block may sit inside a phase
block and the reverse; a block inside a block of the same kind is not supported. Blocks are
chosen before the fields are filled, so a value can never open or close a block.
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


BLOCK = re.compile(
    r"\[\[(?P<kind>stage|phase):\s*(?P<names>[A-Za-z0-9_,\s-]+?)\s*\]\]"
    r"(?P<body>.*?)\[\[/(?P=kind)\]\]",
    re.DOTALL,
)
# The context keys that choose blocks: the customer's stage slug and phase key.
BLOCK_KEYS = {"stage": "stage_slug", "phase": "phase_slug"}


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
        "stage_slug": customer.stage.slug,
        "phase_slug": customer.stage.phase,
        "owner_name": (owner.get_full_name() or owner.get_username()) if owner else "",
        "owner_email": owner.email if owner else "",
        "referral_code": customer.referral_code,
        "referral_link": f"{settings.FLYWHEEL_BASE_URL}/r/{customer.referral_code}/",
    }
    for key, value in (customer.attributes or {}).items():
        if isinstance(value, str | int | float | bool):
            context[f"attributes.{key}"] = str(value)
    return context


def template_blocks(text: str, context: dict[str, Any]) -> str:
    """Keep the stage and phase blocks meant for the context's customer, drop the others."""

    def choose(match: re.Match[str]) -> str:
        current = str(context.get(BLOCK_KEYS[match["kind"]]) or "").lower()
        wanted = {name.strip().lower() for name in match["names"].split(",") if name.strip()}
        return match["body"] if current and current in wanted else ""

    # Two passes: a stage block inside a phase block (or the reverse) is chosen by the first
    # pass only once the outer one is resolved.
    for _ in range(2):
        text = BLOCK.sub(choose, text)
    return text


def template_render(text: str, context: dict[str, Any], *, html: bool = False) -> str:
    """Choose the stage and phase blocks, then replace each placeholder with its value (or
    its default, or nothing)."""

    def value(match: re.Match[str]) -> str:
        found = context.get(match["name"])
        result = str(found) if found not in (None, "") else (match["default"] or "")
        return escape(result) if html else result

    return PLACEHOLDER.sub(value, template_blocks(text, context))


def template_fields(text: str) -> list[str]:
    """The field names a template uses, for validation and previews."""
    return sorted({match["name"] for match in PLACEHOLDER.finditer(text)})
