"""The customers behind a number: one function per kind of number (`of=` in the URL).

Each function takes the dashboard's filters (`start`, `end`, `segment`, `owner`, as the
selectors do) and the kind's own parameters, and returns a `Drilldown`: the customers, a
sentence saying who they are, and, where the number counts records rather than customers
(moves, interactions, answers…), those records, so that the page can say "57 moves by 49
customers". Every function applies the definition of the selector whose number it explains
(docs/metrics.md, `analytics.selectors`) to the same records, restricted the same way:

- the period is UTC days, `start` 00:00 to the day after `end` 00:00, end excluded;
- `segment` / `owner` keep the segment's customers now / the owner's customers now
  (`analytics.selectors.filtered_customers`);
- "the stage a customer stood in at a moment" is `analytics.rollups.stage_at_joins`.

The queries read the raw records on their indexes — transitions, interactions and answers
by time (or by customer and time once filtered), customers by stage — never a whole table:
the drill-down must stay usable at a million customers.

`KINDS` lists every kind with its parameters and the form that validates them; an unknown
kind or a bad parameter is the form's error, shown on the page with a 400.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.text import slugify

from accounts.roles import ROLES
from analytics.rollups import STAGE_AT, stage_at_joins
from analytics.selectors import (
    NO_TEAM,
    UNSUBSCRIBE_METHODS,
    _user_teams,
    filtered_customers,
    loop_customers_sql,
)
from consent.models import ConsentEvent
from customers.models import Customer
from customers.selectors import customer_queryset
from interactions.models import Effect, Interaction, Task, TaskState
from stages.models import PHASE_ORDER, Direction, Phase, Stage, StageTransition
from surveys.models import Response
from surveys.scoring import Category, SurveyKind

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from segments.models import Segment

NEW = "new"  # from_stage=new: customers created in to_stage (the matrix's entries)
FRICTION_CAUSES = {
    "overdue": "follow-ups overdue now",
    "detractors": "detractors' survey answers",
    "backward": "backward moves",
    "unsubscribes": "unsubscribes",
    "negative": "interactions counted as friction",
}
LOOP_OUTCOMES = ("completed", "open")
# Up to this many customers behind events, the list reads them by id (Drilldown.listed):
# 100,000 ids read and sorted by name in about 0.7 s at a million customers, where asking
# the events again (the stage of the moment for each interaction) took several seconds.
MAX_LISTED_IDS = 100_000


# --- what a drill-down returns ------------------------------------------------------------


@dataclass(frozen=True)
class Drilldown:
    """The customers behind one number.

    `customers` is ordered by name (pk breaks ties, so pages never overlap). `events`, when
    the number counts records, holds them (one row each, with `customer_id`; several
    querysets when the number adds records of several kinds up, as force adds interactions
    and survey answers); `noun` names them ("move", "moves"). `column` heads the table's
    column specific to the kind, filled for a page of customers by `details`.
    """

    description: str
    customers: QuerySet[Customer]
    column: str
    details: Callable[[list[int]], dict[int, str]]
    events: tuple[QuerySet[Any], ...] = ()
    noun: tuple[str, str] | None = None
    weighted: bool = False  # the number is Σ weight of the events: say so

    def totals(self) -> Totals:
        """The number of customers (and of events, and their weight), in one query per kind
        of event; for events, with the customers' ids, so that the list need not read the
        events again."""
        if not self.events:
            return Totals(customers=self.customers.count())
        sums: dict[str, Any] = {
            "n_ids": ArrayAgg("customer_id", distinct=True, default=[]),
            "n_events": Count("pk"),
        }
        if self.weighted:
            sums["n_weight"] = Sum("weight")
        ids: set[int] = set()
        events = weight = 0
        for source in self.events:
            row = source.order_by().aggregate(**sums)
            ids.update(row["n_ids"])
            events += row["n_events"]
            weight += row.get("n_weight") or 0
        return Totals(len(ids), events, weight, sorted(ids))

    def listed(self, totals: Totals) -> QuerySet[Customer]:
        """The customers to page through, given their totals.

        With the ids in hand (and not too many to send back), the list reads customers by
        primary key: the planner knows how many there are. Given the events as a subquery
        instead, it guesses (an index lookup per row for the stage of the moment looks very
        selective) and may sort every customer by name to probe each against the events."""
        if totals.customer_ids is not None and len(totals.customer_ids) <= MAX_LISTED_IDS:
            return _by_name(customer_queryset().filter(pk__in=totals.customer_ids))
        return self.customers


@dataclass(frozen=True)
class Totals:
    customers: int
    events: int | None = None
    weight: int | None = None
    customer_ids: list[int] | None = None


@contextmanager
def without_jit() -> Iterator[None]:
    """Run the drill-down's reads in a transaction with PostgreSQL's JIT off.

    Their plans look expensive to the planner (one index lookup per interaction or move for
    the stage of the moment), so JIT compiles them, and compiling takes longer than the
    lookups: 1.8 s of 3.5 s for a month of interactions at a million a year, measured."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield


