"""The analytics API as a BI tool uses it: JSON or CSV for a period, a granularity, a
segment or an owner; bad input is a 400 naming the field; roles decide who sees what."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.services import rollups_fold
from segments.services import segment_create
from stages.services import customer_move_stage

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()
ROUTES = [
    "analytics-stage-counts",
    "analytics-phase-counts",
    "analytics-transitions",
    "analytics-phase-conversion",
    "analytics-velocity",
    "analytics-force-friction",
    "analytics-momentum",
    "analytics-surveys",
    "analytics-loop-completion",
    "analytics-lifetime-value",
    "analytics-costs",
    "analytics-campaigns",
]


@pytest.fixture
def moved(customer_factory, stages):
    customer = customer_factory(created_at=timezone.now() - timedelta(days=3))
    customer_move_stage(customer=customer, to_stage=stages["purchase"], actor_kind="user")
    return customer


@pytest.mark.parametrize("route", ROUTES)
def test_every_number_answers_json_and_csv(api_as, admin_user, moved, route):
    client = api_as(admin_user)
    segment_create(name="All", definition={"op": "and", "rules": []})

    as_json = client.get(reverse(f"api:{route}"))
    as_csv = client.get(reverse(f"api:{route}"), {"format": "csv"})
    by_accept = client.get(reverse(f"api:{route}"), HTTP_ACCEPT="text/csv")

    assert as_json.status_code == 200, as_json.content
    body = as_json.json()
    assert isinstance(body["results"], list)
    assert as_csv.status_code == by_accept.status_code == 200
    assert as_csv["Content-Type"].startswith("text/csv")
    assert "attachment" in as_csv["Content-Disposition"]
    assert as_csv.content == by_accept.content
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    assert len(rows) == len(body["results"])
    if rows:
        assert list(rows[0]) == list(body["results"][0])


def test_the_period_defaults_to_the_last_30_days_and_is_echoed(api_as, marketer):
    body = api_as(marketer).get(reverse("api:analytics-momentum")).json()

    assert body["end"] == TODAY.isoformat()
    assert body["start"] == (TODAY - timedelta(days=29)).isoformat()
    assert body["granularity"] == "day"
    assert len(body["results"]) == 30


def test_stage_counts_for_a_period_by_week(api_as, marketer, moved):
    rollups_fold()
    response = api_as(marketer).get(
        reverse("api:analytics-stage-counts"),
        {"start": (TODAY - timedelta(days=6)).isoformat(), "end": TODAY, "granularity": "week"},
    )

    rows = response.json()["results"]
    last = max(row["bucket"] for row in rows)
    now = {row["stage"]: row["customers"] for row in rows if row["bucket"] == last}
    assert now["purchase"] >= 1
    assert {row["bucket"] for row in rows} <= {
        (TODAY - timedelta(days=6 + d)).isoformat() for d in range(7)
    } | {(TODAY - timedelta(days=d)).isoformat() for d in range(7)}


def test_the_transition_matrix_of_an_owner(api_as, marketer, sales_rep, customer_factory, stages):
    mine = customer_factory(owner=sales_rep)
    customer_move_stage(customer=mine, to_stage=stages["evaluation"], actor_kind="user")
    other = customer_factory()
    customer_move_stage(customer=other, to_stage=stages["advocacy"], actor_kind="user")

    rows = (
        api_as(marketer)
        .get(reverse("api:analytics-transitions"), {"owner": sales_rep.pk})
        .json()["results"]
    )

    assert {(r["from_stage"], r["to_stage"], r["direction"]) for r in rows} == {
        (None, "awareness", "entry"),
        ("awareness", "evaluation", "forward"),
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-13-01"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"start": "2026-05-02", "end": "2026-05-01"}, "start"),
        ({"granularity": "hour"}, "granularity"),
        ({"segment": 999999}, "segment"),
        ({"owner": 999999}, "owner"),
        ({"owner": "me"}, "owner"),
        ({"start": "2020-01-01", "end": "2026-01-01", "granularity": "day"}, "granularity"),
        ({"start": "1900-01-01", "end": "2026-01-01", "granularity": "month"}, "start"),
        ({"end": "9999-12-31"}, "end"),  # a day past it would overflow
        ({"start": "0001-01-01", "end": "0001-01-31"}, "start"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_even_for_csv(api_as, marketer, params, field):
    client = api_as(marketer)

    response = client.get(reverse("api:analytics-momentum"), params)
    as_csv = client.get(reverse("api:analytics-momentum"), {**params, "format": "csv"})

    assert response.status_code == 400
    assert field in response.json()
    assert as_csv.status_code == 400
    assert as_csv["Content-Type"].startswith("application/json")
    assert field in as_csv.json()


def test_an_unknown_survey_kind_is_a_400(api_as, marketer):
    response = api_as(marketer).get(reverse("api:analytics-surveys"), {"kind": "stars"})

    assert response.status_code == 400
    assert "kind" in response.json()


@pytest.mark.parametrize(
    ("role", "route", "status"),
    [
        ("Admin", "analytics-costs", 200),
        ("Marketer", "analytics-costs", 200),
        ("Sales rep", "analytics-costs", 403),
        ("Support", "analytics-costs", 403),
        ("Sales rep", "analytics-force-friction", 200),
        ("Support", "analytics-surveys", 200),
    ],
)
def test_sales_and_support_see_the_wheel_but_not_the_spend(api_as, make_user, role, route, status):
    response = api_as(make_user(role)).get(reverse(f"api:{route}"))

    assert response.status_code == status


def test_anonymous_is_401(api_client):
    assert api_client.get(reverse("api:analytics-stage-counts")).status_code == 401
