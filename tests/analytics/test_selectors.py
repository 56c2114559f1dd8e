"""The flywheel numbers as docs/metrics.md defines them, on small histories whose answers
can be worked out by hand; and the same numbers through the rollups and through the raw
records (a segment or owner filter) agree on random histories."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from analytics import selectors
from analytics.services import rollups_fold
from interactions.services import interaction_log, task_create
from segments.services import segment_create
from stages.models import ActorKind
from stages.services import customer_move_stage
from surveys.models import InvitationSource
from surveys.services import survey_answer, survey_invite

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def move(customer, stage, when):
    return customer_move_stage(
        customer=customer, to_stage=stage, actor_kind=ActorKind.USER, occurred_at=when
    )


@pytest.fixture
def wheel(customer_factory, stages):
    """Three customers over the last 20 days:

    ann: awareness (20 days ago) → evaluation (15) → purchase (10) → post_purchase (5)
    bob: awareness (20) → purchase (12, a skip) → evaluation (8, backward)
    cid: post_purchase (18) → evaluation (6, a new cycle)
    """
    ann = customer_factory(email="ann@example.com", created_at=at(ago(20)))
    move(ann, stages["evaluation"], at(ago(15)))
    move(ann, stages["purchase"], at(ago(10)))
    move(ann, stages["post_purchase"], at(ago(5)))
    bob = customer_factory(email="bob@example.com", created_at=at(ago(20)))
    move(bob, stages["purchase"], at(ago(12)))
    move(bob, stages["evaluation"], at(ago(8)))
    cid = customer_factory(email="cid@example.com", created_at=at(ago(18)), stage="post_purchase")
    move(cid, stages["evaluation"], at(ago(6)))
    return {"ann": ann, "bob": bob, "cid": cid}


def counts(rows, bucket):
    return {row.stage: row.customers for row in rows if row.bucket == bucket}


@pytest.mark.parametrize("folded", [False, True])
def test_stage_counts_over_time_follow_every_move(wheel, folded):
    if folded:
        rollups_fold()

    rows = selectors.stage_counts_over_time(start=ago(16), end=TODAY, granularity="day")

    assert counts(rows, ago(16)) == {
        "awareness": 2,
        "evaluation": 0,
        "purchase": 0,
        "post_purchase": 1,
        "advocacy": 0,
    }
    assert counts(rows, ago(12)) == {
        "awareness": 0,
        "evaluation": 1,
        "purchase": 1,
        "post_purchase": 1,
        "advocacy": 0,
    }
    assert counts(rows, TODAY) == {
        "awareness": 0,
        "evaluation": 2,
        "purchase": 0,
        "post_purchase": 1,
        "advocacy": 0,
    }
    day_12 = {row.stage: (row.entries, row.exits) for row in rows if row.bucket == ago(12)}
    assert day_12["purchase"] == (1, 0)
    assert day_12["awareness"] == (0, 1)


def test_the_last_count_is_the_number_of_customers_in_each_stage_now(wheel):
    rows = selectors.stage_counts_over_time(start=ago(30), end=TODAY, granularity="month")
    last = max(row.bucket for row in rows)

    assert counts(rows, last) == {
        "awareness": 0,
        "evaluation": 2,
        "purchase": 0,
        "post_purchase": 1,
        "advocacy": 0,
    }


def test_weekly_and_monthly_buckets_start_on_monday_and_on_the_first():
    assert selectors.bucket_of(date(2026, 11, 29), "week") == date(2026, 11, 23)
    assert selectors.bucket_of(date(2026, 11, 29), "month") == date(2026, 11, 1)
    assert selectors.buckets(
        start=date(2026, 1, 30), end=date(2026, 3, 2), granularity="month"
    ) == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_the_database_puts_every_day_in_the_same_bucket_as_python(granularity):
    """The rollups are bucketed in SQL (`bucket_sql`), the raw records in Python
    (`bucket_of`): both must agree on every day, across years, leap days and the first
    and last dates a period may hold."""
    from django.db import connection

    edges = [date(1900, 1, 1), date(2000, 2, 29), date(2999, 12, 31)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT day, {selectors.bucket_sql("day", granularity)} FROM (
                SELECT generate_series(%s::date, %s::date, '1 day')::date AS day
                UNION ALL SELECT unnest(%s::date[])
            ) AS days""",  # noqa: S608 - our own SQL
            [date(2023, 12, 1), date(2026, 3, 31), edges],
        )
        rows = cursor.fetchall()
    assert len(rows) > 800
    assert [day for day, bucket in rows if bucket != selectors.bucket_of(day, granularity)] == []


