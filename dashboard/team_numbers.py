"""Reads for the team pages (marketing, sales, support) that no app's selectors answer yet.

Each function is one bounded read (one or two grouped queries, whatever the number of rows):
the pages list many sources, segments, stages, cases and surveys, and a query per row would
grow with them. Numbers the analytics selectors already define (campaign performance, stage
counts, force and friction, costs) are not recomputed here: the views call those selectors.

Like `analytics.selectors`, a period is two dates, both included, in UTC days, and a
`segment` or an `owner` restricts the numbers to that segment's customers now or that
owner's customers now.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from analytics.selectors import filtered_customers
from customers.models import Customer
from interactions.models import CaseState, Interaction, Purchase
from interactions.selectors import TaskBuckets, interaction_queryset, task_buckets_for_user
from leadforms.models import LeadForm, Submission, SubmissionState
from segments.models import Segment, SegmentMember
from segments.selectors import segment_count_recent
from stages.models import Phase
from surveys.models import Invitation, InvitationState, Response, Survey
from surveys.scoring import Category
from surveys.selectors import SENT_STATES

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# How many rows a list on a team page shows at most; each list says how many there are in
# all and links to the full page.
LIST_LIMIT = 25
SEGMENT_LIMIT = 12
UPCOMING_DAYS = 7


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[midnight UTC of `start`, midnight UTC after `end`): the period as moments."""
    return (
        datetime.combine(start, time.min, tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
    )


def _within(rows: QuerySet[Any], customers: QuerySet[Customer] | None) -> QuerySet[Any]:
    return rows if customers is None else rows.filter(customer__in=customers.values("pk"))


# --- marketing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceConversion:
    """Customers created in the period with one source, and where they stand now."""

    source: str
    customers: int
    in_engage: int
    in_delight: int

    @property
    def converted(self) -> int:
        return self.in_engage + self.in_delight

    @property
    def rate(self) -> float | None:
        """Share of them who have left Attract (now in Engage or Delight)."""
        return self.converted / self.customers if self.customers else None


SOURCE_FIELDS = ("source", "utm_source")


def source_conversion(
    *,
    start: date,
    end: date,
    field: str = "source",
    segment: Segment | None = None,
    owner: Any = None,
) -> list[SourceConversion]:
    """Per value of `field` (`source` or `utm_source`; "" for none): the customers created in
    the period with it, and how many of them stand in an Engage or a Delight stage now (the
    conversion of that source). Largest first. One grouped query."""
    if field not in SOURCE_FIELDS:
        raise ValueError(f"Unknown source field {field!r}.")
    since, until = period_bounds(start, end)
    customers = Customer.objects.filter(created_at__gte=since, created_at__lt=until)
    restricted = filtered_customers(segment, owner)
    if restricted is not None:
        customers = customers.filter(pk__in=restricted.values("pk"))
    rows = (
        customers.order_by()
        .values(field)
        .annotate(
            n=Count("pk"),
            engage=Count("pk", filter=Q(stage__phase=Phase.ENGAGE)),
            delight=Count("pk", filter=Q(stage__phase=Phase.DELIGHT)),
        )
        .order_by("-n", field)
    )
    return [SourceConversion(row[field], row["n"], row["engage"], row["delight"]) for row in rows]


@dataclass(frozen=True)
class SegmentCount:
    segment: Segment
    customers: int


def segment_counts(*, limit: int = SEGMENT_LIMIT) -> tuple[list[SegmentCount], int]:
    """The first `limit` segments by name with their count now, and how many segments there
    are. Static lists are counted together in one grouped query; a dynamic segment's count
    comes from `segments.selectors.segment_count_recent` (at most five minutes old, from the
    cache), so the page costs one COUNT per dynamic segment only when its count is cold."""
    total = Segment.objects.count()
    segments = list(Segment.objects.order_by("name", "id")[:limit])
    static = [s.pk for s in segments if not s.is_dynamic]
    members = dict(
        SegmentMember.objects.filter(segment_id__in=static)
        .order_by()
        .values_list("segment_id")
        .annotate(n=Count("pk"))
        .values_list("segment_id", "n")
    )
    return [
        SegmentCount(s, segment_count_recent(s) if s.is_dynamic else members.get(s.pk, 0))
        for s in segments
    ], total


@dataclass(frozen=True)
class FormSubmissions:
    form_id: int
    name: str
    submissions: int
    new_customers: int


def leadform_submissions(*, start: date, end: date) -> list[FormSubmissions]:
    """Per lead form with submissions in the period: submissions (spam left out) and the
    new customers they created (`leadforms.selectors.leadform_stats`'s definitions), in one
    grouped query. Most submissions first."""
    since, until = period_bounds(start, end)
    real = ~Q(state=SubmissionState.SPAM)
    rows = (
        Submission.objects.filter(real, created_at__gte=since, created_at__lt=until)
        .order_by()
        .values("form_id")
        .annotate(
            n=Count("pk"),
            new=Count("customer", filter=Q(created_customer=True), distinct=True),
        )
    )
    counts = {row["form_id"]: row for row in rows}
    names = dict(LeadForm.objects.filter(pk__in=counts).values_list("pk", "name"))
    return sorted(
        (
            FormSubmissions(pk, names.get(pk, ""), row["n"], row["new"])
            for pk, row in counts.items()
        ),
        key=lambda f: (-f.submissions, f.name),
    )


# --- sales ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageValue:
    """What one owner's customers standing in a stage now have bought, in one currency."""

    stage_id: int
    currency: str
    total: Decimal
    buyers: int


def pipeline_value(*, owner: Any, segment: Segment | None = None) -> dict[int, list[StageValue]]:
    """{stage id: [value per currency]}: Σ `Purchase.amount` (lifetime) of the owner's
    customers, by the stage they stand in now. Currencies are never added together."""
    purchases = _within(Purchase.objects.all(), filtered_customers(segment, owner))
    rows = (
        purchases.order_by()
        .values("customer__stage_id", "currency")
        .annotate(total=Sum("amount"), buyers=Count("customer", distinct=True))
        .order_by("customer__stage_id", "currency")
    )
    values: dict[int, list[StageValue]] = defaultdict(list)
    for row in rows:
        stage_id = row["customer__stage_id"]
        values[stage_id].append(StageValue(stage_id, row["currency"], row["total"], row["buyers"]))
    return dict(values)


def tasks_this_week(*, user: User, now: datetime | None = None) -> TaskBuckets:
    """The user's open tasks as "My tasks" sorts them (`task_buckets_for_user`, which reads
    at most its first 100 upcoming ones), with only the next `UPCOMING_DAYS` days of
    upcoming ones."""
    now = now or timezone.now()
    buckets = task_buckets_for_user(user=user, now=now)
    horizon = now + timedelta(days=UPCOMING_DAYS)
    return TaskBuckets(
        overdue=buckets.overdue,
        today=buckets.today,
        upcoming=[task for task in buckets.upcoming if task.due_at < horizon],
    )


def interactions_logged(
    *, user: Any, start: date, end: date, limit: int = LIST_LIMIT
) -> tuple[list[Interaction], int]:
    """The newest `limit` interactions `user` logged in the period, and how many in all."""
    since, until = period_bounds(start, end)
    logged = interaction_queryset().filter(
        logged_by_id=user.pk, occurred_at__gte=since, occurred_at__lt=until
    )
    return list(logged.order_by("-occurred_at", "-id")[:limit]), logged.count()


# --- support -----------------------------------------------------------------------------------


def open_cases(
    *, customers: QuerySet[Customer] | None = None, limit: int = LIST_LIMIT
) -> tuple[list[Interaction], int]:
    """Support cases open now, oldest first (the longest wait at the top), and how many."""
    cases = _within(Interaction.objects.filter(case_state=CaseState.OPEN), customers)
    first = list(
        cases.select_related("customer", "customer__stage", "logged_by").order_by(
            "occurred_at", "id"
        )[:limit]
    )
    return first, cases.count() if len(first) == limit else len(first)


def detractors_to_call_back(
    *,
    start: date,
    end: date,
    customers: QuerySet[Customer] | None = None,
    limit: int = LIST_LIMIT,
) -> tuple[list[Response], int]:
    """Detractor answers given in the period whose customer has had no interaction since
    (none occurred at or after the answer): someone should call them. One answer per
    customer, their latest; the longest waiting first. Returns the first `limit` and how
    many customers in all."""
    since, until = period_bounds(start, end)
    contacted_since = Interaction.objects.filter(
        customer_id=OuterRef("customer_id"), occurred_at__gte=OuterRef("answered_at")
    )
    answers = _within(
        Response.objects.filter(
            category=Category.DETRACTOR, answered_at__gte=since, answered_at__lt=until
        ),
        customers,
    )
    latest = (
        answers.order_by("customer_id", "-answered_at", "-id").distinct("customer_id").values("pk")
    )
    waiting = Response.objects.filter(pk__in=latest).exclude(Exists(contacted_since))
    first = list(waiting.select_related("customer", "survey").order_by("answered_at", "id")[:limit])
    return first, waiting.count() if len(first) == limit else len(first)


@dataclass(frozen=True)
class SurveySends:
    """One survey's invitations sent in the period, and how many of those were answered."""

    survey: Survey
    sent: int
    answered: int

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None


def survey_sends(
    *, start: date, end: date, customers: QuerySet[Customer] | None = None
) -> list[SurveySends]:
    """Per survey with invitations sent in the period (`sent_at` in it, whatever became of
    them since: sent, answered or expired): how many, and how many are answered by now."""
    since, until = period_bounds(start, end)
    rows = (
        _within(
            Invitation.objects.filter(state__in=SENT_STATES, sent_at__gte=since, sent_at__lt=until),
            customers,
        )
        .order_by()
        .values("survey_id")
        .annotate(sent=Count("pk"), answered=Count("pk", filter=Q(state=InvitationState.ANSWERED)))
    )
    counts = {row["survey_id"]: row for row in rows}
    surveys = Survey.objects.filter(pk__in=counts).order_by("kind", "name")
    return [SurveySends(s, counts[s.pk]["sent"], counts[s.pk]["answered"]) for s in surveys]


@dataclass(frozen=True)
class KindAnswers:
    """Customers who answered a survey of one kind in the period, and those of them who
    gave a detractor's answer (the customers `of=responded` lists)."""

    kind: str
    customers: int
    detractors: int


def answers_by_kind(
    *, start: date, end: date, customers: QuerySet[Customer] | None = None
) -> list[KindAnswers]:
    """Per survey kind answered in the period: the customers who answered, and those who
    answered as detractors (distinct customers: one who answered twice is one person)."""
    since, until = period_bounds(start, end)
    rows = (
        _within(Response.objects.filter(answered_at__gte=since, answered_at__lt=until), customers)
        .order_by()
        .values("kind")
        .annotate(
            n=Count("customer", distinct=True),
            bad=Count("customer", filter=Q(category=Category.DETRACTOR), distinct=True),
        )
        .order_by("kind")
    )
    return [KindAnswers(row["kind"], row["n"], row["bad"]) for row in rows]
