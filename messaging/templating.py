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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.html import escape, strip_tags

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


# --- what a template may use, and checking a template before it is saved -----------------------

# Every field `template_context` provides, with what it holds (the help panel and the API docs
# list them; a test keeps this in step with template_context). Custom attributes come on top,
# as `attributes.<key>`.
TEMPLATE_FIELDS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "First and last name",
    "email": "Email address",
    "company": "Company",
    "stage": "Current stage, as named (e.g. Post-purchase)",
    "phase": "Current phase: Attract, Engage or Delight",
    "stage_slug": "Current stage's slug (e.g. post_purchase)",
    "phase_slug": "Current phase's key: attract, engage or delight",
    "owner_name": "The owner's name (the customer's sales rep)",
    "owner_email": "The owner's email address",
    "referral_code": "The customer's referral code",
    "referral_link": "The customer's public referral page",
}
ATTRIBUTE_PREFIX = "attributes."
PHASES = ("attract", "engage", "delight")

BLOCK_OPENER = re.compile(r"\[\[(?P<kind>stage|phase):\s*(?P<names>[A-Za-z0-9_,\s-]+?)\s*\]\]")
# Anything that looks like a placeholder or a block marker, well formed or not: what the
# renderer would leave as it is (a typo) is reported rather than sent to customers.
_ANY_PLACEHOLDER = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_ANY_MARKER = re.compile(
    r"\[\[\s*(?P<close>/)?\s*(?P<kind>[A-Za-z]+)\s*(?::(?P<names>[^\]]*))?\]\]"
)


def template_field_known(name: str) -> bool:
    """Whether `name` is a field templates may use: one of TEMPLATE_FIELDS or an attribute."""
    if name.startswith(ATTRIBUTE_PREFIX):
        return len(name) > len(ATTRIBUTE_PREFIX)
    return name in TEMPLATE_FIELDS


def template_problems(text: str, *, stage_slugs: set[str] | None = None) -> list[str]:
    """What is wrong with one template text, in words a marketer can act on ([] if nothing).

    Checks that every `{{ … }}` is a placeholder of a known field, and that the stage and phase
    blocks are balanced, not nested in a block of their own kind, and name phases (and, when
    `stage_slugs` is given, stages) that exist.
    """
    problems: list[str] = []
    for match in _ANY_PLACEHOLDER.finditer(text):
        found = PLACEHOLDER.fullmatch(match.group(0))
        if found is None:
            problems.append(
                f"{match.group(0)} is not a placeholder: write {{{{ field }}}} or "
                f'{{{{ field|default:"text" }}}}.'
            )
        elif not template_field_known(found["name"]):
            problems.append(
                f"Unknown field in {match.group(0)}: use one of the fields listed, or "
                f"attributes.<key> for a custom attribute."
            )
    problems.extend(_block_problems(text, stage_slugs=stage_slugs))
    return problems


def _block_problems(text: str, *, stage_slugs: set[str] | None) -> list[str]:
    problems: list[str] = []
    open_blocks: list[tuple[str, str]] = []  # (kind, marker as written)
    for match in _ANY_MARKER.finditer(text):
        marker, kind = match.group(0), match["kind"].lower()
        if kind not in BLOCK_KEYS:
            problems.append(f"{marker} is not a block: use [[stage:…]] or [[phase:…]].")
            continue
        if match["close"]:
            if marker != f"[[/{kind}]]":
                problems.append(f"{marker}: a closing marker is written [[/{kind}]].")
            elif not open_blocks or all(k != kind for k, _ in open_blocks):
                problems.append(f"[[/{kind}]] closes no [[{kind}:…]] block.")
            elif open_blocks[-1][0] != kind:
                inner = open_blocks[-1]
                problems.append(
                    f"{inner[1]} must be closed with [[/{inner[0]}]] before [[/{kind}]]."
                )
                return problems  # the rest would only repeat this
            else:
                open_blocks.pop()
            continue
        names = [n.strip().lower() for n in (match["names"] or "").split(",") if n.strip()]
        if not names or BLOCK_OPENER.fullmatch(marker) is None:
            problems.append(
                f"{marker} is not a block marker: write [[{kind}:{_example(kind)}]] (names "
                f"separated by commas)."
            )
            continue
        if kind == "phase":
            unknown = [n for n in names if n not in PHASES]
            if unknown:
                problems.append(
                    f"{marker}: unknown phase {', '.join(unknown)} (attract, engage or delight)."
                )
        elif stage_slugs is not None:
            unknown = [n for n in names if n not in stage_slugs]
            if unknown:
                problems.append(
                    f"{marker}: unknown stage {', '.join(unknown)} "
                    f"(one of {', '.join(sorted(stage_slugs))})."
                )
        if any(k == kind for k, _ in open_blocks):
            problems.append(f"{marker} is inside another {kind} block, which is not supported.")
            continue
        open_blocks.append((kind, marker))
    for kind, marker in open_blocks:
        problems.append(f"{marker} is never closed: add [[/{kind}]].")
    return problems


def _example(kind: str) -> str:
    return "delight" if kind == "phase" else "advocacy"


# --- SMS length ---------------------------------------------------------------------------------

# The GSM 03.38 alphabet: one 7-bit unit per character, two for the extension table's. Any
# other character makes the whole SMS UCS-2 (two bytes per UTF-16 unit).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class SmsLength:
    """How an SMS text is encoded and how many parts it is sent in.

    GSM-7: 160 characters in one part, 153 per part when split; UCS-2 (any character outside
    GSM-7, e.g. an emoji or Cyrillic): 70 in one part, 67 per part. `length` counts the units
    the network counts (an extension character such as € is two GSM-7 units).
    """

    encoding: str
    length: int
    segments: int

    @property
    def per_segment(self) -> int:
        single, multi = (160, 153) if self.encoding == "GSM-7" else (70, 67)
        return single if self.segments <= 1 else multi


def sms_length(text: str) -> SmsLength:
    """The encoding, length and number of parts of an SMS text."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        units = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units == 0:
        segments = 0
    elif units <= single:
        segments = 1
    else:
        segments = -(-units // multi)
    return SmsLength(encoding=encoding, length=units, segments=segments)


# --- rendering all the parts of a message -------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """A message's parts personalised for one customer."""

    subject: str
    body_text: str
    body_html: str


def template_render_parts(
    *, channel: str, subject: str, body_text: str, body_html: str, context: dict[str, Any]
) -> Rendered:
    """Subject, text and HTML personalised with `context` (sandboxed; HTML values escaped).

    An SMS is its text alone. An email with only an HTML body gets the HTML's text as its plain
    body, so that no one receives an empty text part.
    """
    if channel == "sms":
        return Rendered(subject="", body_text=template_render(body_text, context), body_html="")
    text = template_render(body_text, context)
    html = template_render(body_html, context, html=True) if body_html else ""
    if html and not text.strip():
        text = strip_tags(html).strip()
    return Rendered(subject=template_render(subject, context), body_text=text, body_html=html)