# --- words -------------------------------------------------------------------------------


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def period_words(start: date, end: date) -> str:
    """ "between 1 Oct and 31 Oct 2026", "on 3 Oct 2026"."""
    if start == end:
        return f"on {_day(start)}"
    first = f"{start.day} {start:%b}" if start.year == end.year else _day(start)
    return f"between {first} and {_day(end)}"


def _when(moment: datetime | None) -> str:
    return "" if moment is None else _day(moment.astimezone(UTC).date())


def _count_latest(rows: list[tuple[int, datetime]], noun: tuple[str, str]) -> dict[int, str]:
    """Per customer: their latest event's day, and how many events when more than one."""
    latest: dict[int, datetime] = {}
    counts: dict[int, int] = {}
    for customer_id, moment in rows:
        counts[customer_id] = counts.get(customer_id, 0) + 1
        if customer_id not in latest or moment > latest[customer_id]:
            latest[customer_id] = moment
    return {
        pk: _when(latest[pk]) + (f" ({counts[pk]} {noun[1]})" if counts[pk] > 1 else "")
        for pk in latest
    }


def _events_details(
    sources: tuple[tuple[QuerySet[Any], str], ...], noun: tuple[str, str]
) -> Callable[[list[int]], dict[int, str]]:
    """The kind's column for a page: the latest event's day, and how many there were
    (`sources`: each queryset of events with the name of its moment)."""

    def details(ids: list[int]) -> dict[int, str]:
        rows: list[tuple[int, datetime]] = []
        for events, moment in sources:
            found = events.filter(customer_id__in=ids).order_by()
            rows.extend(found.values_list("customer_id", moment))
        return _count_latest(rows, noun)

    return details


# --- the pieces every kind is made of -----------------------------------------------------


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period as [since, until): UTC midnight of `start` to that after `end`."""
    return _moment(start), _moment(end + timedelta(days=1))


def _in_period(name: str, start: date, end: date) -> Q:
    since, until = _bounds(start, end)
    return Q(**{f"{name}__gte": since, f"{name}__lt": until})


def _restrict(
    events: QuerySet[Any], segment: Segment | None, owner: AbstractBaseUser | None
) -> QuerySet[Any]:
    """Only the events of the segment's / owner's customers now, as the selectors count."""
    customers = filtered_customers(segment, owner)
    if customers is None:
        return events
    return events.filter(customer_id__in=customers.values("pk"))


def _restrict_sql(
    column: str, segment: Segment | None, owner: AbstractBaseUser | None
) -> tuple[str, list[Any]]:
    """The same restriction, as an SQL condition on `column` (for raw subqueries)."""
    customers = filtered_customers(segment, owner)
    if customers is None:
        return "", []
    sql, params = customers.values("pk").query.sql_with_params()
    return f"AND {column} IN ({sql})", list(params)


def _by_name(customers: QuerySet[Customer]) -> QuerySet[Customer]:
    """The list's order: by name, as the customer list sorts it, then by id."""
    return customers.order_by(Lower("first_name"), Lower("last_name"), "id")


def _customers_of(*sources: QuerySet[Any]) -> QuerySet[Customer]:
    """The distinct customers of the events: a semi-join on the customer's primary key."""
    behind = Q()
    for events in sources:
        behind |= Q(pk__in=events.order_by().values("customer_id"))
    return _by_name(customer_queryset().filter(behind))


def _event_drilldown(
    description: str,
    events: QuerySet[Any],
    *,
    moment: str,
    noun: tuple[str, str],
    column: str,
    weighted: bool = False,
    more: tuple[tuple[QuerySet[Any], str], ...] = (),
) -> Drilldown:
    """A drill-down into events (`more`: other querysets of events the number adds up,
    each with the name of its moment)."""
    sources = ((events, moment), *more)
    return Drilldown(
        description=description,
        customers=_customers_of(*(source for source, _ in sources)),
        column=column,
        details=_events_details(sources, noun),
        events=tuple(source for source, _ in sources),
        noun=noun,
        weighted=weighted,
    )


