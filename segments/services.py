"""Writes for segments: create, update, delete, static list members, freeze; and fixing the
audience of a bulk send (`audience_freeze`).

Every write validates first and raises SegmentInvalidError (an ApplicationError) with each
error keyed by the input at fault: `name`, `kind`, `definition.rules[2].value`...; the API
answers it with a 400 keyed the same way, the dashboard shows it on the form.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import ProtectedError, QuerySet
from django.utils import timezone

from common.exceptions import ApplicationError
from common.validators import text_error
from customers.models import Customer
from segments.definition import DefinitionInvalidError, definition_validate
from segments.models import (
    AudienceSnapshot,
    AudienceSnapshotMember,
    Segment,
    SegmentKind,
    SegmentMember,
)
from segments.selectors import definition_customers, segment_customers, segment_users

MAX_MEMBER_IDS = 10_000  # ids in one add/remove request


class SegmentInvalidError(DefinitionInvalidError):
    """A segment (or a change to one) that fails validation: every error by field path."""


def _validate_name(name: Any, *, exclude_pk: int | None, errors: dict[str, list[str]]) -> str:
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["Give the segment a name."]
        return ""
    name = name.strip()
    unstorable = text_error(name)
    if unstorable:
        errors["name"] = [unstorable]
    elif len(name) > 200:
        errors["name"] = ["A name has at most 200 characters."]
    else:
        taken = Segment.objects.filter(name__iexact=name)
        if exclude_pk is not None:
            taken = taken.exclude(pk=exclude_pk)
        if taken.exists():
            errors["name"] = [f"A segment named {name!r} already exists."]
    return name


def _validate_description(description: Any, errors: dict[str, list[str]]) -> str:
    if description is None:
        return ""
    if not isinstance(description, str) or len(description) > 2000:
        errors["description"] = ["Give a text of at most 2000 characters."]
        return ""
    unstorable = text_error(description)
    if unstorable:
        errors["description"] = [unstorable]
        return ""
    return description.strip()


def _validate_definition(definition: Any, errors: dict[str, list[str]]) -> dict[str, Any]:
    try:
        return definition_validate(definition)
    except DefinitionInvalidError as error:
        errors.update(error.errors)
        return {}


@transaction.atomic
def segment_create(
    *,
    name: str,
    kind: str = SegmentKind.DYNAMIC,
    definition: Any = None,
    description: str = "",
    created_by: User | None = None,
) -> Segment:
    """A new segment. A dynamic one needs a valid definition; a static one starts empty."""
    errors: dict[str, list[str]] = {}
    clean_name = _validate_name(name, exclude_pk=None, errors=errors)
    clean_description = _validate_description(description, errors)
    clean_definition: dict[str, Any] = {}
    if kind not in SegmentKind.values:
        errors["kind"] = [f"Unknown kind {kind!r}; use {', '.join(SegmentKind.values)}."]
    elif kind == SegmentKind.DYNAMIC:
        clean_definition = _validate_definition(definition, errors)
    elif definition not in (None, "", {}):
        errors["definition"] = ["A static list has no definition: add members instead."]
    if errors:
        raise SegmentInvalidError(errors)
    return Segment.objects.create(
        name=clean_name,
        kind=kind,
        definition=clean_definition,
        description=clean_description,
        created_by=created_by,
    )


@transaction.atomic
def segment_update(*, segment: Segment, data: dict[str, Any]) -> Segment:
    """Change name, description and (dynamic segments) definition; the kind is fixed."""
    errors: dict[str, list[str]] = {}
    unknown = set(data) - {"name", "description", "definition", "kind"}
    if unknown:
        errors["non_field_errors"] = [f"Unknown fields: {', '.join(sorted(unknown))}."]
    if "kind" in data and data["kind"] != segment.kind:
        errors["kind"] = ["The kind of a segment cannot change; freeze a dynamic one instead."]
    changes: dict[str, Any] = {}
    if "name" in data:
        changes["name"] = _validate_name(data["name"], exclude_pk=segment.pk, errors=errors)
    if "description" in data:
        changes["description"] = _validate_description(data["description"], errors)
    if "definition" in data:
        if segment.is_dynamic:
            changes["definition"] = _validate_definition(data["definition"], errors)
        elif data["definition"] not in (None, "", {}):
            errors["definition"] = ["A static list has no definition: add members instead."]
    if errors:
        raise SegmentInvalidError(errors)
    for field, value in changes.items():
        setattr(segment, field, value)
    if changes:
        segment.save(update_fields=[*changes, "updated_at"])
    return segment


class SegmentInUseError(ApplicationError):
    """A segment that rules, campaigns or running bulk sends still use: it cannot go."""


@transaction.atomic
def segment_delete(*, segment: Segment) -> None:
    """Delete a segment (and a static list's memberships; the customers stay).

    Refused with SegmentInUseError (on `segment`, naming them) while an automation rule's
    conditions, a campaign or a bulk survey send in progress uses it. The segment's row is
    locked first; saving a rule or starting a bulk send on the segment takes the same lock,
    so neither can slip in between the check and the delete.
    """
    locked = Segment.objects.select_for_update().filter(pk=segment.pk).first()
    if locked is None:
        return
    users = segment_users(locked)
    if users:
        listed = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in users.items())
        raise SegmentInUseError(
            f"The segment “{locked.name}” is in use ({listed}). Change or delete those first.",
            field="segment",
        )
    try:
        locked.delete()
    except ProtectedError as exc:  # a campaign chose it since the check above
        raise SegmentInUseError(
            f"The segment “{locked.name}” is in use by a campaign.", field="segment"
        ) from exc


def _require_static(segment: Segment) -> None:
    if segment.is_dynamic:
        raise SegmentInvalidError(
            {"segment": ["Members are added to static lists only; a dynamic segment is its rules."]}
        )


def _clean_ids(customer_ids: Any) -> list[int]:
    if (
        not isinstance(customer_ids, Iterable)
        or isinstance(customer_ids, str | bytes | dict)
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in customer_ids)
    ):
        raise SegmentInvalidError({"customer_ids": ["Give a list of customer ids."]})
    ids = list(dict.fromkeys(customer_ids))
    if len(ids) > MAX_MEMBER_IDS:
        raise SegmentInvalidError(
            {"customer_ids": [f"Give at most {MAX_MEMBER_IDS} ids at a time."]}
        )
    return ids


def _insert_members_from(segment: Segment, customers: Any) -> int:
    """INSERT … SELECT: the matching customers become members in one statement."""
    sql, params = customers.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SegmentMember._meta.db_table} (segment_id, customer_id, added_at) "  # noqa: S608 - sql is Django's compiled query
            f"SELECT %s, matching.customer_id, %s FROM ({sql}) AS matching (customer_id) "
            "ON CONFLICT (segment_id, customer_id) DO NOTHING",
            [segment.pk, timezone.now(), *params],
        )
        return cursor.rowcount


@transaction.atomic
def segment_members_add(
    *,
    segment: Segment,
    customer_ids: Any = None,
    definition: Any = None,
    source: Segment | None = None,
) -> int:
    """Add customers to a static list: by ids, everyone matching `definition` now, or everyone
    in the `source` segment now. Customers already on the list stay as they were; unknown ids
    are a 400 on `customer_ids`. Returns how many were added."""
    _require_static(segment)
    given = [x for x in (customer_ids, definition, source) if x is not None]
    if len(given) != 1:
        raise SegmentInvalidError(
            {"non_field_errors": ["Give exactly one of customer_ids, definition or segment."]}
        )
    if customer_ids is not None:
        ids = _clean_ids(customer_ids)
        found = set(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True))
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            raise SegmentInvalidError(
                {"customer_ids": [f"Unknown customers: {', '.join(missing[:20])}."]}
            )
        return _insert_members_from(segment, Customer.objects.filter(pk__in=ids))
    if definition is not None:
        return _insert_members_from(segment, definition_customers(definition))
    assert source is not None
    return _insert_members_from(segment, segment_customers(source))


@transaction.atomic
def segment_members_remove(*, segment: Segment, customer_ids: Any) -> int:
    """Take customers off a static list; returns how many were on it."""
    _require_static(segment)
    ids = _clean_ids(customer_ids)
    deleted, _ = SegmentMember.objects.filter(segment=segment, customer_id__in=ids).delete()
    return deleted


@transaction.atomic
def segment_freeze(
    *, segment: Segment, name: str, created_by: User | None = None, description: str = ""
) -> Segment:
    """A new static list holding the customers the segment has right now."""
    frozen = segment_create(
        name=name,
        kind=SegmentKind.STATIC,
        description=description or f"Members of “{segment.name}” on {timezone.now():%Y-%m-%d}.",
        created_by=created_by,
    )
    _insert_members_from(frozen, segment_customers(segment))
    return frozen


@transaction.atomic
def audience_freeze(
    *, customers: QuerySet[Customer], at: datetime | None = None
) -> AudienceSnapshot:
    """Fix `customers` as the audience of a send: a new snapshot holding their ids now.

    One INSERT … SELECT copies the ids inside the database (a million customers never pass
    through Python), in the caller's transaction: the send and the audience it was confirmed
    for commit together or not at all. The snapshot's `total` is the number of customers fixed.
    """
    snapshot = AudienceSnapshot.objects.create(frozen_at=at or timezone.now())
    sql, params = customers.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {AudienceSnapshotMember._meta.db_table} (snapshot_id, customer_id) "  # noqa: S608 - sql is Django's compiled query
            f"SELECT %s, matching.customer_id FROM ({sql}) AS matching (customer_id) "
            # In key order, the primary key's index grows at its right edge.
            "ORDER BY matching.customer_id ON CONFLICT (snapshot_id, customer_id) DO NOTHING",
            [snapshot.pk, *params],
        )
        snapshot.total = cursor.rowcount
    snapshot.save(update_fields=["total"])
    return snapshot
