"""The customers behind a number are the ones the number counts.

On a random history written through the product's services (moves, interactions, survey
answers, purchases) plus overdue follow-ups, unsubscribes, a loop-closing referral and lead
sources, every drill-down kind is checked, for two periods (one ending today, one in the
past) and with no filter, an owner and a segment:

- its count (of customers, or of the records the number counts) equals the selector's number;
- its customers are exactly the distinct customers of those records, recomputed here from
  the raw rows by the definitions of docs/metrics.md;

and the page renders for a role, refuses a user without the permission, exports CSV for
those allowed, and answers a bad parameter with a 400 naming it.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from accounts.roles import ROLES
from analytics import selectors
from consent.models import ConsentEvent
from consent.services import consent_record
from customers.models import Customer
from dashboard import drilldown
from dashboard.filters import DashboardFilters
from dashboard.links import drill_url
from interactions.models import Interaction, Task, TaskState
from interactions.services import task_create
from segments.services import segment_create
from stages.models import Phase, Stage, StageTransition
from surveys.models import Response
from tests.analytics.conftest import random_history, surveys  # noqa: F401 - fixtures
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()
TEAMS = [*ROLES, selectors.NO_TEAM]


@pytest.fixture
def history(random_history: Callable[..., list[Customer]]) -> list[Customer]:  # noqa: F811
    """A random history, with what it lacks: overdue follow-ups, unsubscribes, a referral by
    a Delight customer, and sources."""
    made = random_history(21, customers=14)
    users = list(User.objects.filter(username__startswith="u21-"))
    now = timezone.now()
    for n, customer in enumerate(made):
        if n % 3 == 0:
            task_create(
                customer=customer,
                title="Call back",
                due_at=now - timedelta(days=n + 1),
                assignee=users[n % len(users)],
            )
        if n % 5 == 1:
            consent_record(
                customer=customer, channel="email", granted=False, method="unsubscribe_link"
            )
        Customer.objects.filter(pk=customer.pk).update(source=["", "web", "fair"][n % 3])
    delighted = Customer.objects.filter(stage__phase=Phase.DELIGHT).first()
    if delighted is not None:
        CustomerFactory(email="referred@example.com", referral_code=delighted.referral_code)
    return made


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass
class Raw:
    """The raw records, and the definitions of docs/metrics.md applied to them in Python."""

    since: datetime
    until: datetime
    allowed: set[int]
    stages: dict[int, Stage]
    chains: dict[int, list[StageTransition]]
    teams: dict[int | None, str]

    def in_period(self, moment: datetime) -> bool:
        return self.since <= moment < self.until

    def stage_at(self, customer_id: int, moment: datetime) -> int | None:
        """The to_stage of the latest transition at or before, else the entry stage."""
        chain = self.chains.get(customer_id, [])
        before = [t for t in chain if t.occurred_at <= moment]
        if before:
            return before[-1].to_stage_id
        return chain[0].to_stage_id if chain else None

    def moves(self) -> Iterable[StageTransition]:
        for customer_id, chain in self.chains.items():
            if customer_id in self.allowed:
                yield from (t for t in chain if self.in_period(t.occurred_at))

    def phase(self, stage_id: int | None) -> str | None:
        return self.stages[stage_id].phase if stage_id is not None else None


def _raw(start: date, end: date, allowed: set[int]) -> Raw:
    chains: dict[int, list[StageTransition]] = defaultdict(list)
    for t in StageTransition.objects.order_by("customer_id", "occurred_at", "id"):
        chains[t.customer_id].append(t)
    users = User.objects.values_list("pk", flat=True)
    return Raw(
        _moment(start),
        _moment(end + timedelta(days=1)),
        allowed,
        {s.pk: s for s in Stage.objects.all()},
        chains,
        selectors._user_teams(list(users)),
    )


def _check(
    of: str,
    expected_customers: set[int],
    expected_number: int,
    *,
    counted: str = "customers",
    **params: Any,
) -> None:
    """The drill-down lists exactly `expected_customers`, and its number (customers, events
    or their weight) is the selector's."""
    drill = drilldown.drilldown_for({"of": of, **params}, **_FILTERS)
    totals = drill.totals()
    listed = set(drill.customers.values_list("pk", flat=True))
    label = f"{of} {params} {_FILTERS}"
    assert listed == expected_customers, label
    assert totals.customers == len(listed), label
    assert getattr(totals, counted) == expected_number, label