def _stage_at_ids(
    table: str,
    *,
    stage: Stage,
    start: date,
    end: date,
    segment: Segment | None,
    owner: AbstractBaseUser | None,
    where: str = "",
    params: list[Any] | None = None,
) -> RawSQL:
    """The ids of `table`'s rows dated in the period whose customer stood in `stage` at
    their `occurred_at` (docs/metrics.md: the stage of an interaction), read by time and
    then by customer and time for each row's stage, as the rollups define it."""
    since, until = _bounds(start, end)
    restrict, restrict_params = _restrict_sql("x.customer_id", segment, owner)
    sql = f"""
        SELECT x.id FROM {table} AS x
        {stage_at_joins("x")}
        WHERE x.occurred_at >= %s AND x.occurred_at < %s AND {STAGE_AT} = %s {where} {restrict}
    """  # noqa: S608 - our own table and column names; values are bound
    return RawSQL(sql, [since, until, stage.pk, *(params or []), *restrict_params])  # noqa: S611


def _team_users(field_name: str, team: str) -> Q:
    """The rows whose user (`field_name`) is in `team`: their role now, the first of ROLES
    they hold, or "none" without a user or a role (analytics.selectors._user_teams)."""
    with_role = (
        get_user_model()
        .objects.filter(groups__name__in=ROLES)
        .values_list("pk", flat=True)
        .distinct()
    )
    teams = _user_teams(list(with_role))
    if team == NO_TEAM:
        members = [pk for pk, role in teams.items() if pk is not None and role != NO_TEAM]
        return Q(**{f"{field_name}__isnull": True}) | ~Q(**{f"{field_name}__in": members})
    return Q(**{f"{field_name}__in": [pk for pk, role in teams.items() if role == team]})


def _team_words(team: str | None) -> str:
    if not team:
        return ""
    return " by nobody in a team" if team == NO_TEAM else f" by the {team} team"


# --- customers standing somewhere at the end of the period ---------------------------------


def _standing_in(
    stages: list[Stage], *, end: date, segment: Segment | None, owner: AbstractBaseUser | None
) -> QuerySet[Customer]:
    """Customers whose stage at the end of the period (the end of `end`, UTC) is one of
    `stages`: the latest transition before that moment leads there.

    That is the stage now for whoever has not moved since (their `stage_entered_at`, their
    latest move, is before it: read on the (stage, stage_entered_at) index), and the stage at
    that moment (`stage_at_joins`) for the few who moved since. A customer created after it
    stood nowhere. The sum over them is `stage_counts_over_time`'s last count."""
    until = _moment(end + timedelta(days=1))
    ids = [stage.pk for stage in stages]
    # stage_at_joins reads "at or before"; the period ends just before `until`. Only its
    # `latest` is read, not STAGE_AT's fallback to the entry stage (meant for an interaction
    # logged before its customer's first move): a customer created later stood nowhere.
    last_moment = until - timedelta(microseconds=1)
    moved_since = RawSQL(  # noqa: S611 - our own SQL; values are bound
        f"""
        SELECT m.customer_id FROM (
            SELECT DISTINCT customer_id, %s::timestamptz AS occurred_at
            FROM stages_stagetransition WHERE occurred_at >= %s
        ) AS m
        {stage_at_joins("m")}
        WHERE latest.to_stage_id = ANY(%s)
        """,  # noqa: S608 - our own table and column names; values are bound
        [last_moment, until, ids],
    )
    customers = customer_queryset().filter(
        Q(stage_id__in=ids, stage_entered_at__lt=until) | Q(pk__in=moved_since)
    )
    restricted = filtered_customers(segment, owner)
    if restricted is not None:
        customers = customers.filter(pk__in=restricted.values("pk"))
    return _by_name(customers)


def _in_stage_since(end: date) -> Callable[[list[int]], dict[int, str]]:
    """Since when each customer stood where they were at the end of the period."""
    until = _moment(end + timedelta(days=1))

    def details(ids: list[int]) -> dict[int, str]:
        rows = (
            StageTransition.objects.filter(customer_id__in=ids, occurred_at__lt=until)
            .order_by("customer_id", "-occurred_at", "-id")
            .distinct("customer_id")
            .values_list("customer_id", "occurred_at")
        )
        return {pk: _when(moment) for pk, moment in rows}

    return details


def _at_end_words(end: date) -> str:
    return "now" if end >= timezone.now().date() else f"at the end of {_day(end)}"


def drill_stage(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    stage: Stage,
) -> Drilldown:
    """Customers in the stage at the end of the period (stage_counts_over_time, last bucket)."""
    return Drilldown(
        description=f"Customers in {stage.name} {_at_end_words(end)}",
        customers=_standing_in([stage], end=end, segment=segment, owner=owner),
        column="In the stage since",
        details=_in_stage_since(end),
    )


