"""The customer's timeline: every record about a customer, newest first, in one list.

Apps register a source for each kind of record (stages: transitions; interactions:
interactions, tasks, purchases; surveys: invitations and responses; automation: steps) in
their AppConfig.ready, so this module never imports them. A page costs one UNION query for
the keys plus one query per kind present on the page, however long the history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import CharField, F, Q, QuerySet, Value

from common.exceptions import ApplicationError


@dataclass(frozen=True)
class TimelineSource:
    """One kind of record on the timeline.

    `queryset(customer_id)` gives the customer's records; `time_field` dates them; `load(ids)`
    fetches full records (with whatever they display) by id.
    """

    kind: str
    queryset: Callable[[int], QuerySet[Any]]
    time_field: str
    load: Callable[[Iterable[int]], dict[int, Any]]


@dataclass(frozen=True)
class TimelineEntry:
    kind: str
    at: datetime
    id: int
    record: Any


@dataclass(frozen=True)
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: str | None


_sources: dict[str, TimelineSource] = {}


def timeline_source_register(source: TimelineSource) -> None:
    _sources[source.kind] = source


def timeline_kinds() -> list[str]:
    return sorted(_sources)


_CURSOR_SALT = "customers.timeline.cursor"


def _encode(entry: TimelineEntry) -> str:
    return signing.dumps([entry.at.isoformat(), entry.kind, entry.id], salt=_CURSOR_SALT)


def _decode(cursor: str) -> tuple[datetime, str, int]:
    """A cursor this module made; anything else (tampered, truncated) is a clear error."""
    try:
        at, kind, pk = signing.loads(cursor, salt=_CURSOR_SALT)
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError("naive time")
        return when, str(kind), int(pk)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise ApplicationError("Invalid cursor.", field="cursor") from error


def customer_timeline(
    *,
    customer_id: int,
    cursor: str | None = None,
    limit: int = 50,
    kinds: Iterable[str] | None = None,
) -> TimelinePage:
    """One page of the customer's timeline, newest first; `cursor` continues a previous page.

    Ties in time are ordered by kind then id, so pages never overlap or skip.
    """
    chosen = _sources if kinds is None else kinds
    wanted = [_sources[kind] for kind in sorted(chosen) if kind in _sources]
    if not wanted:
        return TimelinePage(entries=[], next_cursor=None)
    after = _decode(cursor) if cursor else None
    parts = []
    for source in wanted:
        rows = source.queryset(customer_id).annotate(
            tl_at=F(source.time_field), tl_kind=Value(source.kind, output_field=CharField())
        )
        if after is not None:
            at, kind, pk = after
            if source.kind == kind:
                rows = rows.filter(Q(tl_at__lt=at) | Q(tl_at=at, id__lt=pk))
            elif source.kind < kind:
                rows = rows.filter(tl_at__lte=at)
            else:
                rows = rows.filter(tl_at__lt=at)
        parts.append(rows.order_by().values_list("tl_at", "tl_kind", "id"))
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    keys = list(union.order_by("-tl_at", "-tl_kind", "-id")[: limit + 1])
    has_more = len(keys) > limit
    keys = keys[:limit]

    records: dict[str, dict[int, Any]] = {}
    for kind in {kind for _, kind, _ in keys}:
        ids = [pk for _, k, pk in keys if k == kind]
        records[kind] = _sources[kind].load(ids)
    entries = [
        TimelineEntry(kind=kind, at=at, id=pk, record=records[kind].get(pk))
        for at, kind, pk in keys
    ]
    return TimelinePage(
        entries=entries, next_cursor=_encode(entries[-1]) if has_more and entries else None
    )
