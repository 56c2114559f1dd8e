"""Reads of the flywheel numbers: one function per metric, defined in docs/metrics.md.

Every selector takes keyword-only arguments and returns plain dataclasses, so the API, the
CSV export and the dashboard pages render the same numbers:

- `start`, `end`: the period, two dates, both included; days are UTC days.
- `granularity`: "day", "week" (ISO weeks, from Monday) or "month", for series; a bucket is
  named by its first day and counts only the days of the period inside it.
- `segment` (a `segments.Segment`) or `owner` (a user): only those customers — the segment's
  customers as it stands now (`segments.selectors.segment_customers`), the owner's customers
  now (`Customer.owner`).

Where a number is additive and unfiltered it is read from the rollups (`analytics.models`,
rollup + pending deltas in one statement). Rollups are not kept per customer, so with a
`segment` or an `owner` the same numbers are computed from the raw records, with queries on
their indexes (transitions by customer and time, interactions by customer and time, answers
by customer and time). Velocity reads duration histograms (additive) and takes percentiles
from them. Loop completion counts distinct customers over any period: for everyone it reads
a rollup of Delight entries, exits and loop events reduced to days
(`analytics.rollups.loop_keys_sql`). Lifetime value is computed from the raw records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from accounts.roles import ROLES
from analytics.models import (
    EffectDay,
    EffectDelta,
    EffectMonth,
    EffectMonthDelta,
    EffectStageDay,
    EffectStageDelta,
    LoopDay,
    LoopDelta,
    NewCustomerDay,
    NewCustomerDelta,
    OpenTaskDay,
    OpenTaskDelta,
    OpenTaskDueDay,
    OpenTaskDueDelta,
    StayDay,
    StayDelta,
    StayMonth,
    StayMonthDelta,
    SurveyDay,
    SurveyDelta,
    SurveyKindDay,
    SurveyKindDelta,
    SurveyMonth,
    SurveyMonthDelta,
    TransitionDay,
    TransitionDelta,
    UnsubscribeDay,
    UnsubscribeDelta,
)
from analytics.rollups import ROLLUPS, STAGE_AT, UNSUBSCRIBE_METHODS, stage_at_joins
from customers.models import Customer
from interactions.models import Effect, Purchase, Task, TaskState
from stages.models import Direction, Phase, Stage, StageTransition
from surveys.models import Response
from surveys.scoring import score_summary

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from segments.models import Segment

GRANULARITIES = ("day", "week", "month")
FROM_TO = ("from_stage_id", "to_stage_id")
NO_TEAM = "none"


# --- periods and buckets --------------------------------------------------------------------


def bucket_of(day: date, granularity: str) -> date:
    """The first day of the bucket holding `day`."""
    if granularity == "day":
        return day
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    raise ValueError(f"Unknown granularity {granularity!r}.")


# `bucket_of` in SQL, for a `date` column: plain date arithmetic. (`date_trunc` has no date
# variant: it takes the date as a timestamp with time zone and truncates in the session's time
# zone, which costs twice as much per row.) 0001-01-01 was a Monday, so a day's distance from
# it modulo 7 is its distance from its week's Monday.
BUCKET_SQL = {
    "day": "{day}",
    "week": "({day} - mod({day} - DATE '0001-01-01', 7))",
    "month": "({day} - (date_part('day', {day})::int - 1))",
}


def bucket_sql(column: str, granularity: str) -> str:
    """The first day of the bucket holding the date column `column` (our own names only)."""
    if granularity not in BUCKET_SQL:
        raise ValueError(f"Unknown granularity {granularity!r}.")
    return BUCKET_SQL[granularity].format(day=column)


def buckets(*, start: date, end: date, granularity: str) -> list[date]:
    """Every bucket of the period, in order (the first may begin before `start`)."""
    result: list[date] = []
    bucket = bucket_of(start, granularity)
    while bucket <= end:
        result.append(bucket)
        if granularity == "month":
            bucket = _next_month(bucket)
        else:
            bucket += timedelta(days=7 if granularity == "week" else 1)
    return result


def _moment(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def filtered_customers(
    segment: Segment | None, owner: AbstractBaseUser | None
) -> QuerySet[Customer] | None:
    """The customers the numbers are restricted to, or None for everyone (rollups serve)."""
    if segment is None and owner is None:
        return None
    customers = Customer.objects.all()
    if segment is not None:
        from segments.selectors import segment_customers

        customers = customers.filter(pk__in=segment_customers(segment).order_by().values("pk"))
    if owner is not None:
        customers = customers.filter(owner_id=owner.pk)
    return customers.order_by()


def _stages() -> dict[int, Stage]:
    return {stage.pk: stage for stage in Stage.objects.all()}


def _merge(
    rows: Iterable[dict[str, Any]],
    keys: tuple[str, ...],
    values: tuple[str, ...],
    granularity: str = "day",
):
    """Sum `values` over rows with the same `keys`, a "day" key taken to the first day of
    its bucket (as `_rollup` does in the database)."""
    merged: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * len(values))
    bucketed = granularity != "day" and "day" in keys
    for row in rows:
        if bucketed:
            row = {**row, "day": bucket_of(row["day"], granularity)}
        sums = merged[tuple(row[k] for k in keys)]
        for index, value in enumerate(values):
            sums[index] += row[value] or 0
    return {key: sums for key, sums in merged.items() if any(sums)}


_DAY_FILTERS = {
    "day__gte": "day >= %s",
    "day__lte": "day <= %s",
    "month__gte": "month >= %s",
    "month__lte": "month <= %s",
}


def _sums_by_key(query: str, params: list[Any], *, width: int) -> dict[tuple[Any, ...], list[int]]:
    """Run a grouped statement whose first `width` columns are the key and the rest sums
    (`SUM(…)::bigint`, never NULL: a group has rows): {key: [sums]}, keys whose sums are all
    zero left out. A year by week is thousands of rows, so nothing more per row."""
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return {row[:width]: list(sums) for row in cursor.fetchall() if any(sums := row[width:])}


def _rollup(
    rollup: type[models.Model],
    delta: type[models.Model],
    *,
    keys: tuple[str, ...],
    values: tuple[str, ...],
    granularity: str = "day",
    **filters: Any,
) -> dict[tuple[Any, ...], list[int]]:
    """Σ values per key over rollup + pending deltas, read in ONE statement (one snapshot:
    a concurrent fold moves rows from one side to the other without changing the sum),
    grouped by the database so that only one row per key comes back. `keys` and `values`
    are column names of the models (never user input); `filters` bound the day. With a
    `granularity`, the "day" key is the first day of its bucket (summed in the database)."""
    conditions = [_DAY_FILTERS[name] for name in filters] or ["TRUE"]
    where = " AND ".join(conditions)
    columns = ", ".join(keys + values)
    sums = ", ".join(f"SUM({value})::bigint" for value in values)  # ints, not Decimals
    day = bucket_sql("day", granularity)
    selected = ", ".join(day if key == "day" else key for key in keys)
    group = ", ".join(str(position) for position in range(1, len(keys) + 1))
    query = f"""
        SELECT {selected}, {sums} FROM (
            SELECT {columns} FROM {rollup._meta.db_table} WHERE {where}
            UNION ALL
            SELECT {columns} FROM {delta._meta.db_table} WHERE {where}
        ) AS x
        GROUP BY {group}
    """  # noqa: S608 - names are the models' own; values are bound
    return _sums_by_key(query, list(filters.values()) * 2, width=len(keys))


def _day_filter(start: date | None, end: date | None) -> dict[str, date]:
    filters: dict[str, date] = {}
    if start is not None:
        filters["day__gte"] = start
    if end is not None:
        filters["day__lte"] = end
    return filters


def _time_filter(field: str, start: date | None, end: date | None) -> Q:
    q = Q()
    if start is not None:
        q &= Q(**{f"{field}__gte": _moment(start)})
    if end is not None:
        q &= Q(**{f"{field}__lt": _moment(end + timedelta(days=1))})
    return q


def _utc_day(field: str) -> TruncDate:
    return TruncDate(field, tzinfo=UTC)


# --- transitions: the raw material of counts, flow and conversion ---------------------------


def _transitions(
    *,
    start: date | None,
    end: date | None,
    customers: QuerySet[Customer] | None,
    keys: tuple[str, ...],
    granularity: str = "day",
) -> dict[tuple[Any, ...], list[int]]:
    """{key: [moves]} for the days given, `keys` among day (the first of its bucket),
    from_stage_id, to_stage_id and direction (grouped by the database: only as many rows as
    distinct keys come back)."""
    if customers is None:
        return _rollup(
            TransitionDay,
            TransitionDelta,
            keys=keys,
            values=("transitions",),
            granularity=granularity,
            **_day_filter(start, end),
        )
    rows = (
        StageTransition.objects.filter(
            _time_filter("occurred_at", start, end), customer__in=customers.values("pk")
        )
        .annotate(day=_utc_day("occurred_at"))
        .values(*keys)
        .annotate(transitions=Count("pk"))
        .order_by()
    )
    return _merge(rows, keys, ("transitions",), granularity)


@dataclass(frozen=True)
class StageCount:
    """Customers in a stage at the end of a bucket, and its entries and exits in the bucket."""

    bucket: date
    stage: str
    phase: str
    customers: int
    entries: int
    exits: int


def stage_counts_over_time(
    *,
    start: date,
    end: date,
    granularity: str,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
) -> list[StageCount]:
    """Per bucket and stage: customers in the stage at the end of the bucket's last day in
    the period, entries into it and exits from it during the bucket.

    customers(stage, day) = Σ entries - Σ exits of every day up to it (a customer's chain of
    transitions ends in their current stage, so at the end of today it is the count now).
    """
    customers = filtered_customers(segment, owner)
    return [
        StageCount(bucket, stage.slug, stage.phase, balance, came, left)
        for bucket, stage, balance, came, left in _stage_balances(
            start=start,
            end=end,
            granularity=granularity,
            customers=customers,
            stages=_stages(),
            moves=_bucket_moves(start=start, end=end, granularity=granularity, customers=customers),
        )
        if not stage.is_archived or balance or came or left
    ]


def _bucket_moves(
    *, start: date, end: date, granularity: str, customers: QuerySet[Customer] | None
) -> dict[tuple[Any, ...], list[int]]:
    """{(bucket, from_stage_id, to_stage_id): [moves]} of the period."""
    return _transitions(
        start=start, end=end, customers=customers, keys=("day", *FROM_TO), granularity=granularity
    )


def _stage_balances(
    *,
    start: date,
    end: date,
    granularity: str,
    customers: QuerySet[Customer] | None,
    stages: dict[int, Stage],
    moves: dict[tuple[Any, ...], list[int]],
) -> Iterator[tuple[date, Stage, int, int, int]]:
    """(bucket, stage, customers in it at the bucket's end, entries, exits) for every bucket
    of the period and every stage, in order."""
    balance: dict[int, int] = defaultdict(int)
    for (from_id, to_id), (n,) in _transitions(
        start=None, end=start - timedelta(days=1), customers=customers, keys=FROM_TO
    ).items():
        balance[to_id] += n
        if from_id is not None:
            balance[from_id] -= n
    entries: dict[tuple[date, int], int] = defaultdict(int)
    exits: dict[tuple[date, int], int] = defaultdict(int)
    for (bucket, from_id, to_id), (n,) in moves.items():
        entries[(bucket, to_id)] += n
        if from_id is not None:
            exits[(bucket, from_id)] += n
    for bucket in buckets(start=start, end=end, granularity=granularity):
        for stage_id, stage in stages.items():
            came, left = entries.get((bucket, stage_id), 0), exits.get((bucket, stage_id), 0)
            balance[stage_id] += came - left
            yield bucket, stage, balance[stage_id], came, left


@dataclass(frozen=True)
class PhaseCount:
    """Customers in a phase at the end of a bucket, and moves into and out of the phase."""

    bucket: date
    phase: str
    customers: int
    entries: int
    exits: int


def phase_counts_over_time(
    *,
    start: date,
    end: date,
    granularity: str,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
) -> list[PhaseCount]:
    """Per bucket and phase: customers in the phase's stages at the end of the bucket, and the
    moves that crossed into and out of the phase (a move between two of its stages is
    neither); a stage's phase is its phase now."""
    customers = filtered_customers(segment, owner)
    stages = _stages()
    moves = _bucket_moves(start=start, end=end, granularity=granularity, customers=customers)
    phases = tuple(Phase.values)
    counts: dict[tuple[date, str], int] = defaultdict(int)
    for bucket, stage, balance, _, _ in _stage_balances(
        start=start,
        end=end,
        granularity=granularity,
        customers=customers,
        stages=stages,
        moves=moves,
    ):
        counts[(bucket, stage.phase)] += balance
    entries: dict[tuple[date, str], int] = defaultdict(int)
    exits: dict[tuple[date, str], int] = defaultdict(int)
    for (bucket, from_id, to_id), (n,) in moves.items():
        to_phase = stages[to_id].phase
        from_phase = stages[from_id].phase if from_id is not None else None
        if from_phase == to_phase:
            continue
        entries[(bucket, to_phase)] += n
        if from_phase is not None:
            exits[(bucket, from_phase)] += n
    return [
        PhaseCount(
            bucket, phase, counts[(bucket, phase)], entries[(bucket, phase)], exits[(bucket, phase)]
        )
        for bucket in buckets(start=start, end=end, granularity=granularity)
        for phase in phases
    ]


@dataclass(frozen=True)
class TransitionCell:
    """Moves from one stage to another in one direction during the period (`from_stage`
    empty: customers created in `to_stage`)."""

    from_stage: str | None
    to_stage: str
    direction: str
    transitions: int


def transition_matrix(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
) -> list[TransitionCell]:
    """Every (from, to, direction) with at least one move in the period, entries first, then
    by the stages' positions."""
    stages = _stages()
    totals: dict[tuple[int | None, int, str], int] = defaultdict(int)
    for (from_id, to_id, direction), (n,) in _transitions(
        start=start,
        end=end,
        customers=filtered_customers(segment, owner),
        keys=(*FROM_TO, "direction"),
    ).items():
        totals[(from_id, to_id, direction)] += n

    def order(key: tuple[int | None, int, str]) -> tuple[Any, ...]:
        from_id, to_id, direction = key
        source = stages[from_id] if from_id is not None else None
        return (
            source is not None,
            (source.position, source.pk) if source else (0, 0),
            (stages[to_id].position, to_id),
            direction,
        )

    return [
        TransitionCell(
            stages[key[0]].slug if key[0] is not None else None,
            stages[key[1]].slug,
            key[2],
            n,
        )
        for key, n in sorted(totals.items(), key=lambda item: order(item[0]))
        if n
    ]


NEXT_PHASE: dict[str, str] = {"attract": "engage", "engage": "delight"}


@dataclass(frozen=True)
class PhaseConversion:
    """How much of a phase's population moved on during the period."""

    phase: str
    to: str
    at_start: int
    entered: int
    converted: int
    rate: float | None


def phase_conversion(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
) -> list[PhaseConversion]:
    """Per phase: converted ÷ (customers in the phase at the start of the period + moves into
    it from elsewhere during the period, entries included).

    Converted = moves during the period out of the phase into a later phase (Attract →
    Engage or Delight, Engage → Delight), and for Delight the new cycles (Delight → Attract
    or Engage: the wheel went round). Counted in moves, not distinct customers: a customer
    who entered a phase twice in the period is two chances to convert.
    """
    customers = filtered_customers(segment, owner)
    stages = _stages()
    order: dict[str, int] = {Phase.ATTRACT: 0, Phase.ENGAGE: 1, Phase.DELIGHT: 2}
    at_start: dict[str, int] = defaultdict(int)
    for (from_id, to_id), (n,) in _transitions(
        start=None, end=start - timedelta(days=1), customers=customers, keys=FROM_TO
    ).items():
        at_start[stages[to_id].phase] += n
        if from_id is not None:
            at_start[stages[from_id].phase] -= n
    entered: dict[str, int] = defaultdict(int)
    converted: dict[str, int] = defaultdict(int)
    for (from_id, to_id, direction), (n,) in _transitions(
        start=start, end=end, customers=customers, keys=(*FROM_TO, "direction")
    ).items():
        to_phase = stages[to_id].phase
        from_phase = stages[from_id].phase if from_id is not None else None
        if from_phase == to_phase:
            continue
        entered[to_phase] += n
        if from_phase is None:
            continue
        if direction == Direction.NEW_CYCLE or order[to_phase] > order[from_phase]:
            converted[from_phase] += n
    result = []
    for phase in Phase.values:
        base = at_start[phase] + entered[phase]
        result.append(
            PhaseConversion(
                phase,
                NEXT_PHASE.get(phase, "new_cycle"),
                at_start[phase],
                entered[phase],
                converted[phase],
                round(converted[phase] / base, 4) if base else None,
            )
        )
    return result


# --- velocity ---------------------------------------------------------------------------------


STAY_BUCKET_BASE = 1.02


def _bucket_seconds(bucket: int) -> float:
    """The duration a stay bucket stands for: the geometric middle of its 2% span (within
    1% of every duration in it), 0 for stays under a second."""
    return 0.0 if bucket < 0 else STAY_BUCKET_BASE ** (bucket + 0.5)


@dataclass(frozen=True)
class StageVelocity:
    """How long stays in a stage lasted, over the stays that ended in the period."""

    stage: str
    phase: str
    stays: int
    median_seconds: float | None
    p90_seconds: float | None
    mean_seconds: float | None


def _stays_sql(
    *, start: date, end: date, customers: QuerySet[Customer] | None
) -> tuple[str, list[Any]]:
    """A statement giving (stage_id, bucket, stays, seconds) per stage and duration bucket
    of the stays that ended in the period, and its parameters: for everyone from the stay
    rollups (whole months from `StayMonth`, the other days from `StayDay`), for some
    customers from their chains of transitions."""
    if customers is None:
        return _by_month_sql(
            (StayDay, StayDelta),
            (StayMonth, StayMonthDelta),
            start=start,
            end=end,
            keys=("stage_id", "bucket"),
            values=("stays", "seconds"),
        )
    sql, extra = customers.values("pk").query.sql_with_params()
    query = f"""
        SELECT stage_id, analytics_stay_bucket(seconds), COUNT(*), SUM(floor(seconds))::bigint
        FROM (
            SELECT occurred_at, LAG(to_stage_id) OVER chain AS stage_id,
                   EXTRACT(EPOCH FROM occurred_at - LAG(occurred_at) OVER chain) AS seconds
            FROM stages_stagetransition
            WHERE customer_id IN ({sql}) AND occurred_at < %s
            WINDOW chain AS (PARTITION BY customer_id ORDER BY occurred_at, id)
        ) AS stay
        WHERE stage_id IS NOT NULL AND occurred_at >= %s
        GROUP BY 1, 2
    """  # noqa: S608 - sql is Django's compiled query; values are bound
    return query, [*extra, _moment(end + timedelta(days=1)), _moment(start)]


def stage_velocity(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
) -> list[StageVelocity]:
    """Per stage: the median, 90th percentile and mean time spent in it, over the stays that
    ended in the period (a stay runs from a transition into the stage to the customer's next
    transition, and ends with that one).

    Percentiles are nearest-rank (the smallest duration at least that share of the stays
    lasted at most), read from the 2%-wide duration buckets of the stay rollup: within 1% of
    the exact value. The mean is exact to the second. Seconds, or empty without stays.

    The database sums the histogram and walks it (a running total per stage, in exact
    numeric arithmetic for the ranks), so one row per stage comes back, not the thousands
    of (stage, bucket) rows of a busy period.
    """
    histogram, params = _stays_sql(
        start=start, end=end, customers=filtered_customers(segment, owner)
    )
    query = f"""
        WITH histogram (stage_id, bucket, stays, seconds) AS ({histogram}),
        walked AS (
            SELECT stage_id, bucket, SUM(stays) OVER running AS seen,
                   SUM(stays) OVER whole AS total, SUM(seconds) OVER whole AS seconds
            FROM histogram WHERE stays <> 0
            WINDOW whole AS (PARTITION BY stage_id), running AS (whole ORDER BY bucket)
        )
        SELECT stage_id, total, seconds,
               MIN(bucket) FILTER (WHERE seen >= GREATEST(1, CEIL(0.5 * total))),
               MIN(bucket) FILTER (WHERE seen >= GREATEST(1, CEIL(0.9 * total)))
        FROM walked GROUP BY 1, 2, 3
    """  # noqa: S608 - the histogram's own SQL; values are bound
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        found = {row[0]: row[1:] for row in cursor.fetchall()}
    result = []
    for stage in _stages().values():
        stays, seconds, median, p90 = found.get(stage.pk, (0, 0, None, None))
        if stage.is_archived and not stays:
            continue
        count = int(stays)
        result.append(
            StageVelocity(
                stage.slug,
                stage.phase,
                count,
                None if median is None else round(_bucket_seconds(median)),
                None if p90 is None else round(_bucket_seconds(p90)),
                round(int(seconds) / count) if count else None,
            )
        )
    return result


# --- force, friction and momentum ---------------------------------------------------------


def _user_teams(user_ids: Iterable[int | None]) -> dict[int | None, str]:
    """The team of each user: their role now (the first of ROLES they hold), else "none"."""
    ids = {pk for pk in user_ids if pk is not None}
    teams: dict[int | None, str] = {None: NO_TEAM}
    rank = {role: index for index, role in enumerate(ROLES)}
    memberships = (
        get_user_model()
        .objects.filter(pk__in=ids, groups__name__in=ROLES)
        .values_list("pk", "groups__name")
    )
    for pk in ids:
        teams[pk] = NO_TEAM
    best: dict[int | None, str] = {}
    for pk, role in memberships:
        if pk not in best or rank[role] < rank[best[pk]]:
            best[pk] = role
    teams.update(best)
    return teams


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _month_plan(start: date, end: date) -> tuple[date, date]:
    """The calendar months [first, after) a period reads from a monthly rollup (first ≥
    after: none), chosen to read the fewest daily rows besides: the days of the period
    outside those months are added, the days of those months outside the period taken away.

    A month at either edge is read whole when fewer of its days lie outside the period than
    inside: a period ending today reads this month whole, less its days after today (none),
    instead of every day of it so far.
    """
    after_end = end + timedelta(days=1)
    days = (after_end - start).days

    def cost(first: date, after: date) -> int:
        if first >= after:
            return days
        inside = (min(after, after_end) - max(first, start)).days
        return days + (after - first).days - 2 * max(inside, 0)

    plans = [
        (first, after)
        for first in (start.replace(day=1), _next_month(start))
        for after in (end.replace(day=1), _next_month(end))
    ]
    return min(plans, key=lambda plan: (cost(*plan), plan[0] >= plan[1]))


def _by_month_sql(
    days: tuple[type[models.Model], type[models.Model]],
    months: tuple[type[models.Model], type[models.Model]],
    *,
    start: date,
    end: date,
    keys: tuple[str, ...],
    values: tuple[str, ...],
) -> tuple[str, list[Any]]:
    """The statement behind `_by_month` and its parameters: one row per key, Σ values over
    the months of `_month_plan`, plus the period's days outside them, minus their days
    outside the period (each range its own scan, so that the index alone serves it)."""
    after_end = end + timedelta(days=1)
    first, after = _month_plan(start, end)
    if first >= after:
        ranges = [(1, "day", start, after_end)]
    else:
        ranges = [(1, "month", first, after)]
        for sign, since, until in (
            (1, start, min(first, after_end)),
            (1, max(after, start), after_end),
            (-1, first, min(start, after)),
            (-1, max(after_end, first), after),
        ):
            if since < until:
                ranges.append((sign, "day", since, until))
    parts: list[str] = []
    params: list[Any] = []
    for sign, column, since, until in ranges:
        signed = ", ".join(value if sign > 0 else f"-{value}" for value in values)
        for model in days if column == "day" else months:
            table = model._meta.db_table
            parts.append(
                f"SELECT {', '.join(keys)}, {signed} FROM {table} "  # noqa: S608 - our names
                f"WHERE {column} >= %s AND {column} < %s"
            )
            params += [since, until]
    sums = ", ".join(f"SUM({value})::bigint" for value in values)  # ints, not Decimals
    group = ", ".join(str(position) for position in range(1, len(keys) + 1))
    query = f"""
        SELECT {", ".join(keys)}, {sums} FROM (
            {" UNION ALL ".join(parts)}
        ) AS x ({", ".join(keys + values)})
        GROUP BY {group}
    """  # noqa: S608 - names are the models' own; values are bound
    return query, params


def _by_month(
    days: tuple[type[models.Model], type[models.Model]],
    months: tuple[type[models.Model], type[models.Model]],
    *,
    start: date,
    end: date,
    keys: tuple[str, ...],
    values: tuple[str, ...],
) -> dict[tuple[Any, ...], list[int]]:
    """A rollup kept per day and per month, for a period: the months `_month_plan` picks
    from the monthly one, the days that correct them from the daily one (a year reads 12 or
    13 monthly rows per key and a few days, not 365 daily rows). One statement (one
    snapshot), grouped by the database."""
    query, params = _by_month_sql(days, months, start=start, end=end, keys=keys, values=values)
    return _sums_by_key(query, params, width=len(keys))


def _effects_by_month(
    *, start: date, end: date, keys: tuple[str, ...], values: tuple[str, ...]
) -> dict[tuple[Any, ...], list[int]]:
    """The user-level effect rollup for a period (`EffectMonth` + `EffectDay`)."""
    return _by_month(
        (EffectDay, EffectDelta),
        (EffectMonth, EffectMonthDelta),
        start=start,
        end=end,
        keys=keys,
        values=values,
    )


def _effects(
    *,
    start: date,
    end: date,
    customers: QuerySet[Customer] | None,
    keys: tuple[str, ...],
    granularity: str = "day",
) -> dict[tuple[Any, ...], list[int]]:
    """{key: [interactions, Σ weight]} of the period, `keys` among day (the first of its
    bucket), stage_id, user_id and effect."""
    columns = ("day", "stage_id", "user_id", "effect")
    values = ("interactions", "weight")
    if customers is None and "user_id" in keys and "day" not in keys:
        return _effects_by_month(start=start, end=end, keys=keys, values=values)
    if customers is None:
        # Without a user in the key, the rollup without users answers with far fewer rows.
        rollup, delta = (
            (EffectDay, EffectDelta) if "user_id" in keys else (EffectStageDay, EffectStageDelta)
        )
        return _rollup(
            rollup,
            delta,
            keys=keys,
            values=values,
            granularity=granularity,
            day__gte=start,
            day__lte=end,
        )
    query = f"""
        SELECT (i.occurred_at AT TIME ZONE 'UTC')::date,
               {STAGE_AT}, i.logged_by_id, i.effect,
               COUNT(*), SUM(i.weight)
        FROM interactions_interaction AS i
        {stage_at_joins("i")}
        WHERE i.occurred_at >= %s AND i.occurred_at < %s AND i.customer_id IN ({{customers}})
        GROUP BY 1, 2, 3, 4
    """  # noqa: S608 - only our own table, column and alias names are interpolated
    sql, extra = customers.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            query.replace("{customers}", sql),
            [_moment(start), _moment(end + timedelta(days=1)), *extra],
        )
        rows = [dict(zip(columns + values, row, strict=True)) for row in cursor.fetchall()]
    return _merge(rows, keys, values, granularity)