def drill_phase(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    phase: str,
) -> Drilldown:
    """Customers in the phase's stages at the end of the period (phase_counts_over_time)."""
    stages = list(Stage.objects.filter(phase=phase))
    return Drilldown(
        description=f"Customers in {Phase(phase).label} {_at_end_words(end)}",
        customers=_standing_in(stages, end=end, segment=segment, owner=owner),
        column="In the stage since",
        details=_in_stage_since(end),
    )


# --- moves -----------------------------------------------------------------------------------

MOVES = ("move", "moves")


def _moves(
    start: date, end: date, segment: Segment | None, owner: AbstractBaseUser | None
) -> QuerySet[StageTransition]:
    return _restrict(
        StageTransition.objects.filter(_in_period("occurred_at", start, end)), segment, owner
    )


def drill_moved(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    from_stage: Stage | None,
    to_stage: Stage,
    direction: str = "",
) -> Drilldown:
    """Customers with at least one such move in the period (a transition_matrix cell; no
    `from_stage`: created in `to_stage`; no `direction`: every direction of the pair)."""
    events = _moves(start, end, segment, owner).filter(to_stage=to_stage)
    if from_stage is None:
        events = events.filter(from_stage__isnull=True)
        what = f"Customers created in {to_stage.name}"
    else:
        events = events.filter(from_stage=from_stage)
        what = f"Customers who moved from {from_stage.name} to {to_stage.name}"
    if direction:
        events = events.filter(direction=direction)
        what += f" ({Direction(direction).label.lower()})"
    return _event_drilldown(
        f"{what} {period_words(start, end)}",
        events,
        moment="occurred_at",
        noun=MOVES,
        column="Moved on",
    )


def _other_phases(phase: str) -> list[str]:
    return [other for other in Phase.values if other != phase]


def drill_crossed(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    from_phase: str,
    to_phase: str,
) -> Drilldown:
    """Customers with a move in the period from a stage of `from_phase` to a stage of
    `to_phase` (the flow between phases; a stage's phase is its phase now)."""
    events = _moves(start, end, segment, owner).filter(
        from_stage__phase=from_phase, to_stage__phase=to_phase
    )
    return _event_drilldown(
        f"Customers who moved from {Phase(from_phase).label} to {Phase(to_phase).label} "
        f"{period_words(start, end)}",
        events,
        moment="occurred_at",
        noun=MOVES,
        column="Moved on",
    )


def drill_entered(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    phase: str,
) -> Drilldown:
    """Customers who came into the phase in the period: a move into it from another phase,
    or a creation in it (phase_counts_over_time's entries)."""
    events = _moves(start, end, segment, owner).filter(
        Q(from_stage__isnull=True) | Q(from_stage__phase__in=_other_phases(phase)),
        to_stage__phase=phase,
    )
    return _event_drilldown(
        f"Customers who entered {Phase(phase).label} {period_words(start, end)}",
        events,
        moment="occurred_at",
        noun=MOVES,
        column="Entered on",
    )


def drill_left(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    phase: str,
) -> Drilldown:
    """Customers who moved out of the phase into another in the period (its exits)."""
    events = _moves(start, end, segment, owner).filter(
        from_stage__phase=phase, to_stage__phase__in=_other_phases(phase)
    )
    return _event_drilldown(
        f"Customers who left {Phase(phase).label} {period_words(start, end)}",
        events,
        moment="occurred_at",
        noun=MOVES,
        column="Left on",
    )


def drill_converted(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    phase: str,
) -> Drilldown:
    """Customers behind phase_conversion's `converted`: moves out of the phase into a later
    one, and (for Delight) the new cycles that took the wheel round."""
    later = [other for other in Phase if PHASE_ORDER[other] > PHASE_ORDER[Phase(phase)]]
    events = _moves(start, end, segment, owner).filter(
        Q(direction=Direction.NEW_CYCLE) | Q(to_stage__phase__in=later),
        from_stage__phase=phase,
        to_stage__phase__in=_other_phases(phase),
    )
    onward = "went round the wheel" if phase == Phase.DELIGHT else "moved on from"
    subject = "from Delight" if phase == Phase.DELIGHT else Phase(phase).label
    words = f"Customers who {onward} {subject}"
    return _event_drilldown(
        f"{words} {period_words(start, end)}",
        events,
        moment="occurred_at",
        noun=MOVES,
        column="Moved on",
    )