_FILTERS: dict[str, Any] = {}


def _restrictions(owner: User) -> list[tuple[str, dict[str, Any], Callable[[], set[int]]]]:
    tagged = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[::2])
    Customer.objects.filter(pk__in=tagged).update(tags=["vip"])
    segment = segment_create(
        name="VIP",
        definition={"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]},
    )
    return [
        ("everyone", {}, lambda: set(Customer.objects.values_list("pk", flat=True))),
        (
            "owner",
            {"owner": owner},
            lambda: set(Customer.objects.filter(owner=owner).values_list("pk", flat=True)),
        ),
        ("segment", {"segment": segment}, lambda: set(tagged)),
    ]


def test_every_kind_lists_the_customers_its_number_counts(history: list[Customer]) -> None:
    # The history has something behind every kind (else the checks below prove little).
    assert Response.objects.filter(effect="force").exists()
    assert Response.objects.filter(effect="friction").exists()
    assert StageTransition.objects.filter(direction="backward").exists()
    assert Task.objects.filter(state=TaskState.OPEN).exists()
    assert ConsentEvent.objects.filter(granted=False).exists()
    assert Interaction.objects.filter(effect="friction").exists()
    owner = User.objects.filter(owned_customers__isnull=False).first()
    assert owner is not None
    everyone, by_owner, by_segment = _restrictions(owner)
    recent = (TODAY - timedelta(days=29), TODAY)
    past = (TODAY - timedelta(days=60), TODAY - timedelta(days=20))  # stage at its end: then
    # Every parameter for everyone; a sample of them once filtered (the same code paths).
    cases = [(everyone, recent, True), (by_owner, recent, False), (by_segment, past, False)]
    for (_, restriction, allowed_of), (start, end), thorough in cases:
        _FILTERS.clear()
        _FILTERS.update(start=start, end=end, **restriction)
        raw = _raw(start, end, allowed_of())
        _check_stock(raw, start, end, restriction)
        _check_moves(raw, start, end, restriction, thorough=thorough)
        _check_force_and_friction(raw, start, end, restriction, thorough=thorough)
        _check_surveys_loop_sources(raw, start, end, restriction)
    _FILTERS.clear()


def _check_stock(raw: Raw, start: date, end: date, restriction: dict[str, Any]) -> None:
    """stage and phase: who stood there at the end of the period (the last bucket's count)."""
    counts = selectors.stage_counts_over_time(
        start=start, end=end, granularity="week", **restriction
    )
    last = max(row.bucket for row in counts)
    at_end: dict[int, int] = {}
    for customer_id, chain in raw.chains.items():
        before = [t for t in chain if t.occurred_at < raw.until]
        if customer_id in raw.allowed and before:
            at_end[customer_id] = before[-1].to_stage_id
    for count in counts:
        if count.bucket == last:
            stage = Stage.objects.get(slug=count.stage)
            who = {c for c, s in at_end.items() if s == stage.pk}
            _check("stage", who, count.customers, stage=count.stage)
    phases = selectors.phase_counts_over_time(
        start=start, end=end, granularity="month", **restriction
    )
    for row in phases:
        if row.bucket == max(r.bucket for r in phases):
            who = {c for c, s in at_end.items() if raw.phase(s) == row.phase}
            _check("phase", who, row.customers, phase=row.phase)


def _check_moves(
    raw: Raw, start: date, end: date, restriction: dict[str, Any], *, thorough: bool
) -> None:
    """moved, crossed, entered, left, converted, velocity: moves and stays of the period."""
    slug = {pk: s.slug for pk, s in raw.stages.items()}
    cells = selectors.transition_matrix(start=start, end=end, **restriction)
    for cell in cells if thorough else cells[::3]:
        who = {
            t.customer_id
            for t in raw.moves()
            if (slug[t.from_stage_id] if t.from_stage_id else None) == cell.from_stage
            and slug[t.to_stage_id] == cell.to_stage
            and t.direction == cell.direction
        }
        params = {"from_stage": cell.from_stage or "new", "to_stage": cell.to_stage}
        _check("moved", who, cell.transitions, counted="events", **params, direction=cell.direction)
    # without a direction: every direction of the pair
    pairs: dict[tuple[int | None, int], set[int]] = defaultdict(set)
    pair_moves: dict[tuple[int | None, int], int] = defaultdict(int)
    for t in raw.moves():
        pairs[(t.from_stage_id, t.to_stage_id)].add(t.customer_id)
        pair_moves[(t.from_stage_id, t.to_stage_id)] += 1
    for (from_id, to_id), who in list(pairs.items())[: 6 if thorough else 2]:
        params = {"from_stage": slug[from_id] if from_id else "new", "to_stage": slug[to_id]}
        _check("moved", who, pair_moves[(from_id, to_id)], counted="events", **params)

    entries: dict[str, int] = defaultdict(int)
    exits: dict[str, int] = defaultdict(int)
    for count in selectors.phase_counts_over_time(
        start=start, end=end, granularity="week", **restriction
    ):
        entries[count.phase] += count.entries
        exits[count.phase] += count.exits
    converted = {
        row.phase: row.converted
        for row in selectors.phase_conversion(start=start, end=end, **restriction)
    }
    order = {p: n for n, p in enumerate(Phase.values)}
    for phase in Phase.values:
        came = [t for t in raw.moves() if raw.phase(t.to_stage_id) == phase
                and raw.phase(t.from_stage_id) != phase]  # fmt: skip
        went = [t for t in raw.moves() if raw.phase(t.from_stage_id) == phase
                and raw.phase(t.to_stage_id) != phase]  # fmt: skip
        on = [t for t in went if t.direction == "new_cycle"
              or order[raw.phase(t.to_stage_id) or ""] > order[phase]]  # fmt: skip
        _check("entered", {t.customer_id for t in came}, entries[phase], counted="events",
               phase=phase)  # fmt: skip
        _check("left", {t.customer_id for t in went}, exits[phase], counted="events", phase=phase)
        _check("converted", {t.customer_id for t in on}, converted[phase], counted="events",
               phase=phase)  # fmt: skip
        for to_phase in Phase.values if thorough else [p for p in Phase.values if p != phase]:
            flow = [t for t in raw.moves() if raw.phase(t.from_stage_id) == phase
                    and raw.phase(t.to_stage_id) == to_phase]  # fmt: skip
            _check("crossed", {t.customer_id for t in flow}, len(flow), counted="events",
                   from_phase=phase, to_phase=to_phase)  # fmt: skip

    for velocity in selectors.stage_velocity(start=start, end=end, **restriction):
        stage = Stage.objects.get(slug=velocity.stage)
        who = set()
        for customer_id, chain in raw.chains.items():
            for previous, t in itertools.pairwise(chain):
                if (
                    customer_id in raw.allowed
                    and raw.in_period(t.occurred_at)
                    and previous.to_stage_id == stage.pk
                ):
                    who.add(customer_id)
        _check("velocity", who, velocity.stays, counted="events", stage=velocity.stage)


def _check_force_and_friction(
    raw: Raw, start: date, end: date, restriction: dict[str, Any], *, thorough: bool
) -> None:
    """force (by effect, by team) and each term of friction, per stage."""
    rows = selectors.force_friction_by_stage(start=start, end=end, **restriction)
    cells: dict[tuple[str | None, str], Any] = {(r.stage, r.team): r for r in rows}

    def total(stage: str, column: str, team: str | None = None) -> int:
        return sum(
            getattr(r, column)
            for (s, t), r in cells.items()
            if s == stage and (team is None or t == team)
        )

    interactions = [
        i for i in Interaction.objects.all()
        if i.customer_id in raw.allowed and raw.in_period(i.occurred_at)
    ]  # fmt: skip
    tasks = [
        t for t in Task.objects.select_related("customer")
        if t.customer_id in raw.allowed and t.state == TaskState.OPEN
        and t.due_at < timezone.now()
    ]  # fmt: skip
    answers = [
        a for a in Response.objects.all()
        if a.customer_id in raw.allowed and raw.in_period(a.answered_at)
    ]  # fmt: skip
    unsubscribes = [
        e for e in ConsentEvent.objects.filter(granted=False, method="unsubscribe_link")
        if e.customer_id in raw.allowed and raw.in_period(e.occurred_at)
    ]  # fmt: skip
    for stage in Stage.objects.all():
        here = [i for i in interactions if raw.stage_at(i.customer_id, i.occurred_at) == stage.pk]
        promoters = {a.customer_id for a in answers if a.stage_id == stage.pk
                     and a.effect == "force"}  # fmt: skip
        pushed = {i.customer_id for i in here if i.effect == "force"}
        _check(
            "force",
            pushed | promoters,
            total(stage.slug, "force"),
            counted="weight",
            stage=stage.slug,
        )  # fmt: skip - interactions and answers counted as force
        for effect, column in (
            ("force", "interaction_force"),
            ("friction", "interaction_friction"),
        ):
            which = [i for i in here if i.effect == effect]
            _check("force", {i.customer_id for i in which}, total(stage.slug, column),
                   counted="weight", stage=stage.slug, effect=effect)  # fmt: skip
        for team in TEAMS if thorough else []:
            mine = [i for i in here if raw.teams.get(i.logged_by_id, "none") == team]
            pushed = {i.customer_id for i in mine if i.effect == "force"}
            _check("force", pushed | (promoters if team == "none" else set()),
                   total(stage.slug, "force", team), counted="weight", stage=stage.slug,
                   team=team)  # fmt: skip
            friction = [i for i in mine if i.effect == "friction"]
            _check("friction", {i.customer_id for i in friction},
                   total(stage.slug, "interaction_friction", team), counted="weight",
                   stage=stage.slug, cause="negative", team=team)  # fmt: skip
            late = [t for t in tasks if t.customer.stage_id == stage.pk
                    and raw.teams.get(t.assignee_id, "none") == team]  # fmt: skip
            _check("friction", {t.customer_id for t in late},
                   total(stage.slug, "overdue_tasks", team), counted="events",
                   stage=stage.slug, cause="overdue", team=team)  # fmt: skip
        late = [t for t in tasks if t.customer.stage_id == stage.pk]
        _check("friction", {t.customer_id for t in late}, total(stage.slug, "overdue_tasks"),
               counted="events", stage=stage.slug, cause="overdue")  # fmt: skip
        detractors = [a for a in answers if a.stage_id == stage.pk and a.effect == "friction"]
        _check("friction", {a.customer_id for a in detractors},
               total(stage.slug, "survey_friction"), counted="weight", stage=stage.slug,
               cause="detractors")  # fmt: skip
        back = [t for t in raw.moves() if t.direction == "backward" and t.from_stage_id == stage.pk]
        _check("friction", {t.customer_id for t in back}, total(stage.slug, "backward_moves"),
               counted="events", stage=stage.slug, cause="backward")  # fmt: skip
        _check(
            "friction",
            set(),
            0,
            counted="events",
            stage=stage.slug,
            cause="backward",
            team="sales-rep",
        )  # fmt: skip - moves belong to no team
        gone = [e for e in unsubscribes if raw.stage_at(e.customer_id, e.occurred_at) == stage.pk]
        _check("friction", {e.customer_id for e in gone}, total(stage.slug, "unsubscribes"),
               counted="events", stage=stage.slug, cause="unsubscribes")  # fmt: skip


def _check_surveys_loop_sources(raw: Raw, start: date, end: date, restriction: dict[str, Any]):
    """responded (by category), loop (completed / open), source."""
    trends = selectors.survey_trends(start=start, end=end, granularity="month", **restriction)
    answers = [
        a for a in Response.objects.all()
        if a.customer_id in raw.allowed and raw.in_period(a.answered_at)
    ]  # fmt: skip
    for kind in ("nps", "csat", "ces"):
        points = [p for p in trends if p.kind == kind]
        mine = [a for a in answers if a.kind == kind]
        _check("responded", {a.customer_id for a in mine}, sum(p.answers for p in points),
               counted="events", kind=kind)  # fmt: skip
        for category in ("promoter", "passive", "detractor"):
            which = [a for a in mine if a.category == category]
            _check("responded", {a.customer_id for a in which},
                   sum(getattr(p, f"{category}s") for p in points), counted="events",
                   kind=kind, category=category)  # fmt: skip
    loop = selectors.loop_completion(start=start, end=end, **restriction)
    completed = drilldown.drilldown_for({"of": "loop", "outcome": "completed"}, **_FILTERS)
    still_open = drilldown.drilldown_for({"of": "loop", "outcome": "open"}, **_FILTERS)
    assert completed.totals().customers == loop.closed_loop
    assert still_open.totals().customers == loop.delight_customers - loop.closed_loop
    for source in ("", "web", "fair"):
        who = set(
            Customer.objects.filter(
                source=source, created_at__gte=raw.since, created_at__lt=raw.until
            ).values_list("pk", flat=True)
        )
        _check("source", who & raw.allowed, len(who & raw.allowed), source=source)


# --- the page ---------------------------------------------------------------------------------


def _login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


WEEK = DashboardFilters(start=TODAY - timedelta(days=6), end=TODAY, granularity="day")


def test_the_page_lists_the_customers_with_the_count_and_carries_the_filters_on(
    customer_factory: Any, stages: dict[str, Stage], support: User, marketer: User
) -> None:
    for n in range(3):
        customer_factory(email=f"t{n}@example.com", first_name=f"Tia{n}", stage="evaluation")
    url = drill_url(WEEK, "moved", from_stage="new", to_stage="evaluation")

    response = _login(support).get(url)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Customers created in Engagement &amp; Evaluation between" in html
    assert "3 moves by 3 customers" in html
    assert html.count('href="/customers/') >= 3  # each name links to the customer
    assert 'type="hidden" name="of" value="moved"' in html  # the filter bar keeps the list
    assert 'name="from_stage" value="new"' in html
    assert "Back to the wheel" in html
    assert "Export CSV" not in html  # Support may not export
    assert "Export CSV" in _login(marketer).get(url).content.decode()

    export = _login(marketer).get(url + "&export=csv")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))  # type: ignore[attr-defined]
    assert export.status_code == 200
    assert sorted(row[1] for row in rows[1:]) == [
        "t0@example.com",
        "t1@example.com",
        "t2@example.com",
    ]
    assert _login(support).get(url + "&export=csv").status_code == 403


