"""Reads for segments: who is in a segment, how many, and a preview of a definition.

Integration point for the other apps: **`segment_customers(segment)`** is how campaigns,
automations, bulk survey sends and exports get a segment's customers. It returns a lazy
QuerySet[Customer] built as ONE SQL query (a dynamic segment's definition compiled to joins,
EXISTS and IN-subqueries; a static list as an IN over its members), so callers may
`.count()`, `.filter()`, `.values_list("pk", flat=True)`, `.iterator(chunk_size=...)` or
use it as a subquery (`Customer.objects.filter(pk__in=segment_customers(s).values("pk"))`)
without loading anyone into Python. A dynamic segment is evaluated when the query runs:
relative dates ("within 30 days") count from that moment.

A bulk send does not evaluate its audience as it goes: it fixes it once
(`segments.services.audience_freeze`) and walks the snapshot with **`audience_chunk`**.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet

from customers.models import Customer
from segments.definition import definition_q
from segments.models import AudienceSnapshotMember, Segment, SegmentMember

PREVIEW_LIMIT = 20
# How old a count on the segment list may be: a dynamic segment's COUNT on a million customers
# takes a few hundred milliseconds, and the list holds every segment.
LIST_COUNT_MAX_AGE = 5 * 60


def segment_list() -> QuerySet[Segment]:
    return Segment.objects.select_related("created_by")


def definition_customers(definition: Any) -> QuerySet[Customer]:
    """Customers matching `definition` now (DefinitionInvalidError if it is not valid)."""
    return Customer.objects.filter(definition_q(definition))


def segment_customers(segment: Segment) -> QuerySet[Customer]:
    """The segment's customers: whoever matches a dynamic segment, the members of a static one.

    Ordered newest first (by id), like every customer list; one query whatever the rules.
    """
    if segment.is_dynamic:
        return definition_customers(segment.definition)
    members = SegmentMember.objects.filter(segment_id=segment.pk).values("customer_id")
    return Customer.objects.filter(pk__in=members)


def segment_count(segment: Segment) -> int:
    """How many customers are in the segment now (one COUNT)."""
    return segment_customers(segment).count()


def segment_count_recent(segment: Segment, *, max_age: int = LIST_COUNT_MAX_AGE) -> int:
    """The segment's count, at most `max_age` seconds old, for pages that list many segments.

    A dynamic segment's count is kept in the cache under its id and last edit, so an edited
    definition is counted afresh; a static list is counted live (an index lookup).
    """
    if not segment.is_dynamic:
        return segment_count(segment)
    key = f"segment-count:{segment.pk}:{segment.updated_at.timestamp()}"
    count = cache.get(key)
    if count is None:
        count = segment_count(segment)
        cache.set(key, count, max_age)
    return count


def definition_preview(
    definition: Any, *, limit: int = PREVIEW_LIMIT
) -> tuple[int, list[Customer]]:
    """How many customers `definition` matches and the first `limit` of them (newest first).

    Used by the editor's Preview and the API's preview; nothing is saved.
    """
    customers = definition_customers(definition)
    first = list(customers.select_related("stage", "owner").order_by("-id")[:limit])
    count = len(first) if len(first) < limit else customers.count()
    return count, first


def segment_preview(segment: Segment, *, limit: int = PREVIEW_LIMIT) -> tuple[int, list[Customer]]:
    customers = segment_customers(segment)
    first = list(customers.select_related("stage", "owner").order_by("-id")[:limit])
    count = len(first) if len(first) < limit else customers.count()
    return count, first


def segment_users(segment: Segment) -> dict[str, list[str]]:
    """What depends on the segment right now, by kind: the automation rules whose conditions
    name it, the campaigns that target it, and the bulk survey sends still working through it.

    Deleting a segment any of these use is refused (segments.services.segment_delete). The
    other apps depend on segments, not the reverse: their models are imported here, locally.
    """
    from automation.models import Rule
    from campaigns.models import Campaign
    from surveys.models import SurveyBatch

    rules = Rule.objects.filter(conditions__segment=segment.pk).order_by("name", "id")
    campaigns = Campaign.objects.filter(segment=segment).order_by("name", "id")
    sending = SurveyBatch.objects.filter(segment=segment).exclude(
        state__in=[SurveyBatch.State.DONE, SurveyBatch.State.FAILED]
    )
    users = {
        "automation rules": [f"“{name}”" for name in rules.values_list("name", flat=True)],
        "campaigns": [f"“{name}”" for name in campaigns.values_list("name", flat=True)],
        "bulk survey sends in progress": [
            f"#{pk}" for pk in sending.order_by("pk").values_list("pk", flat=True)
        ],
    }
    return {kind: names for kind, names in users.items() if names}


@dataclass(frozen=True)
class AudienceChunk:
    """The next part of a fixed audience: `customer_ids` still exist (in id order), `walked`
    ids of the snapshot it covers (customers deleted since included), `last_id` the cursor
    to continue after."""

    customer_ids: list[int]
    walked: int
    last_id: int


def audience_chunk(*, snapshot_id: int, after: int, size: int) -> AudienceChunk | None:
    """The next `size` customers of a snapshot after the id `after`, or None at its end.

    Customers deleted since the audience was fixed are walked past and left out of
    `customer_ids`; consent and the like are the sender's to check at send time.
    """
    window = list(
        AudienceSnapshotMember.objects.filter(snapshot_id=snapshot_id, customer_id__gt=after)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)[:size]
    )
    if not window:
        return None
    existing = set(Customer.objects.filter(pk__in=window).values_list("pk", flat=True))
    return AudienceChunk(
        customer_ids=[pk for pk in window if pk in existing],
        walked=len(window),
        last_id=window[-1],
    )