def test_phase_counts_add_up_the_stages_and_count_only_moves_between_phases(wheel):
    rows = selectors.phase_counts_over_time(start=ago(16), end=TODAY, granularity="month")
    total = {
        phase: sum(r.entries for r in rows if r.phase == phase)
        for phase in ("attract", "engage", "delight")
    }

    now = {row.phase: row.customers for row in rows if row.bucket == max(r.bucket for r in rows)}
    assert now == {"attract": 0, "engage": 2, "delight": 1}
    # ann and bob into engage (15, 12), cid back into engage (6); ann into delight (5).
    # ann's evaluation → purchase and bob's purchase → evaluation stay inside engage.
    assert total == {"attract": 0, "engage": 3, "delight": 1}


def test_the_transition_matrix_counts_each_kind_of_move(wheel):
    cells = {
        (c.from_stage, c.to_stage, c.direction): c.transitions
        for c in selectors.transition_matrix(start=ago(16), end=TODAY)
    }

    assert cells == {
        ("awareness", "evaluation", "forward"): 1,
        ("awareness", "purchase", "skip"): 1,
        ("evaluation", "purchase", "forward"): 1,
        ("purchase", "evaluation", "backward"): 1,
        ("purchase", "post_purchase", "forward"): 1,
        ("post_purchase", "evaluation", "new_cycle"): 1,
    }
    entries = selectors.transition_matrix(start=ago(20), end=ago(18))
    assert [(c.from_stage, c.to_stage, c.transitions) for c in entries] == [
        (None, "awareness", 2),
        (None, "post_purchase", 1),
    ]


def test_phase_conversion_divides_moves_on_by_the_phase_population(wheel):
    rows = {row.phase: row for row in selectors.phase_conversion(start=ago(16), end=TODAY)}

    # Attract: ann and bob there at the start; both moved on to engage.
    assert (rows["attract"].at_start, rows["attract"].converted, rows["attract"].rate) == (
        2,
        2,
        1.0,
    )
    # Engage: nobody at the start, three entries (ann, bob, cid); ann moved on to delight.
    assert (rows["engage"].entered, rows["engage"].converted) == (3, 1)
    assert rows["engage"].rate == round(1 / 3, 4)
    # Delight: cid at the start, ann entered; cid went round again.
    assert (rows["delight"].at_start, rows["delight"].entered, rows["delight"].converted) == (
        1,
        1,
        1,
    )
    assert rows["delight"].to == "new_cycle"


def test_velocity_is_the_median_and_90th_percentile_of_the_stays_ended_in_the_period(wheel):
    rows = {row.stage: row for row in selectors.stage_velocity(start=ago(16), end=TODAY)}

    day = 86400
    within = 0.01
    # Awareness stays ended: ann 5 days (20 → 15), bob 8 days (20 → 12).
    assert rows["awareness"].stays == 2
    assert rows["awareness"].median_seconds == pytest.approx(5 * day, rel=within)
    assert rows["awareness"].p90_seconds == pytest.approx(8 * day, rel=within)
    assert rows["awareness"].mean_seconds == 6.5 * day
    # Purchase: ann 5 days, bob 4 days; post_purchase: cid 12 days.
    assert rows["purchase"].median_seconds == pytest.approx(4 * day, rel=within)
    assert rows["post_purchase"].median_seconds == pytest.approx(12 * day, rel=within)
    assert rows["advocacy"].stays == 0
    assert rows["advocacy"].median_seconds is None