def drill_velocity(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    stage: Stage,
) -> Drilldown:
    """Customers whose stay in the stage ended in the period: a move in the period whose
    previous transition in the customer's chain (by time, then id) led into the stage — the
    stays stage_velocity measures."""
    previous = (
        StageTransition.objects.filter(customer_id=OuterRef("customer_id"))
        .filter(
            Q(occurred_at__lt=OuterRef("occurred_at"))
            | Q(occurred_at=OuterRef("occurred_at"), pk__lt=OuterRef("pk"))
        )
        .order_by("-occurred_at", "-pk")
        .values("to_stage_id")[:1]
    )
    events = (
        _moves(start, end, segment, owner)
        .annotate(stayed_in=Subquery(previous))
        .filter(stayed_in=stage.pk)
    )
    return _event_drilldown(
        f"Customers whose stay in {stage.name} ended {period_words(start, end)}",
        events,
        moment="occurred_at",
        noun=("stay", "stays"),
        column="Left the stage on",
    )


# --- force and friction ----------------------------------------------------------------------

INTERACTIONS = ("interaction", "interactions")


def _interactions_in_stage(
    *,
    start: date,
    end: date,
    segment: Segment | None,
    owner: AbstractBaseUser | None,
    stage: Stage,
    effect: str,
    team: str,
) -> QuerySet[Interaction]:
    """Interactions of the period counted against `stage` (the stage their customer stood in
    then), of that effect and logged by that team, as force_friction_by_stage counts them.
    The effect is tested before the stage of the moment, which costs two index lookups per
    interaction: only the interactions of that effect pay for them."""
    ids = _stage_at_ids(
        "interactions_interaction",
        stage=stage,
        start=start,
        end=end,
        segment=segment,
        owner=owner,
        where="AND x.effect = %s" if effect else "",
        params=[effect] if effect else [],
    )
    events = Interaction.objects.filter(_in_period("occurred_at", start, end), pk__in=ids)
    if team:
        events = events.filter(_team_users("logged_by", team))
    return events


def drill_force(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    stage: Stage,
    effect: str = "",
    team: str = "",
) -> Drilldown:
    """Without `effect`: the customers behind force_friction_by_stage's `force` for the stage
    (and team) — interactions counted as force in it, and survey answers counted as force
    against it (promoters; they belong to no team). With `effect`: the customers with
    interactions of that effect counted in the stage (`interaction_force`,
    `interaction_friction`, or neutral ones)."""
    period = period_words(start, end)
    events = _interactions_in_stage(
        start=start,
        end=end,
        segment=segment,
        owner=owner,
        stage=stage,
        effect=effect or Effect.FORCE,
        team=team,
    )
    if effect:
        return _event_drilldown(
            f"Customers with {Effect(effect).label.lower()} interactions in {stage.name}"
            f"{_team_words(team)} {period}",
            events,
            moment="occurred_at",
            noun=INTERACTIONS,
            column="Interaction on",
            weighted=effect != Effect.NEUTRAL,
        )
    answers = _restrict(
        Response.objects.filter(
            _in_period("answered_at", start, end), stage=stage, effect=Effect.FORCE
        ),
        segment,
        owner,
    )
    if team and team != NO_TEAM:
        answers = answers.none()
    return _event_drilldown(
        f"Customers with interactions or survey answers counted as force in {stage.name}"
        f"{_team_words(team)} {period}",
        events,
        moment="occurred_at",
        noun=("interaction or answer", "interactions and answers"),
        column="Latest on",
        weighted=True,
        more=((answers, "answered_at"),),
    )