def _survey_answers(
    *,
    start: date,
    end: date,
    customers: QuerySet[Customer] | None,
    keys: tuple[str, ...],
    granularity: str = "day",
) -> dict[tuple[Any, ...], list[int]]:
    """{key: [answers, Σ weight]} of the period, `keys` among day (the first of its bucket),
    stage_id, kind, score, category and effect."""
    values = ("answers", "weight")
    if customers is None and "day" not in keys:
        return _by_month(
            (SurveyDay, SurveyDelta),
            (SurveyMonth, SurveyMonthDelta),
            start=start,
            end=end,
            keys=keys,
            values=values,
        )
    if customers is None:
        # Without the stage in the key, the rollup without stages answers with fewer rows.
        rollup, delta = (
            (SurveyDay, SurveyDelta) if "stage_id" in keys else (SurveyKindDay, SurveyKindDelta)
        )
        return _rollup(
            rollup,
            delta,
            keys=keys,
            values=values,
            granularity=granularity,
            day__gte=start,
            day__lte=end,
        )
    rows = (
        Response.objects.filter(
            _time_filter("answered_at", start, end), customer__in=customers.values("pk")
        )
        .annotate(day=_utc_day("answered_at"))
        .values(*keys)
        .annotate(answers=Count("pk"), weight=Sum("weight"))
        .order_by()
    )
    return _merge(rows, keys, values, granularity)


