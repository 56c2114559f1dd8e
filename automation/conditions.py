"""A rule's conditions: which customers it applies to, as one filter on Customer.

The conditions are a JSON object; every key given must hold (AND):

    {"stages": ["evaluation", "purchase"],   # the customer is in one of these stages
     "phases": ["engage"],                   # ... in a stage of one of these phases
     "tags_all": ["vip"],                    # has every one of these tags
     "tags_any": ["newsletter", "webinar"],  # has at least one of these
     "tags_none": ["churned"],               # has none of these
     "attributes": {"plan": "pro"},          # each custom attribute equals this value
     "owner": 7 | "none" | "any",            # owned by user 7, by nobody, by somebody
     "segment": 12}                          # is in saved segment 12 now (dynamic or list)

The same filter decides whether a rule applies when its event happens and again when its
first action is due, in SQL either way (one query per rule, or one per sweep batch). A
segment is compiled into the same query as an IN-subquery (segments.selectors), so it is
evaluated at that moment: whoever matches its rules, or is on its list, then.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from customers.models import MAX_TAG_LENGTH, Customer
from customers.services import normalize_tags
from segments.definition import DefinitionInvalidError
from segments.models import Segment
from segments.selectors import segment_customers
from stages.models import Phase, Stage

logger = logging.getLogger(__name__)

Errors = dict[str, list[str]]

CONDITION_KEYS = (
    "stages",
    "phases",
    "tags_all",
    "tags_any",
    "tags_none",
    "attributes",
    "owner",
    "segment",
)
OWNER_NONE = "none"
OWNER_ANY = "any"


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _string_list(value: Any, field: str, errors: Errors) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        _add(errors, field, "Give a list of strings.")
        return None
    return value


def conditions_validate(conditions: Any, *, field: str = "conditions") -> tuple[dict, Errors]:
    """The conditions cleaned (tags normalised, empty keys dropped), and errors by field."""
    errors: Errors = {}
    if conditions in (None, ""):
        return {}, errors
    if not isinstance(conditions, dict):
        _add(errors, field, 'Give a JSON object, like {"stages": ["evaluation"]}.')
        return {}, errors
    clean: dict[str, Any] = {}
    for key in conditions:
        if key not in CONDITION_KEYS:
            _add(
                errors,
                f"{field}.{key}",
                f"Unknown condition '{key}'; use {', '.join(CONDITION_KEYS)}.",
            )

    stages = _string_list(conditions.get("stages", []), f"{field}.stages", errors)
    if stages:
        known = set(Stage.objects.filter(slug__in=stages).values_list("slug", flat=True))
        for index, slug in enumerate(stages):
            if slug not in known:
                _add(errors, f"{field}.stages[{index}]", f"Unknown stage '{slug}'.")
        clean["stages"] = list(dict.fromkeys(stages))

    phases = _string_list(conditions.get("phases", []), f"{field}.phases", errors)
    if phases:
        for index, phase in enumerate(phases):
            if phase not in Phase.values:
                _add(
                    errors,
                    f"{field}.phases[{index}]",
                    f"Unknown phase '{phase}'; use {', '.join(Phase.values)}.",
                )
        clean["phases"] = list(dict.fromkeys(phases))

    for key in ("tags_all", "tags_any", "tags_none"):
        tags = _string_list(conditions.get(key, []), f"{field}.{key}", errors)
        if tags:
            for index, tag in enumerate(tags):
                if len(tag.strip()) > MAX_TAG_LENGTH:
                    _add(
                        errors,
                        f"{field}.{key}[{index}]",
                        f"A tag has at most {MAX_TAG_LENGTH} characters.",
                    )
            if normalize_tags(tags):
                clean[key] = normalize_tags(tags)

    attributes = conditions.get("attributes", {})
    if not isinstance(attributes, dict):
        _add(errors, f"{field}.attributes", 'Give a JSON object, like {"plan": "pro"}.')
    elif attributes:
        clean["attributes"] = attributes

    if "owner" in conditions and conditions["owner"] not in (None, ""):
        owner = conditions["owner"]
        if owner in (OWNER_NONE, OWNER_ANY):
            clean["owner"] = owner
        elif isinstance(owner, int) and not isinstance(owner, bool):
            if not get_user_model().objects.filter(pk=owner).exists():
                _add(errors, f"{field}.owner", f"There is no user {owner}.")
            clean["owner"] = owner
        else:
            _add(errors, f"{field}.owner", "Give a user id, 'none' (no owner) or 'any'.")

    if "segment" in conditions and conditions["segment"] not in (None, ""):
        segment = conditions["segment"]
        if not isinstance(segment, int) or isinstance(segment, bool):
            _add(errors, f"{field}.segment", "Give a segment's id.")
        elif not Segment.objects.filter(pk=segment).exists():
            _add(errors, f"{field}.segment", f"There is no segment {segment}.")
        else:
            clean["segment"] = segment
    return clean, errors


def _segment_q(segment_id: int) -> Q:
    """Customers in the segment now, as an IN-subquery. A segment that is gone (deleting one
    a rule uses is refused, so only in a race) or whose rules no longer validate (a stage
    they name was deleted) matches nobody: a condition never widens to everyone."""
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        logger.warning("Automation condition names segment %s, which does not exist", segment_id)
        return Q(pk__in=[])
    try:
        return Q(pk__in=segment_customers(segment).values("pk"))
    except DefinitionInvalidError as error:
        logger.warning("Segment %s no longer validates: %s", segment_id, error.as_dict())
        return Q(pk__in=[])


def conditions_q(conditions: dict[str, Any]) -> Q:
    """The conditions as a filter on Customer (an empty filter matches everyone)."""
    q = Q()
    if conditions.get("stages"):
        q &= Q(stage__slug__in=conditions["stages"])
    if conditions.get("phases"):
        q &= Q(stage__phase__in=conditions["phases"])
    if conditions.get("tags_all"):
        q &= Q(tags__contains=conditions["tags_all"])
    if conditions.get("tags_any"):
        q &= Q(tags__overlap=conditions["tags_any"])
    if conditions.get("tags_none"):
        q &= ~Q(tags__overlap=conditions["tags_none"])
    if conditions.get("attributes"):
        q &= Q(attributes__contains=conditions["attributes"])
    owner = conditions.get("owner")
    if owner == OWNER_NONE:
        q &= Q(owner__isnull=True)
    elif owner == OWNER_ANY:
        q &= Q(owner__isnull=False)
    elif owner is not None:
        q &= Q(owner_id=owner)
    if conditions.get("segment") is not None:
        q &= _segment_q(conditions["segment"])
    return q


def conditions_hold(*, conditions: dict[str, Any], customer_id: int) -> bool:
    """Whether the customer matches the conditions now (one query)."""
    return Customer.objects.filter(conditions_q(conditions), pk=customer_id).exists()


def conditions_describe(conditions: dict[str, Any]) -> str:
    """The conditions in words, for lists and for the reason a step was skipped."""
    parts = []
    if conditions.get("stages"):
        parts.append("stage is " + " or ".join(conditions["stages"]))
    if conditions.get("phases"):
        parts.append("phase is " + " or ".join(conditions["phases"]))
    if conditions.get("tags_all"):
        parts.append("tagged " + " and ".join(conditions["tags_all"]))
    if conditions.get("tags_any"):
        parts.append("tagged " + " or ".join(conditions["tags_any"]))
    if conditions.get("tags_none"):
        parts.append("not tagged " + " or ".join(conditions["tags_none"]))
    for key, value in (conditions.get("attributes") or {}).items():
        parts.append(f"{key} = {value!r}")
    owner = conditions.get("owner")
    if owner == OWNER_NONE:
        parts.append("no owner")
    elif owner == OWNER_ANY:
        parts.append("has an owner")
    elif owner is not None:
        parts.append(f"owned by user {owner}")
    if conditions.get("segment") is not None:
        name = Segment.objects.filter(pk=conditions["segment"]).values_list("name", flat=True)
        parts.append(
            f"in segment “{name[0]}”" if name else f"in segment {conditions['segment']} (deleted)"
        )
    return "; ".join(parts) or "every customer"