def drill_friction(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    stage: Stage,
    cause: str,
    team: str = "",
) -> Drilldown:
    """Customers behind one friction term of force_friction_by_stage for the stage: overdue
    follow-ups (open past due now, against the customer's stage now and the assignee's
    team), detractors (friction answers against `Response.stage`), backward moves (against
    the stage left), unsubscribes (against the stage of the moment) or negative interactions.
    Answers, backward moves and unsubscribes belong to no team."""
    period = period_words(start, end)
    team_words = _team_words(team)
    events: QuerySet[Any]
    if cause == "negative":
        events = _interactions_in_stage(
            start=start,
            end=end,
            segment=segment,
            owner=owner,
            stage=stage,
            effect=Effect.FRICTION,
            team=team,
        )
        return _event_drilldown(
            f"Customers with interactions counted as friction in {stage.name}{team_words} {period}",
            events,
            moment="occurred_at",
            noun=INTERACTIONS,
            column="Interaction on",
            weighted=True,
        )
    if cause == "overdue":
        events = _restrict(
            Task.objects.filter(
                state=TaskState.OPEN, due_at__lt=timezone.now(), customer__stage=stage
            ),
            segment,
            owner,
        )
        if team:
            events = events.filter(_team_users("assignee", team))
        return _event_drilldown(
            f"Customers in {stage.name} with follow-ups overdue now{_team_words(team)}",
            events,
            moment="due_at",
            noun=("overdue follow-up", "overdue follow-ups"),
            column="Follow-up was due",
        )
    # The other causes belong to no team: for a team's row they are none.
    nobody = bool(team) and team != NO_TEAM
    if cause == "detractors":
        events = _restrict(
            Response.objects.filter(
                _in_period("answered_at", start, end), stage=stage, effect=Effect.FRICTION
            ),
            segment,
            owner,
        )
        return _event_drilldown(
            f"Customers in {stage.name} who answered a survey as detractors {period}",
            events.none() if nobody else events,
            moment="answered_at",
            noun=("answer", "answers"),
            column="Answered on",
            weighted=True,
        )
    if cause == "backward":
        events = _moves(start, end, segment, owner).filter(
            direction=Direction.BACKWARD, from_stage=stage
        )
        return _event_drilldown(
            f"Customers who moved back from {stage.name} {period}",
            events.none() if nobody else events,
            moment="occurred_at",
            noun=MOVES,
            column="Moved back on",
        )
    # unsubscribes
    ids = _stage_at_ids(
        "consent_consentevent",
        stage=stage,
        start=start,
        end=end,
        segment=segment,
        owner=owner,
        where="AND NOT x.granted AND x.method = ANY(%s)",
        params=[list(UNSUBSCRIBE_METHODS)],
    )
    events = ConsentEvent.objects.filter(_in_period("occurred_at", start, end), pk__in=ids)
    return _event_drilldown(
        f"Customers in {stage.name} who unsubscribed {period}",
        events.none() if nobody else events,
        moment="occurred_at",
        noun=("unsubscribe", "unsubscribes"),
        column="Unsubscribed on",
    )


# --- surveys, the loop, sources --------------------------------------------------------------


def _answers_details(events: QuerySet[Response]) -> Callable[[list[int]], dict[int, str]]:
    """The latest answer's score and category, and how many answers when several."""

    def details(ids: list[int]) -> dict[int, str]:
        rows = (
            events.filter(customer_id__in=ids)
            .order_by("customer_id", "-answered_at", "-id")
            .values_list("customer_id", "score", "category", "answered_at")
        )
        result: dict[int, str] = {}
        counts: dict[int, int] = {}
        for pk, score, category, answered_at in rows:
            counts[pk] = counts.get(pk, 0) + 1
            if pk not in result:
                result[pk] = f"{score} ({Category(category).label.lower()}), {_when(answered_at)}"
        return {
            pk: text + (f"; {counts[pk]} answers" if counts[pk] > 1 else "")
            for pk, text in result.items()
        }

    return details


def drill_responded(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    kind: str,
    category: str = "",
) -> Drilldown:
    """Customers who answered a survey of the kind in the period (of the category when
    given): the answers survey_trends scores."""
    events = _restrict(
        Response.objects.filter(_in_period("answered_at", start, end), kind=kind), segment, owner
    )
    who = "answered"
    if category:
        events = events.filter(category=category)
        who = f"answered as {Category(category).label.lower()}s"
    return Drilldown(
        description=f"Customers who {who} {SurveyKind(kind).label} {period_words(start, end)}",
        customers=_customers_of(events),
        column="Latest score",
        details=_answers_details(events),
        events=(events,),
        noun=("answer", "answers"),
    )


def drill_loop(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    outcome: str,
) -> Drilldown:
    """Delight customers of the period who did (`completed`) or did not (`open`) close the
    loop in it — referred someone or bought again — exactly as loop_completion counts them
    (the same SQL, `analytics.selectors.loop_customers_sql`)."""
    loop, params = loop_customers_sql(
        start=start, end=end, customers=filtered_customers(segment, owner)
    )
    negate = "" if outcome == "completed" else "NOT"
    ids = RawSQL(  # noqa: S611 - our own SQL; values are bound
        f"""{loop}
        SELECT customer_id FROM delight WHERE customer_id {negate} IN (
            SELECT customer_id FROM referred UNION SELECT customer_id FROM bought
        )""",  # noqa: S608 - our own SQL; values are bound
        params,
    )
    customers = _by_name(customer_queryset().filter(pk__in=ids))
    words = "closed the loop" if outcome == "completed" else "did not close the loop"
    return Drilldown(
        description=(
            f"Customers in Delight who {words} (referred someone or bought again) "
            f"{period_words(start, end)}"
        ),
        customers=customers,
        column="Last activity",
        details=_last_activity,
    )


def _last_activity(ids: list[int]) -> dict[int, str]:
    rows = Customer.objects.filter(pk__in=ids).values_list("pk", "last_activity_at")
    return {pk: _when(moment) for pk, moment in rows if moment}


SOURCE_FIELDS = {"source": "source", "utm_source": "UTM source"}