def _unsubscribes(
    *,
    start: date,
    end: date,
    customers: QuerySet[Customer] | None,
    keys: tuple[str, ...],
    granularity: str = "day",
) -> dict[tuple[Any, ...], int]:
    """{key: unsubscribes}, `keys` among day (the first of its bucket) and stage_id:
    consent withdrawn by the person's own unsubscribe click, counted against the stage they
    stood in then (for everyone from the unsubscribe rollup, for some customers from the raw
    records)."""
    if customers is None:
        return {
            key: n
            for key, (n,) in _rollup(
                UnsubscribeDay,
                UnsubscribeDelta,
                keys=keys,
                values=("unsubscribes",),
                granularity=granularity,
                day__gte=start,
                day__lte=end,
            ).items()
        }
    params: list[Any] = [
        list(UNSUBSCRIBE_METHODS),
        _moment(start),
        _moment(end + timedelta(days=1)),
    ]
    restrict = ""
    if customers is not None:
        sql, extra = customers.values("pk").query.sql_with_params()
        restrict = f"AND e.customer_id IN ({sql})"
        params.extend(extra)
    query = f"""
        SELECT (e.occurred_at AT TIME ZONE 'UTC')::date,
               {STAGE_AT}, COUNT(*)
        FROM consent_consentevent AS e
        {stage_at_joins("e")}
        WHERE NOT e.granted AND e.method = ANY(%s)
          AND e.occurred_at >= %s AND e.occurred_at < %s {restrict}
        GROUP BY 1, 2
    """  # noqa: S608 - table and column names are our constants; values are bound
    result: dict[tuple[Any, ...], int] = defaultdict(int)
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for day, stage_id, n in cursor.fetchall():
            found = {"day": bucket_of(day, granularity), "stage_id": stage_id}
            result[tuple(found[key] for key in keys)] += n
    return dict(result)