def test_past_the_id_limit_the_list_asks_the_events_for_the_same_customers(
    customer_factory: Any, stages: dict[str, Stage], support: User, monkeypatch: Any
) -> None:
    """Up to MAX_LISTED_IDS customers the list reads them by id; beyond, it asks the events
    again: the same customers, in the same order."""
    for n in (2, 0, 1):
        customer_factory(email=f"t{n}@example.com", first_name=f"Tia{n}", stage="evaluation")
    url = drill_url(WEEK, "moved", from_stage="new", to_stage="evaluation")

    def listed() -> list[str]:
        html = _login(support).get(url).content.decode()
        assert "3 moves by 3 customers" in html
        return re.findall(r'href="/customers/(\d+)/"', html)

    by_id = listed()
    monkeypatch.setattr(drilldown, "MAX_LISTED_IDS", 2)
    by_events = listed()

    assert len(by_id) == 3
    assert by_events == by_id
    names = Customer.objects.filter(pk__in=by_id).in_bulk()
    assert [names[int(pk)].first_name for pk in by_id] == ["Tia0", "Tia1", "Tia2"]


def test_every_kind_renders_for_a_role_and_pages_keep_the_query(
    customer_factory: Any, sales_rep: User
) -> None:
    for n in range(52):
        customer_factory(email=f"p{n:02}@example.com", first_name=f"P{n:02}", stage="purchase")
    client = _login(sales_rep)
    links = {
        "stage": {"stage": "purchase"},
        "phase": {"phase": "engage"},
        "moved": {"from_stage": "new", "to_stage": "purchase", "direction": "entry"},
        "crossed": {"from_phase": "attract", "to_phase": "engage"},
        "entered": {"phase": "engage"},
        "left": {"phase": "engage"},
        "converted": {"phase": "delight"},
        "velocity": {"stage": "awareness"},
        "force": {"stage": "purchase", "effect": "force", "team": "Sales rep"},
        "friction": {"stage": "purchase", "cause": "overdue", "team": "none"},
        "responded": {"kind": "nps", "category": "promoter"},
        "loop": {"outcome": "open"},
        "source": {"source": ""},
    }
    # A campaign's kind needs a sent campaign: tests/campaigns/test_dashboard_drilldown.py.
    assert set(links) == set(drilldown.KINDS) - {"campaign"}
    for kind, params in links.items():
        response = client.get(drill_url(WEEK, kind, **params))
        assert response.status_code == 200, kind

    first = client.get(drill_url(WEEK, "stage", stage="purchase")).content.decode()
    second = client.get(drill_url(WEEK, "stage", stage="purchase") + "&page=2").content.decode()
    assert "52 customers" in first
    assert "Page 1 of 2" in first
    assert "of=stage&amp;stage=purchase&amp;page=2" in first
    assert first.index("P00") < first.index("P49")  # by name
    assert "P50" not in first
    assert "P51" in second
    assert "P00" not in second


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("", "of"),
        ("of=everything", "of"),
        ("of=stage", "stage"),
        ("of=stage&stage=nowhere", "stage"),
        ("of=phase&phase=orbit", "phase"),
        ("of=moved&from_stage=new&to_stage=purchase&direction=sideways", "direction"),
        ("of=moved&from_stage=old&to_stage=purchase", "from_stage"),
        ("of=force&stage=purchase&effect=magic", "effect"),
        ("of=friction&stage=purchase&cause=rain", "cause"),
        ("of=force&stage=purchase&team=pirates", "team"),
        ("of=responded&kind=nps&category=%00", "category"),
        ("of=loop&outcome=" + "x" * 5000, "outcome"),
        ("of=stage&stage=%00", "stage"),
        ("of=moved&from_stage=a%00&to_stage=purchase", "from_stage"),
        ("of=source&source=%00", "source"),
        ("of=%00", "of"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(query: str, parameter: str, support: User) -> None:
    response = _login(support).get(f"/dashboard/customers/?{query}")

    assert response.status_code == 400
    assert f"<code>{parameter}</code>" in response.content.decode()


def test_a_bad_filter_falls_back_to_its_default_as_on_every_dashboard_page(
    support: User,
) -> None:
    response = _login(support).get("/dashboard/customers/?of=phase&phase=engage&start=2026-13-45")

    assert response.status_code == 200
    assert "Enter a date as YYYY-MM-DD." in response.content.decode()
    assert "0 customers" in response.content.decode()


def test_only_who_may_see_the_flywheel_sees_its_customers(make_user: Any) -> None:
    url = drill_url(WEEK, "stage", stage="purchase")
    assert _login(make_user(None, username="nobody")).get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to the login page