def drill_source(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    source: str = "",
    field: str = "",
    phase: str = "",
) -> Drilldown:
    """Customers created in the period whose `source` (or, with field=utm_source, whose
    `utm_source`) is the value (empty: none); with a `phase`, only those standing in a stage of
    that phase now (the marketing page's "now in Engage", "now in Delight")."""
    field = field or "source"
    customers = customer_queryset().filter(_in_period("created_at", start, end), **{field: source})
    if phase:
        customers = customers.filter(stage__phase=phase)
    restricted = filtered_customers(segment, owner)
    if restricted is not None:
        customers = customers.filter(pk__in=restricted.values("pk"))
    noun = SOURCE_FIELDS[field]
    what = f"from {noun} {source}" if source else f"without a {noun}"
    now = f", in {Phase(phase).label} now" if phase else ""
    return Drilldown(
        description=f"Customers created {what} {period_words(start, end)}{now}",
        customers=_by_name(customers),
        column="Created on",
        details=_created_on,
    )


CAMPAIGN_EVENTS = {
    "sent": "were sent",
    "open": "opened",
    "click": "clicked in",
    "conversion": "converted after",
}


def drill_campaign(
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
    campaign: Any,
    event: str,
) -> Drilldown:
    """The recipients behind a campaign's numbers (`campaigns.selectors.campaign_list_rates`):
    those whose message was sent, or who opened, clicked or converted (each recipient once,
    however often they did it). A campaign reaches its own audience, so, as its numbers, the
    list ignores the period, the segment and the owner."""
    from campaigns.models import Recipient
    from messaging.models import MessageState

    recipients = Recipient.objects.filter(campaign=campaign)
    if event == "sent":
        recipients = recipients.filter(message__state=MessageState.SENT)
    else:
        recipients = recipients.filter(events__kind=event)
    customers = customer_queryset().filter(pk__in=recipients.values("customer_id"))

    def reached_on(ids: list[int]) -> dict[int, str]:
        rows = Recipient.objects.filter(campaign=campaign, customer_id__in=ids)
        if event == "sent":
            moments = rows.values_list("customer_id", "message__sent_at")
        else:
            moments = rows.filter(events__kind=event).values_list(
                "customer_id", "events__occurred_at"
            )
        first: dict[int, datetime] = {}
        for customer_id, moment in moments:
            if moment is not None and (customer_id not in first or moment < first[customer_id]):
                first[customer_id] = moment
        return {pk: _when(moment) for pk, moment in first.items()}

    verb = CAMPAIGN_EVENTS[event]
    return Drilldown(
        description=(
            f"Customers who {verb} the campaign “{campaign.name}”"
            if event != "sent"
            else f"Customers the campaign “{campaign.name}” was sent to"
        ),
        customers=_by_name(customers),
        column="Sent on" if event == "sent" else "First on",
        details=reached_on,
    )


def _created_on(ids: list[int]) -> dict[int, str]:
    rows = Customer.objects.filter(pk__in=ids).values_list("pk", "created_at")
    return {pk: _when(moment) for pk, moment in rows}


# --- parameters -------------------------------------------------------------------------------


class StageField(forms.ModelChoiceField):
    """A stage by its slug (archived stages too: their history counts)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "error_messages",
            {
                "required": "Name a stage by its slug.",
                "invalid_choice": "There is no stage with the slug “%(value)s”.",
            },
        )
        super().__init__(queryset=Stage.objects.all(), to_field_name="slug", **kwargs)


def _choice(choices: list[tuple[str, str]], *, required: bool = True, what: str) -> Any:
    return forms.ChoiceField(
        choices=([] if required else [("", "Any")]) + choices,
        required=required,
        error_messages={
            "required": f"Choose {what}.",
            "invalid_choice": "Choose one of: " + ", ".join(value for value, _ in choices) + ".",
        },
    )


def _phase_field() -> Any:
    return _choice(Phase.choices, what="a phase")


TEAM_CHOICES = [(slugify(role), role) for role in ROLES] + [(NO_TEAM, "No team")]


class TeamField(forms.CharField):
    """A team: a role by its slug (`sales-rep`) or its name (`Sales rep`, as the selectors
    name it), or "none". Cleaned to the role's name, as force_friction_by_stage reports it."""

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value:
            return ""
        names = {slugify(role): role for role in ROLES} | {NO_TEAM: NO_TEAM}
        team = names.get(slugify(value))
        if team is None:
            raise forms.ValidationError(
                "Choose one of: " + ", ".join(slug for slug, _ in TEAM_CHOICES) + "."
            )
        return team


class DrillForm(forms.Form):
    """The parameters of one kind (the filters are read by the filter bar)."""