def _overdue_tasks(
    *, now: datetime, customers: QuerySet[Customer] | None
) -> dict[tuple[int | None, int | None], int]:
    """{(customer's stage now, assignee): tasks open past their due time at `now`}. For
    everyone: all open tasks (`OpenTaskDay`) minus those due at or after `now` — the days
    after `now`'s from `OpenTaskDueDay`, the rest of its day from the raw tasks."""
    open_tasks = Task.objects.filter(state=TaskState.OPEN)
    if customers is not None:
        rows = open_tasks.filter(customer__in=customers.values("pk"), due_at__lt=now)
        return {
            (row["customer__stage_id"], row["assignee_id"]): row["n"]
            for row in rows.values("customer__stage_id", "assignee_id")
            .annotate(n=Count("pk"))
            .order_by()
        }
    result: dict[tuple[int | None, int | None], int] = defaultdict(int)
    for key, (n,) in _rollup(
        OpenTaskDay, OpenTaskDelta, keys=("stage_id", "user_id"), values=("tasks",)
    ).items():
        result[key] += n
    tomorrow = now.astimezone(UTC).date() + timedelta(days=1)
    for key, (n,) in _rollup(
        OpenTaskDueDay,
        OpenTaskDueDelta,
        keys=("stage_id", "user_id"),
        values=("tasks",),
        day__gte=tomorrow,
    ).items():
        result[key] -= n
    later_today = (
        open_tasks.filter(due_at__gte=now, due_at__lt=_moment(tomorrow))
        .values("customer__stage_id", "assignee_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in later_today:
        result[(row["customer__stage_id"], row["assignee_id"])] -= row["n"]
    return {key: n for key, n in result.items() if n}


@dataclass(frozen=True)
class ForceFriction:
    """What pushed and what slowed one stage, by one team, during the period.

    `force` = interaction force + survey force; `friction` = interaction friction + survey
    friction + backward moves + unsubscribes + overdue follow-ups (now); `net` = the
    difference. Survey answers, backward moves and unsubscribes belong to no team ("none").
    """

    stage: str | None
    phase: str | None
    team: str
    interactions: int
    interaction_force: int
    interaction_friction: int
    survey_force: int
    survey_friction: int
    backward_moves: int
    unsubscribes: int
    overdue_tasks: int
    force: int
    friction: int
    net: int


def force_friction_by_stage(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    now: datetime | None = None,
) -> list[ForceFriction]:
    """Per stage and team: force and friction during the period (docs/metrics.md, "Force
    and friction"). Interactions are counted against the stage the customer stood in when
    they happened and the team (role, now) of who logged them; survey answers against
    `Response.stage`; a backward move against the stage it left; overdue tasks (open past
    their due time at `now`) against the customer's current stage and the assignee's team.
    """
    from django.utils import timezone

    customers = filtered_customers(segment, owner)
    stages = _stages()
    cells: dict[tuple[int | None, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    effects = _effects(
        start=start, end=end, customers=customers, keys=("stage_id", "user_id", "effect")
    )
    teams = _user_teams(key[1] for key in effects)
    for (stage_id, user_id, effect), (n, weight) in effects.items():
        cell = cells[(stage_id, teams.get(user_id, NO_TEAM))]
        cell["interactions"] += n
        if effect == Effect.FORCE:
            cell["interaction_force"] += weight
        elif effect == Effect.FRICTION:
            cell["interaction_friction"] += weight
    for (stage_id, effect), (_, weight) in _survey_answers(
        start=start, end=end, customers=customers, keys=("stage_id", "effect")
    ).items():
        if effect == Effect.FORCE:
            cells[(stage_id, NO_TEAM)]["survey_force"] += weight
        elif effect == Effect.FRICTION:
            cells[(stage_id, NO_TEAM)]["survey_friction"] += weight
    for (from_id, direction), (n,) in _transitions(
        start=start, end=end, customers=customers, keys=("from_stage_id", "direction")
    ).items():
        if direction == Direction.BACKWARD:
            cells[(from_id, NO_TEAM)]["backward_moves"] += n
    for (stage_id,), n in _unsubscribes(
        start=start, end=end, customers=customers, keys=("stage_id",)
    ).items():
        cells[(stage_id, NO_TEAM)]["unsubscribes"] += n
    overdue_rows = _overdue_tasks(now=now or timezone.now(), customers=customers)
    assignee_teams = _user_teams(user_id for _, user_id in overdue_rows)
    for (stage_id, user_id), n in overdue_rows.items():
        cells[(stage_id, assignee_teams.get(user_id, NO_TEAM))]["overdue_tasks"] += n

    def order(key: tuple[int | None, str]) -> tuple[Any, ...]:
        stage = stages.get(key[0]) if key[0] is not None else None
        team_rank = ROLES.index(key[1]) if key[1] in ROLES else len(ROLES)
        return (stage is None, (stage.position, stage.pk) if stage else (0, 0), team_rank)

    result = []
    for key in sorted(cells, key=order):
        c = cells[key]
        stage = stages.get(key[0]) if key[0] is not None else None
        force = c["interaction_force"] + c["survey_force"]
        friction = (
            c["interaction_friction"]
            + c["survey_friction"]
            + c["backward_moves"]
            + c["unsubscribes"]
            + c["overdue_tasks"]
        )
        result.append(
            ForceFriction(
                stage.slug if stage else None,
                stage.phase if stage else None,
                key[1],
                c["interactions"],
                c["interaction_force"],
                c["interaction_friction"],
                c["survey_force"],
                c["survey_friction"],
                c["backward_moves"],
                c["unsubscribes"],
                c["overdue_tasks"],
                force,
                friction,
                force - friction,
            )
        )
    return result


@dataclass(frozen=True)
class MomentumPoint:
    """Force, friction and their difference during one bucket."""

    bucket: date
    force: int
    friction: int
    momentum: int


def momentum_over_time(
    *,
    start: date,
    end: date,
    granularity: str,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
) -> list[MomentumPoint]:
    """Per bucket: force (Σ weight of force interactions and survey answers) - friction (Σ
    weight of friction interactions and survey answers + backward moves + unsubscribes).

    Overdue follow-ups are a count of now, not of a past bucket: they are in
    `force_friction_by_stage`, not here.
    """
    customers = filtered_customers(segment, owner)
    force: dict[date, int] = defaultdict(int)
    friction: dict[date, int] = defaultdict(int)
    for (bucket, effect), (_, weight) in _effects(
        start=start, end=end, customers=customers, keys=("day", "effect"), granularity=granularity
    ).items():
        if effect == Effect.FORCE:
            force[bucket] += weight
        elif effect == Effect.FRICTION:
            friction[bucket] += weight
    for (bucket, effect), (_, weight) in _survey_answers(
        start=start, end=end, customers=customers, keys=("day", "effect"), granularity=granularity
    ).items():
        if effect == Effect.FORCE:
            force[bucket] += weight
        elif effect == Effect.FRICTION:
            friction[bucket] += weight
    for (bucket, direction), (n,) in _transitions(
        start=start,
        end=end,
        customers=customers,
        keys=("day", "direction"),
        granularity=granularity,
    ).items():
        if direction == Direction.BACKWARD:
            friction[bucket] += n
    for (bucket,), n in _unsubscribes(
        start=start, end=end, customers=customers, keys=("day",), granularity=granularity
    ).items():
        friction[bucket] += n
    return [
        MomentumPoint(bucket, force[bucket], friction[bucket], force[bucket] - friction[bucket])
        for bucket in buckets(start=start, end=end, granularity=granularity)
    ]


# --- surveys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyTrendPoint:
    """One kind's score over the answers of one bucket (empty without answers)."""

    bucket: date
    kind: str
    answers: int
    promoters: int
    passives: int
    detractors: int
    score: Decimal | None
    mean: Decimal | None


def survey_trends(
    *,
    start: date,
    end: date,
    granularity: str,
    kind: str | None = None,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
) -> list[SurveyTrendPoint]:
    """Per bucket and kind (NPS, CSAT, CES, or only `kind`): the score of the answers given
    in the bucket, computed by `surveys.scoring.score_summary` from the count per score."""
    from surveys.models import SurveyKind

    kinds = [kind] if kind else list(SurveyKind.values)
    counts: dict[tuple[date, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for (bucket, answer_kind, score), (n, _) in _survey_answers(
        start=start,
        end=end,
        customers=filtered_customers(segment, owner),
        keys=("day", "kind", "score"),
        granularity=granularity,
    ).items():
        counts[(bucket, answer_kind)][score] += n
    result = []
    for bucket in buckets(start=start, end=end, granularity=granularity):
        for each in kinds:
            summary = score_summary(each, counts[(bucket, each)])
            result.append(
                SurveyTrendPoint(
                    bucket,
                    each,
                    summary.answers,
                    summary.promoters,
                    summary.passives,
                    summary.detractors,
                    summary.score,
                    summary.mean,
                )
            )
    return result


# --- the loop, money and campaigns -------------------------------------------------------------


@dataclass(frozen=True)
class LoopCompletion:
    """Delight customers of the period, and those who closed the loop in it."""

    delight_customers: int
    referred: int
    bought_again: int
    closed_loop: int
    rate: float | None


def loop_customers_sql(
    *, start: date, end: date, customers: QuerySet[Customer] | None
) -> tuple[str, list[Any]]:
    """The SQL behind loop completion: a `WITH` clause defining `delight`, `referred` and
    `bought` (one `customer_id` column each, distinct customers) for the period, and its
    parameters. `loop_completion` counts them; the dashboard's drill-down lists them, so
    both read the same definition."""
    since, until = _moment(start), _moment(end + timedelta(days=1))
    delight = list(Stage.objects.filter(phase=Phase.DELIGHT).values_list("pk", flat=True))
    restrict, restrict_id, restrict_params = "", "", []
    if customers is not None:
        sql, extra = customers.values("pk").query.sql_with_params()
        restrict, restrict_params = f"AND customer_id IN ({sql})", list(extra)
        restrict_id = f"AND id IN ({sql})"
    # Where a customer stood at the start: their stage now if they have not moved since
    # (stage_entered_at is their latest move), else the from_stage of their first move since.
    # Both read indexes ((stage, stage_entered_at) on customers, occurred_at on transitions)
    # instead of walking every customer's chain.
    query = f"""
        WITH moved AS (
            SELECT DISTINCT ON (customer_id) customer_id, from_stage_id AS at_start
            FROM stages_stagetransition
            WHERE occurred_at >= %s {restrict}
            ORDER BY customer_id, occurred_at, id
        ), delight AS (
            SELECT id AS customer_id FROM customers_customer
            WHERE stage_id = ANY(%s) AND stage_entered_at < %s
              {restrict_id}
            UNION
            SELECT customer_id FROM moved WHERE at_start = ANY(%s)
            UNION
            SELECT customer_id FROM stages_stagetransition
            WHERE occurred_at >= %s AND occurred_at < %s AND to_stage_id = ANY(%s) {restrict}
        ), referred AS (
            SELECT DISTINCT r.referrer_id AS customer_id FROM customers_referral AS r
            JOIN delight AS d ON d.customer_id = r.referrer_id
            WHERE r.referrer_phase = %s AND r.occurred_at >= %s AND r.occurred_at < %s
        ), bought AS (
            SELECT DISTINCT p.customer_id FROM interactions_purchase AS p
            JOIN delight AS d ON d.customer_id = p.customer_id
            WHERE p.occurred_at >= %s AND p.occurred_at < %s AND EXISTS (
                SELECT 1 FROM interactions_purchase AS e
                WHERE e.customer_id = p.customer_id
                  AND (e.occurred_at, e.id) < (p.occurred_at, p.id)
            )
        )
    """  # noqa: S608 - sql is Django's compiled query; values are bound
    params = [
        since,
        *restrict_params,
        delight,
        since,
        *restrict_params,
        delight,
        since,
        until,
        delight,
        *restrict_params,
        Phase.DELIGHT.value,
        since,
        until,
        since,
        until,
    ]
    return query, params


def loop_completion(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
) -> LoopCompletion:
    """Share of the customers who stood in a Delight stage at some moment of the period
    (in one at its start, or moved into one during it) who, during the period, referred
    someone while in Delight (a `Referral` with `referrer_phase = delight`) or bought again
    (a purchase in the period that is not their first purchase ever). For everyone from
    the loop rollup, for a segment's or an owner's customers from the raw records.
    """
    customers = filtered_customers(segment, owner)
    if customers is None:
        return _loop_from_rollup(start=start, end=end)
    return _loop_from_raw(start=start, end=end, customers=customers)


def _loop_from_raw(*, start: date, end: date, customers: QuerySet[Customer]) -> LoopCompletion:
    """`loop_completion` for some customers, from the raw records (the definition the loop
    rollup is checked against, besides `check_rollups`; the drill-down lists the same SQL)."""
    loop, params = loop_customers_sql(start=start, end=end, customers=customers)
    query = f"""{loop}
        SELECT (SELECT COUNT(*) FROM delight), (SELECT COUNT(*) FROM referred),
               (SELECT COUNT(*) FROM bought),
               (SELECT COUNT(*) FROM (
                   SELECT customer_id FROM referred UNION SELECT customer_id FROM bought
               ) AS closed)
    """  # noqa: S608 - the loop's own SQL; values are bound
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        total, referred, bought, closed = cursor.fetchone()
    return LoopCompletion(
        total, referred, bought, closed, round(closed / total, 4) if total else None
    )


def _loop_from_rollup(*, start: date, end: date) -> LoopCompletion:
    """`loop_completion` for everyone, from the loop rollup + pending deltas in one
    statement: sums over the period's days, whatever the number of records (the keys and
    why these sums count distinct customers: `analytics.rollups.loop_keys_sql`)."""
    first = "(prev_day IS NULL OR prev_day < %(s)s)"
    delight = f"""COALESCE(SUM(CASE
        WHEN day < %(s)s THEN CASE WHEN kind = 'enter' THEN customers ELSE -customers END
        WHEN kind = 'enter' AND {first} THEN customers
        ELSE 0 END), 0)"""
    spans = "kind IN ('enter', 'exit') AND day <= %(e)s"
    events = f"""kind IN ('referred', 'bought', 'closed') AND day >= %(s)s AND day <= %(e)s
        AND {first} AND (last_delight >= %(s)s OR next_entry <= %(e)s)"""

    # One statement (one snapshot) summing, in the rollup and in the pending deltas alike,
    # the few Delight entries and exits up to the end, and the period's loop events per
    # kind. Each table is summed on its own before the two are added up: the rollup's rows
    # then come straight from its unique index (which holds `customers`), not row by row
    # through a union.
    def sums(model: type[models.Model]) -> str:
        table = model._meta.db_table
        return f"""
            SELECT 'delight' AS kind, {delight} AS n FROM {table} WHERE {spans}
            UNION ALL
            SELECT kind, SUM(customers) FROM {table} WHERE {events} GROUP BY kind
        """  # noqa: S608 - only our own names and conditions; values are bound

    query = f"""
        SELECT kind, SUM(n)::bigint
        FROM ({sums(LoopDay)} UNION ALL {sums(LoopDelta)}) AS x
        GROUP BY kind
    """  # noqa: S608 - only our own names and conditions; values are bound
    with connection.cursor() as cursor:
        cursor.execute(query, {"s": start, "e": end})
        found = dict(cursor.fetchall())
    total, referred, bought, closed = (
        int(found.get(kind) or 0) for kind in ("delight", "referred", "bought", "closed")
    )
    return LoopCompletion(
        total, referred, bought, closed, round(closed / total, 4) if total else None
    )


@dataclass(frozen=True)
class SegmentValue:
    """Lifetime value of one segment's customers in one currency (now)."""

    segment_id: int
    segment: str
    currency: str
    customers: int
    buyers: int
    purchases: int
    lifetime_value: Decimal
    average_per_buyer: Decimal | None
    average_per_customer: Decimal | None


def lifetime_value_by_segment(*, segment: Segment | None = None) -> list[SegmentValue]:
    """Per segment (every segment, or the one given) and currency: Σ `Purchase.amount` of its
    customers now, how many of them bought, and the averages per buyer and per customer
    (rounded to the cent). Currencies are never added together."""
    from segments.models import Segment as SegmentModel
    from segments.selectors import segment_customers

    segments = [segment] if segment is not None else list(SegmentModel.objects.order_by("name"))
    cent = Decimal("0.01")
    result = []
    for each in segments:
        members = segment_customers(each).order_by().values("pk")
        population = Customer.objects.filter(pk__in=members).count()
        rows = (
            Purchase.objects.filter(customer__in=members)
            .values("currency")
            .annotate(total=Sum("amount"), buyers=Count("customer", distinct=True), n=Count("pk"))
            .order_by("currency")
        )
        for row in rows:
            result.append(
                SegmentValue(
                    each.pk,
                    each.name,
                    row["currency"],
                    population,
                    row["buyers"],
                    row["n"],
                    row["total"],
                    (row["total"] / row["buyers"]).quantize(cent) if row["buyers"] else None,
                    (row["total"] / population).quantize(cent) if population else None,
                )
            )
    return result


@dataclass(frozen=True)
class CostComparison:
    """Acquisition versus retention cost in one currency for the period."""

    currency: str
    acquisition_cost: Decimal
    new_customers: int
    cost_per_new_customer: Decimal | None
    retention_cost: Decimal
    retained_customers: int
    cost_per_retained_customer: Decimal | None


def acquisition_vs_retention_cost(*, start: date, end: date) -> list[CostComparison]:
    """Per currency: the campaigns' acquisition cost per new customer beside their retention
    cost per retained customer, for campaigns started in the period (the definitions of
    `campaigns.selectors`, docs/metrics.md "Campaigns"; new customers per source from their
    rollup, not by reading the customers created in the period)."""
    from campaigns.models import Campaign, CampaignState
    from campaigns.selectors import retention_cost

    since, until = _moment(start), _moment(end + timedelta(days=1))
    # `campaigns.selectors.acquisition_cost_by_source`, summed per currency, with the new
    # customers per source read from their rollup instead of the customers created.
    costs: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for campaign in Campaign.objects.filter(started_at__gte=since, started_at__lt=until).exclude(
        state=CampaignState.DRAFT
    ):
        costs[(campaign.source_label.lower(), campaign.currency)] += campaign.cost
    new_by_source: dict[str, int] = {}
    if costs:
        new_by_source = {
            source: n
            for (source,), (n,) in _rollup(
                NewCustomerDay,
                NewCustomerDelta,
                keys=("source",),
                values=("customers",),
                day__gte=start,
                day__lte=end,
            ).items()
        }
    acquisition: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for (source, currency), cost in costs.items():
        acquisition[currency][0] += cost
        acquisition[currency][1] += new_by_source.get(source, 0)
    retention = {row.currency: row for row in retention_cost(start=since, end=until)}
    cent = Decimal("0.01")
    result = []
    for currency in sorted(set(acquisition) | set(retention)):
        cost, new = acquisition.get(currency, [Decimal(0), 0])
        kept = retention.get(currency)
        result.append(
            CostComparison(
                currency,
                cost,
                new,
                (cost / new).quantize(cent) if new else None,
                kept.cost if kept else Decimal(0),
                kept.retained if kept else 0,
                kept.cost_per_retained if kept else None,
            )
        )
    return result


@dataclass(frozen=True)
class CampaignPerformance:
    """One campaign started in the period, with its key rates (`campaigns.selectors`)."""

    campaign_id: int
    name: str
    channel: str
    state: str
    started_at: datetime | None
    cost: Decimal
    currency: str
    sent: int | None
    open_rate: float | None
    click_rate: float | None
    conversions: int


def campaign_performance(*, start: date, end: date) -> list[CampaignPerformance]:
    """The campaigns started in the period, newest first, with sent, open and click rates and
    conversions as
    `campaigns.selectors.campaign_list_rates` computes them (per-campaign conversions and
    costs: `campaigns.selectors.campaign_results` / `campaign_costs`, /campaigns/<id>/stats/)."""
    from campaigns.models import Campaign
    from campaigns.selectors import campaign_list_rates

    campaigns = list(
        Campaign.objects.filter(
            started_at__gte=_moment(start), started_at__lt=_moment(end + timedelta(days=1))
        ).order_by("-started_at", "-id")
    )
    rates = campaign_list_rates(campaigns)
    return [
        CampaignPerformance(
            c.pk,
            c.name,
            c.channel,
            c.state,
            c.started_at,
            c.cost,
            c.currency,
            rates.get(c.pk, {}).get("sent"),
            rates.get(c.pk, {}).get("open_rate"),
            rates.get(c.pk, {}).get("click_rate"),
            rates.get(c.pk, {}).get("conversions", 0),
        )
        for c in campaigns
    ]


# --- consistency --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollupDifference:
    """A key whose rollup total (rollup + pending deltas) differs from the raw records."""

    rollup: str
    key: dict[str, Any]
    expected: dict[str, int]
    actual: dict[str, int]


def rollup_differences() -> list[RollupDifference]:
    """Recompute every rollup from the raw records and list each key that differs.

    Each rollup is compared in one statement (one snapshot), so concurrent writes, whose
    deltas commit with them, never show up as a difference.
    """
    differences = []
    with connection.cursor() as cursor:
        for rollup in ROLLUPS:
            width = len(rollup.keys)
            cursor.execute(rollup.compare_sql())
            for row in cursor.fetchall():
                key, sums = row[:width], [int(v) for v in row[width:]]
                differences.append(
                    RollupDifference(
                        rollup.name,
                        dict(zip(rollup.keys, key, strict=True)),
                        dict(zip(rollup.values, sums[0::2], strict=True)),
                        dict(zip(rollup.values, sums[1::2], strict=True)),
                    )
                )
    return differences