def test_velocity_percentiles_by_nearest_rank(customer_factory, stages):
    """Ten stays of 1 to 10 hours: the median is the 5th, the 90th percentile the 9th."""
    for hours in range(1, 11):
        customer = customer_factory(created_at=at(ago(3)))
        move(customer, stages["evaluation"], at(ago(3)) + timedelta(hours=hours))

    awareness = next(
        r for r in selectors.stage_velocity(start=ago(3), end=TODAY) if r.stage == "awareness"
    )

    assert awareness.stays == 10
    assert awareness.median_seconds == pytest.approx(5 * 3600, rel=0.01)
    assert awareness.p90_seconds == pytest.approx(9 * 3600, rel=0.01)
    assert awareness.mean_seconds == 5.5 * 3600


def test_force_and_friction_by_stage_and_team(wheel, stages, sales_rep, support, surveys):
    ann, bob = wheel["ann"], wheel["bob"]
    # ann was in purchase 10 → 5 days ago, in post_purchase since.
    interaction_log(
        customer=ann,
        kind="meeting",
        outcome="positive",
        summary="Demo",
        logged_by=sales_rep,
        occurred_at=at(ago(7)),
    )
    interaction_log(
        customer=ann,
        kind="support_case",
        outcome="complaint",
        summary="Broken",
        logged_by=support,
        occurred_at=at(ago(2)),
    )
    interaction_log(
        customer=ann,
        kind="call",
        outcome="positive",
        summary="Thanks",
        logged_by=support,
        occurred_at=at(ago(1)),
    )
    survey_answer(
        invitation=survey_invite(
            survey=surveys["nps"], customer=bob, source=InvitationSource.MANUAL
        ),
        score=2,
    )  # a detractor (friction 1) in evaluation; it opens a call-back task (not yet overdue)
    task_create(
        customer=bob,
        title="Late",
        due_at=timezone.now() + timedelta(minutes=1),
        assignee=sales_rep,
        created_by=None,
    )

    rows = {
        (row.stage, row.team): row
        for row in selectors.force_friction_by_stage(
            start=ago(16), end=TODAY, now=timezone.now() + timedelta(hours=1)
        )
    }

    assert rows[("purchase", "Sales rep")].interaction_force == 2
    post = rows[("post_purchase", "Support")]
    assert (post.interaction_force, post.interaction_friction, post.net) == (1, 3, -2)
    evaluation = rows[("evaluation", "none")]
    assert evaluation.survey_friction == 1
    assert rows[("purchase", "none")].backward_moves == 1  # bob fell back from purchase
    assert rows[("evaluation", "Sales rep")].overdue_tasks == 1


def test_momentum_is_force_minus_friction_per_bucket(wheel, sales_rep):
    ann = wheel["ann"]
    interaction_log(
        customer=ann,
        kind="meeting",
        outcome="positive",
        summary="Demo",
        logged_by=sales_rep,
        occurred_at=at(ago(7)),
    )
    interaction_log(
        customer=ann,
        kind="call",
        outcome="complaint",
        summary="Angry",
        logged_by=sales_rep,
        occurred_at=at(ago(7), 15),
    )

    points = {
        p.bucket: p
        for p in selectors.momentum_over_time(start=ago(9), end=TODAY, granularity="day")
    }

    assert (points[ago(7)].force, points[ago(7)].friction, points[ago(7)].momentum) == (2, 3, -1)
    assert points[ago(8)].friction == 1  # bob's backward move
    assert points[ago(3)].momentum == 0


def test_survey_trends_score_each_bucket(customer_factory, surveys):
    customers = [customer_factory() for _ in range(4)]
    for customer, score in zip(customers, [10, 9, 7, 3], strict=True):
        survey_answer(
            invitation=survey_invite(
                survey=surveys["nps"], customer=customer, source=InvitationSource.MANUAL
            ),
            score=score,
        )

    points = selectors.survey_trends(start=ago(1), end=TODAY, granularity="day", kind="nps")

    today = next(p for p in points if p.bucket == TODAY)
    assert (today.answers, today.promoters, today.passives, today.detractors) == (4, 2, 1, 1)
    assert today.score == Decimal(25)
    yesterday = next(p for p in points if p.bucket == ago(1))
    assert yesterday.answers == 0
    assert yesterday.score is None