class StageForm(DrillForm):
    stage = StageField()


class PhaseForm(DrillForm):
    phase = _phase_field()


class MovedForm(DrillForm):
    from_stage = forms.CharField(
        max_length=50, error_messages={"required": 'Name the stage left (or "new").'}
    )
    to_stage = StageField()
    direction = _choice(Direction.choices, required=False, what="a direction")

    def clean_from_stage(self) -> Stage | None:
        slug = self.cleaned_data["from_stage"]
        if slug == NEW:
            return None
        stage = Stage.objects.filter(slug=slug).first()
        if stage is None:
            raise forms.ValidationError(f"There is no stage with the slug “{slug}” (or use “new”).")
        return stage


class CrossedForm(DrillForm):
    from_phase = _phase_field()
    to_phase = _phase_field()


class ForceForm(DrillForm):
    stage = StageField()
    effect = _choice(Effect.choices, required=False, what="an effect")
    team = TeamField(required=False, max_length=50)


class FrictionForm(DrillForm):
    stage = StageField()
    cause = _choice(list(FRICTION_CAUSES.items()), what="a cause of friction")
    team = TeamField(required=False, max_length=50)


class RespondedForm(DrillForm):
    kind = _choice(SurveyKind.choices, what="a survey kind")
    category = _choice(Category.choices, required=False, what="a category")


class LoopForm(DrillForm):
    outcome = _choice([(o, o.capitalize()) for o in LOOP_OUTCOMES], what="an outcome")


class SourceForm(DrillForm):
    source = forms.CharField(required=False, max_length=100, strip=False)
    field = _choice(list(SOURCE_FIELDS.items()), required=False, what="a source field")
    phase = _choice(Phase.choices, required=False, what="a phase")


class CampaignForm(DrillForm):
    campaign: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None,
        error_messages={
            "required": "Name a campaign by its id.",
            "invalid_choice": "There is no campaign with that id.",
        },
    )
    event = _choice([(key, key) for key in CAMPAIGN_EVENTS], what="what the recipients did")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from campaigns.models import Campaign

        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.all()  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Kind:
    """One kind of drill-down: its name (`of`), the form of its parameters, its function."""

    name: str
    form: type[DrillForm]
    select: Callable[..., Drilldown]
    explains: str  # the number it explains, for the docs and the error page
    params: tuple[str, ...] = field(default=())


def _kind(name: str, form: type[DrillForm], select: Callable[..., Drilldown], explains: str):
    return Kind(name, form, select, explains, tuple(form.base_fields))


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        _kind("stage", StageForm, drill_stage, "customers in a stage (stage counts)"),
        _kind("phase", PhaseForm, drill_phase, "customers in a phase (phase counts)"),
        _kind("moved", MovedForm, drill_moved, "a cell of the transition matrix"),
        _kind("crossed", CrossedForm, drill_crossed, "the flow between two phases"),
        _kind("entered", PhaseForm, drill_entered, "a phase's entries"),
        _kind("left", PhaseForm, drill_left, "a phase's exits"),
        _kind("converted", PhaseForm, drill_converted, "a phase's conversions"),
        _kind("velocity", StageForm, drill_velocity, "the stays velocity measures"),
        _kind("force", ForceForm, drill_force, "interactions and their force by stage"),
        _kind("friction", FrictionForm, drill_friction, "a term of friction by stage"),
        _kind("responded", RespondedForm, drill_responded, "survey answers"),
        _kind("loop", LoopForm, drill_loop, "loop completion"),
        _kind("source", SourceForm, drill_source, "new customers by source"),
        _kind("campaign", CampaignForm, drill_campaign, "a campaign's sends, opens, clicks"),
    )
}


class DrillError(Exception):
    """The drill-down cannot be drawn: `errors` maps each bad parameter to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def drilldown_for(
    params: Any,
    *,
    start: date,
    end: date,
    segment: Segment | None = None,
    owner: AbstractBaseUser | None = None,
) -> Drilldown:
    """The drill-down a query string asks for (`of` and its parameters), for the filters.
    Raises DrillError naming the parameter when `of` is unknown or a parameter is bad."""
    of = params.get("of", "")
    kind = KINDS.get(of)
    if kind is None:
        message = "Choose what to list: one of " + ", ".join(KINDS) + "."
        if of:
            message = f"There is no drill-down {of[:40]!r}. " + message
        raise DrillError({"of": [message]})
    form = kind.form(params)
    if not form.is_valid():
        raise DrillError({name: [str(e) for e in errors] for name, errors in form.errors.items()})
    return kind.select(start=start, end=end, segment=segment, owner=owner, **form.cleaned_data)
