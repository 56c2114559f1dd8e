"""REST API v1: GET /customers/{id}/timeline/ — every record about a customer, newest first.

A long history is served page by page at a constant number of queries, and walking the
`next` links returns every record exactly once, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer
from interactions.models import Interaction, Purchase, Task
from interactions.services import interaction_log, purchase_record, task_create
from stages.models import Stage, StageTransition

pytestmark = pytest.mark.django_db

# Token and user, the customer, the user's permissions (2), the keys of the page (one UNION
# query), and one query per kind on the page (4): however long the history.
MAX_QUERIES = 9


def timeline_url(customer: Customer) -> str:
    return reverse("api:customer-timeline", kwargs={"pk": customer.pk})


@pytest.fixture
def rep_api(api_as: Callable[[User], APIClient], sales_rep: Any) -> APIClient:
    return api_as(sales_rep)


def fill(customer: Customer, user: Any, *, each: int) -> None:
    """`each` records of every kind, three to a timestamp so that times tie across kinds."""
    base = timezone.now() - timedelta(days=30)

    def at(i: int) -> Any:
        return base + timedelta(seconds=i // 3)

    Interaction.objects.bulk_create(
        Interaction(
            customer=customer,
            kind="call",
            summary=f"call {i}",
            occurred_at=at(i),
            effect="neutral",
            weight=0,
            logged_by=user,
        )
        for i in range(each)
    )
    Purchase.objects.bulk_create(
        Purchase(customer=customer, amount=Decimal(i + 1), currency="EUR", occurred_at=at(i + 1))
        for i in range(each)
    )
    Task.objects.bulk_create(
        Task(customer=customer, title=f"task {i}", due_at=at(i + 2), assignee=user)
        for i in range(each)
    )
    # A task is on the timeline when it was created; bulk_create stamps "now" on all of them.
    Task.objects.filter(customer=customer).update(created_at=F("due_at"))
    awareness, evaluation = (
        Stage.objects.get(slug="awareness"),
        Stage.objects.get(slug="evaluation"),
    )
    StageTransition.objects.bulk_create(
        StageTransition(
            customer=customer,
            from_stage=awareness,
            to_stage=evaluation,
            occurred_at=at(i),
            actor_kind="system",
            direction="forward",
        )
        for i in range(each)
    )


def expected_order(customer: Customer) -> list[tuple[str, int]]:
    """Every record of the customer as (kind, id), newest first; ties by kind, then id."""
    sources: list[tuple[str, QuerySet[Any], str]] = [
        ("interaction", customer.interactions.all(), "occurred_at"),
        ("purchase", customer.purchases.all(), "occurred_at"),
        ("task", customer.tasks.all(), "created_at"),
        ("transition", customer.transitions.all(), "occurred_at"),
    ]
    rows = [
        (at, kind, pk)
        for kind, records, time_field in sources
        for pk, at in records.values_list("pk", time_field)
    ]
    return [(kind, pk) for _, kind, pk in sorted(rows, reverse=True)]


def walk(client: APIClient, url: str, params: dict[str, Any]) -> list[tuple[str, int]]:
    response = client.get(url, params)
    seen: list[tuple[str, int]] = []
    while True:
        assert response.status_code == 200, response.data
        seen += [(entry["kind"], entry["id"]) for entry in response.data["results"]]
        if not response.data["next"]:
            return seen
        response = client.get(response.data["next"])


def test_walking_a_long_history_returns_every_record_once_newest_first(
    rep_api, customer_factory, sales_rep
):
    customer = customer_factory()
    fill(customer, sales_rep, each=520)
    customer_factory()  # someone else's history stays out
    expected = expected_order(customer)
    assert len(expected) > 2000

    seen = walk(rep_api, timeline_url(customer), {"page_size": 250})

    assert len(seen) == len(set(seen)) == len(expected)
    assert seen == expected


def test_small_pages_neither_overlap_nor_skip_across_tied_times(
    rep_api, customer_factory, sales_rep
):
    customer = customer_factory()
    fill(customer, sales_rep, each=7)

    seen = walk(rep_api, timeline_url(customer), {"page_size": 4})

    assert seen == expected_order(customer)


def test_the_number_of_queries_does_not_grow_with_the_history(
    rep_api, customer_factory, sales_rep, django_assert_max_num_queries
):
    short, long = customer_factory(), customer_factory()
    fill(short, sales_rep, each=5)
    fill(long, sales_rep, each=500)
    assert len(expected_order(short)) == 21
    assert len(expected_order(long)) == 2001

    for customer in (short, long):
        with django_assert_max_num_queries(MAX_QUERIES):
            first = rep_api.get(timeline_url(customer))
        assert first.status_code == 200
        assert {entry["kind"] for entry in first.data["results"]} == {
            "interaction",
            "purchase",
            "task",
            "transition",
        }
    assert first.data["next"]
    for _ in range(3):  # deep pages cost the same
        with django_assert_max_num_queries(MAX_QUERIES):
            first = rep_api.get(first.data["next"])
        assert len(first.data["results"]) == 50


def test_each_kind_carries_its_record_as_its_own_endpoint_shows_it(
    rep_api, customer_factory, sales_rep
):
    customer = customer_factory()
    call = interaction_log(customer=customer, kind="call", summary="Hello", logged_by=sales_rep)
    task = task_create(
        customer=customer, title="Follow up", due_at=timezone.now(), assignee=sales_rep
    )
    purchase, _ = purchase_record(
        customer=customer, amount=Decimal("12.30"), currency="EUR", recorded_by=sales_rep
    )

    response = rep_api.get(timeline_url(customer))

    assert response.status_code == 200
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for entry in response.data["results"]:
        by_kind.setdefault(entry["kind"], []).append(entry)
        assert set(entry) == {"kind", "at", "id", "data"}
        assert entry["data"]["id"] == entry["id"]
    [logged] = by_kind["interaction"]
    assert logged["data"] == rep_api.get(reverse("api:interaction-detail", args=[call.pk])).data
    [owed] = by_kind["task"]
    assert owed["data"] == rep_api.get(reverse("api:task-detail", args=[task.pk])).data
    [bought] = by_kind["purchase"]
    assert bought["data"]["amount"] == "12.30"
    assert bought["data"] == rep_api.get(reverse("api:purchase-detail", args=[purchase.pk])).data
    moves = by_kind["transition"]
    assert [(m["data"]["from_stage"], m["data"]["to_stage"]) for m in moves] == [
        ("awareness", "purchase"),
        (None, "awareness"),
    ]


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ("interaction,purchase", {"interaction", "purchase"}),
        ("task", {"task"}),
        (" transition , task ", {"transition", "task"}),
        ("", {"interaction", "purchase", "task", "transition"}),
    ],
)
def test_kinds_selects_what_is_shown(rep_api, customer_factory, sales_rep, kinds, expected):
    customer = customer_factory()
    fill(customer, sales_rep, each=3)

    response = rep_api.get(timeline_url(customer), {"kinds": kinds})

    assert response.status_code == 200
    shown = [(entry["kind"], entry["id"]) for entry in response.data["results"]]
    assert shown == [(kind, pk) for kind, pk in expected_order(customer) if kind in expected]


def test_kinds_the_user_may_not_see_are_left_out(api_as, make_user, customer_factory, sales_rep):
    customer = customer_factory()
    fill(customer, sales_rep, each=2)
    viewer = make_user(username="narrow")
    viewer.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_customer", "view_interaction"],
            content_type__app_label__in=["customers", "interactions"],
        )
    )
    client = api_as(viewer)

    everything = client.get(timeline_url(customer))
    purchases_only = client.get(timeline_url(customer), {"kinds": "purchase"})

    assert {entry["kind"] for entry in everything.data["results"]} == {"interaction"}
    assert len(everything.data["results"]) == 2
    assert (purchases_only.status_code, purchases_only.data["results"]) == (200, [])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kinds": "interaction,survey"}, "kinds"),
        ({"kinds": "everything"}, "kinds"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": "eyJub3QiOiAiYSBjdXJzb3IifQ"}, "cursor"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": 501}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
    ],
    ids=repr,
)
def test_bad_parameters_are_400_on_that_parameter(rep_api, customer_factory, params, field):
    customer = customer_factory()

    response = rep_api.get(timeline_url(customer), params)

    assert response.status_code == 400
    assert field in response.data, response.data


def test_an_unknown_customer_is_404(rep_api):
    assert rep_api.get(reverse("api:customer-timeline", kwargs={"pk": 999_999})).status_code == 404


def test_an_empty_history_is_one_empty_page(rep_api, customer_factory):
    customer = customer_factory()
    StageTransition.objects.filter(customer=customer).delete()

    response = rep_api.get(timeline_url(customer))

    assert response.data == {"results": [], "next": None}