def test_a_segment_or_an_owner_restricts_every_number_to_its_customers(wheel, sales_rep):
    from customers.models import Customer

    Customer.objects.filter(pk=wheel["bob"].pk).update(owner=sales_rep)
    segment = segment_create(
        name="Ann only",
        definition={"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]},
    )
    Customer.objects.filter(pk=wheel["ann"].pk).update(tags=["vip"])

    by_owner = selectors.transition_matrix(start=ago(16), end=TODAY, owner=sales_rep)
    by_segment = selectors.stage_counts_over_time(
        start=ago(1), end=TODAY, granularity="month", segment=segment
    )

    assert {(c.from_stage, c.to_stage) for c in by_owner} == {
        ("awareness", "purchase"),
        ("purchase", "evaluation"),
    }
    assert {r.stage: r.customers for r in by_segment if r.customers} == {"post_purchase": 1}


@pytest.mark.parametrize("seed", [11, 12])
def test_rollups_and_raw_records_give_the_same_numbers(random_history, seed):
    """Everyone as a segment that matches all (computed from raw) against the rollups."""
    random_history(seed)
    rollups_fold()
    everyone = segment_create(name="Everyone", definition={"op": "and", "rules": []})
    this_month = TODAY.replace(day=1)
    two_months_ago = (this_month - timedelta(days=40)).replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    periods = [
        {"start": ago(100), "end": TODAY},  # partial months at both ends
        {"start": two_months_ago, "end": this_month - timedelta(days=1)},  # whole months
        # Months read whole less the days outside the period: the end's month, the start's.
        {"start": two_months_ago + timedelta(days=20), "end": last_month + timedelta(days=25)},
        {"start": two_months_ago + timedelta(days=2), "end": last_month + timedelta(days=3)},
        {"start": last_month + timedelta(days=10), "end": last_month + timedelta(days=12)},
        {"start": ago(30), "end": TODAY},  # the default period
    ]

    cases: list[tuple[Callable[..., Any], dict[str, Any]]] = [
        (selectors.stage_counts_over_time, {"granularity": "week"}),
        (selectors.phase_counts_over_time, {"granularity": "month"}),
        (selectors.transition_matrix, {}),
        (selectors.phase_conversion, {}),
        (selectors.stage_velocity, {}),
        (selectors.loop_completion, {}),
        (selectors.force_friction_by_stage, {}),
        (selectors.momentum_over_time, {"granularity": "day"}),
        (selectors.momentum_over_time, {"granularity": "week"}),
        (selectors.survey_trends, {"granularity": "week"}),
        (selectors.survey_trends, {"granularity": "month"}),
    ]
    for period, (selector, extra) in itertools.product(periods, cases):
        assert selector(**period, **extra) == selector(**period, **extra, segment=everyone), (
            selector.__name__
        )


def test_loop_completion_counts_delight_customers_who_referred_or_bought_again(
    customer_factory, stages
):
    from interactions.services import purchase_record

    ann = customer_factory(email="ann@example.com", created_at=at(ago(20)), stage="post_purchase")
    customer_factory(email="bea@example.com", created_at=at(ago(20)), stage="post_purchase")
    old = customer_factory(email="old@example.com", created_at=at(ago(20)), stage="awareness")
    customer_factory(referral_code=ann.referral_code, email="new@example.com")
    purchase_record(
        customer=old, amount=Decimal(10), currency="EUR", recorded_by=None, occurred_at=at(ago(9))
    )  # first purchase: moves old to purchase, not yet delight
    move(old, stages["post_purchase"], at(ago(8)))
    purchase_record(
        customer=old, amount=Decimal(20), currency="EUR", recorded_by=None, occurred_at=at(ago(3))
    )  # bought again while in delight (and went round the wheel)

    result = selectors.loop_completion(start=ago(10), end=TODAY)

    assert (result.delight_customers, result.referred, result.bought_again) == (3, 1, 1)
    assert result.closed_loop == 2
    assert result.rate == round(2 / 3, 4)


def test_unsubscribes_are_friction_against_the_stage_of_the_moment(customer_factory, stages):
    from consent.services import consent_record

    customer = customer_factory(email="u@example.com", stage="evaluation", email_consent=True)
    consent_record(customer=customer, channel="email", granted=False, method="unsubscribe_link")
    other = customer_factory(email="v@example.com", email_consent=True)
    consent_record(customer=other, channel="email", granted=False, method="dashboard")

    rows = selectors.force_friction_by_stage(start=TODAY, end=TODAY)
    points = selectors.momentum_over_time(start=TODAY, end=TODAY, granularity="day")

    assert {(r.stage, r.unsubscribes) for r in rows if r.unsubscribes} == {("evaluation", 1)}
    assert points[0].friction == 1  # a staff member's change is no unsubscribe


def test_lifetime_value_by_segment_per_currency(customer_factory):
    from interactions.services import purchase_record

    vip = segment_create(
        name="VIP",
        definition={"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]},
    )
    ann = customer_factory(email="ann@example.com", tags=["vip"])
    bob = customer_factory(email="bob@example.com", tags=["vip"])
    customer_factory(email="cid@example.com", tags=["vip"])
    outsider = customer_factory(email="out@example.com")
    for customer, amount, currency in [
        (ann, "100.00", "EUR"),
        (ann, "50.00", "EUR"),
        (bob, "10.00", "EUR"),
        (bob, "7.00", "USD"),
        (outsider, "999.00", "EUR"),
    ]:
        purchase_record(
            customer=customer, amount=Decimal(amount), currency=currency, recorded_by=None
        )

    rows = {r.currency: r for r in selectors.lifetime_value_by_segment(segment=vip)}

    assert rows["EUR"].lifetime_value == Decimal("160.00")
    assert (rows["EUR"].customers, rows["EUR"].buyers, rows["EUR"].purchases) == (3, 2, 3)
    assert rows["EUR"].average_per_buyer == Decimal("80.00")
    assert rows["EUR"].average_per_customer == Decimal("53.33")
    assert rows["USD"].lifetime_value == Decimal("7.00")
    assert [r.segment for r in selectors.lifetime_value_by_segment()] == ["VIP", "VIP"]


def test_costs_and_campaign_performance_come_from_the_campaign_numbers(customer_factory):
    from campaigns.models import Campaign
    from campaigns.services import campaign_create

    buyer = customer_factory(email="lead@example.com", utm_source="newsletter")
    campaign = campaign_create(
        name="Autumn",
        customer_ids=[buyer.pk],
        variants=[{"name": "A", "split": 100, "subject": "Hi", "body_text": "Hello"}],
        cost=Decimal("120.00"),
        currency="EUR",
        utm_source="newsletter",
    )
    Campaign.objects.filter(pk=campaign.pk).update(state="sending", started_at=timezone.now())

    costs = selectors.acquisition_vs_retention_cost(start=ago(1), end=TODAY)
    performance = selectors.campaign_performance(start=ago(1), end=TODAY)

    assert [(c.currency, c.acquisition_cost, c.new_customers) for c in costs] == [
        ("EUR", Decimal("120.00"), 1)
    ]
    assert costs[0].cost_per_new_customer == Decimal("120.00")
    assert [(p.name, p.cost, p.sent) for p in performance] == [("Autumn", Decimal("120.00"), 0)]
    assert selectors.campaign_performance(start=ago(9), end=ago(2)) == []


@pytest.mark.parametrize(
    ("start", "end", "plan"),
    [
        # A period ending on the 29th of 30 days reads its month whole, less the 30th.
        (date(2026, 10, 31), date(2026, 11, 29), (date(2026, 11, 1), date(2026, 12, 1))),
        # Whole months are read whole.
        (date(2026, 1, 1), date(2026, 3, 31), (date(2026, 1, 1), date(2026, 4, 1))),
        # A few days in a month's middle are read as days (no month).
        (date(2026, 5, 10), date(2026, 5, 12), None),
        # A year from the 30th: its first day alone, then twelve months.
        (date(2025, 11, 30), date(2026, 11, 29), (date(2025, 12, 1), date(2026, 12, 1))),
    ],
)
def test_a_period_reads_whole_months_where_that_reads_the_fewest_days(start, end, plan):
    first, after = selectors._month_plan(start, end)
    if plan is None:
        assert first >= after
    else:
        assert (first, after) == plan
