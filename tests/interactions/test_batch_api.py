"""Batch endpoints for integrations: up to 100 interactions or purchases per request.

The documented semantics (docs/api.md, "Batches"): a bad envelope is a 400 on `items` and
writes nothing; otherwise every valid item is written and every invalid one is reported with
its index and field errors and writes nothing; the answer is 200 with one result per item.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from common.events import subscribe, unsubscribe
from customers.models import Customer
from interactions.models import Interaction, Purchase
from interactions.services import (
    EVENT_INTERACTION_LOGGED,
    EVENT_PURCHASE_RECORDED,
    purchase_record,
)
from stages.models import StageTransition

pytestmark = pytest.mark.django_db

INTERACTION_BATCH = reverse("api:interaction-batch")
PURCHASE_BATCH = reverse("api:purchase-batch")


@pytest.fixture
def rep_api(api_as: Callable[[User], APIClient], sales_rep: Any) -> APIClient:
    return api_as(sales_rep)


@pytest.fixture
def customer(customer_factory) -> Customer:
    return customer_factory()


@pytest.fixture
def events() -> Any:
    """The events delivered (after commit) during the test, as (name, payload)."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(event: str, payload: dict[str, Any]) -> None:
        seen.append((event, payload))

    for name in (EVENT_INTERACTION_LOGGED, EVENT_PURCHASE_RECORDED):
        subscribe(name)(record)
    yield seen
    for name in (EVENT_INTERACTION_LOGGED, EVENT_PURCHASE_RECORDED):
        unsubscribe(name, record)


def call(who: Customer, **extra: Any) -> dict[str, Any]:
    return {"customer": who.pk, "kind": "call", "summary": "Called", **extra}


def order(who: Customer, **extra: Any) -> dict[str, Any]:
    return {"customer": who.pk, "amount": "10.00", "currency": "EUR", **extra}


def statuses(response: Any) -> list[tuple[int, str]]:
    return [(r["index"], r["status"]) for r in response.data["results"]]


# --- interactions ---------------------------------------------------------------------------


def test_a_valid_batch_logs_every_item_in_order(
    rep_api, sales_rep, customer, customer_factory, django_capture_on_commit_callbacks, events
):
    other = customer_factory()
    when = timezone.now() - timedelta(hours=1)
    items = [
        call(customer, occurred_at=when.isoformat()),
        call(other, kind="email", summary="Sent offer"),
        call(customer, kind="support_case", summary="Broken"),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = rep_api.post(INTERACTION_BATCH, {"items": items}, format="json")

    assert response.status_code == 200, response.data
    assert (response.data["created"], response.data["existing"], response.data["errors"]) == (
        3,
        0,
        0,
    )
    assert statuses(response) == [(0, "created"), (1, "created"), (2, "created")]
    written = [Interaction.objects.get(pk=r["id"]) for r in response.data["results"]]
    assert [(i.customer_id, i.kind, i.summary) for i in written] == [
        (customer.pk, "call", "Called"),
        (other.pk, "email", "Sent offer"),
        (customer.pk, "support_case", "Broken"),
    ]
    assert {i.logged_by for i in written} == {sales_rep}
    assert written[2].case_state == "open"
    assert all(r["errors"] is None for r in response.data["results"])
    assert sorted(p["interaction_id"] for _, p in events) == sorted(i.pk for i in written)


def test_a_batch_with_bad_items_writes_exactly_the_valid_ones(
    rep_api, customer, django_capture_on_commit_callbacks, events
):
    items = [
        call(customer, summary="first"),
        call(customer, customer=999_999),
        call(customer, summary="second"),
        call(customer, kind="telepathy", summary=""),
        "not an object",
        call(customer, occurred_at=(timezone.now() + timedelta(days=2)).isoformat()),
        call(customer, effect="neutral", weight=4),
        None,
        call(customer, due_at="ignored unknown field", summary="third"),
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = rep_api.post(INTERACTION_BATCH, {"items": items}, format="json")

    assert response.status_code == 200, response.data
    assert statuses(response) == [
        (0, "created"),
        (1, "error"),
        (2, "created"),
        (3, "error"),
        (4, "error"),
        (5, "error"),
        (6, "error"),
        (7, "error"),
        (8, "created"),
    ]
    assert (response.data["created"], response.data["errors"]) == (3, 6)
    results = response.data["results"]
    assert set(results[1]["errors"]) == {"customer"}
    assert set(results[3]["errors"]) == {"kind", "summary"}
    assert set(results[4]["errors"]) == {"non_field_errors"}
    assert set(results[5]["errors"]) == {"occurred_at"}
    assert set(results[6]["errors"]) == {"weight"}
    assert set(results[7]["errors"]) == {"non_field_errors"}
    assert all(results[i]["id"] is None for i in (1, 3, 4, 5, 6, 7))
    assert sorted(Interaction.objects.values_list("summary", flat=True)) == [
        "first",
        "second",
        "third",
    ]
    assert {results[i]["id"] for i in (0, 2, 8)} == set(
        Interaction.objects.values_list("pk", flat=True)
    )
    assert len(events) == 3  # the refused items announced nothing
    customer.refresh_from_db()
    assert customer.last_activity_at is not None


def test_a_batch_of_only_bad_items_is_200_and_writes_nothing(rep_api, customer):
    response = rep_api.post(
        INTERACTION_BATCH, {"items": [call(customer, kind="x"), {}]}, format="json"
    )

    assert response.status_code == 200
    assert (response.data["created"], response.data["errors"]) == (0, 2)
    assert set(response.data["results"][1]["errors"]) == {"customer", "kind", "summary"}
    assert not Interaction.objects.exists()
    customer.refresh_from_db()
    assert customer.last_activity_at is None


@pytest.mark.parametrize("url", [INTERACTION_BATCH, PURCHASE_BATCH])
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"items": []},
        {"items": "GOOD*101"},
        {"items": {"0": "GOOD"}},
        {"items": "GOOD"},
        {"items": None},
        ["GOOD"],
    ],
    ids=repr,
)
def test_a_bad_envelope_is_400_on_items_and_writes_nothing(rep_api, customer, url, body):
    good = call(customer) if url == INTERACTION_BATCH else order(customer)
    if isinstance(body, dict) and body.get("items") == "GOOD*101":
        body = {"items": [good] * 101}
    elif isinstance(body, dict) and body.get("items") == "GOOD":
        body = {"items": good}
    elif isinstance(body, dict) and isinstance(body.get("items"), dict):
        body = {"items": {"0": good}}
    elif isinstance(body, list):
        body = [good]
    before = (Interaction.objects.count(), Purchase.objects.count())

    response = rep_api.post(url, body, format="json")

    assert response.status_code == 400
    expected = "non_field_errors" if isinstance(body, list) else "items"
    assert expected in response.data, response.data
    assert (Interaction.objects.count(), Purchase.objects.count()) == before


def test_a_batch_of_exactly_one_hundred_is_accepted(rep_api, customer):
    items = [call(customer, summary=f"call {i}") for i in range(100)]

    response = rep_api.post(INTERACTION_BATCH, {"items": items}, format="json")

    assert response.status_code == 200
    assert response.data["created"] == 100
    assert [r["index"] for r in response.data["results"]] == list(range(100))
    assert Interaction.objects.count() == 100


def test_a_malformed_batch_body_is_400_on_body(rep_api):
    response = rep_api.post(INTERACTION_BATCH, data='{"items": [', content_type="application/json")

    assert response.status_code == 400
    assert "body" in response.data


# --- purchases ------------------------------------------------------------------------------


def test_purchase_batch_reports_created_existing_and_errors_per_item(
    rep_api, customer_factory, django_capture_on_commit_callbacks, events
):
    ann, bob = customer_factory(), customer_factory()
    known, _ = purchase_record(
        customer=ann,
        amount=Decimal(5),
        currency="EUR",
        recorded_by=None,
        source="shop",
        external_id="OLD-1",
    )
    before = Purchase.objects.count()
    items = [
        order(ann, source="shop", external_id="NEW-1", amount="19.90"),  # 0 created
        order(ann, source="shop", external_id="OLD-1"),  # 1 existing (recorded before)
        order(ann, source="shop", external_id="NEW-1"),  # 2 existing (earlier in this batch)
        order(ann, source="pos", external_id="NEW-1"),  # 3 created: another source
        order(bob, source="shop", external_id="OLD-1"),  # 4 error: another customer's order
        order(bob, amount="-3"),  # 5 error
        order(bob, amount="1.999"),  # 6 error
        order(bob, amount="NaN"),  # 7 error
        order(bob, currency="ZZZ"),  # 8 error
        order(bob, customer=999_999),  # 9 error
        order(bob, amount=42),  # 10 created
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = rep_api.post(PURCHASE_BATCH, {"items": items}, format="json")

    assert response.status_code == 200, response.data
    results = response.data["results"]
    assert [r["status"] for r in results] == [
        "created",
        "existing",
        "existing",
        "created",
        "error",
        "error",
        "error",
        "error",
        "error",
        "error",
        "created",
    ]
    assert (response.data["created"], response.data["existing"], response.data["errors"]) == (
        3,
        2,
        6,
    )
    assert results[1]["id"] == known.pk
    assert results[2]["id"] == results[0]["id"]
    assert results[3]["id"] != results[0]["id"]
    fields = {i: set(results[i]["errors"]) for i in range(4, 10)}
    assert fields == {
        4: {"external_id"},
        5: {"amount"},
        6: {"amount"},
        7: {"amount"},
        8: {"currency"},
        9: {"customer"},
    }
    assert Purchase.objects.count() == before + 3
    created = Purchase.objects.filter(pk__in=[results[i]["id"] for i in (0, 3, 10)])
    assert sorted((p.customer_id, p.amount, p.source) for p in created) == sorted(
        [(ann.pk, Decimal("19.90"), "shop"), (ann.pk, Decimal("10.00"), "pos"), (bob.pk, 42, "")]
    )
    assert sorted(p["purchase_id"] for _, p in events) == sorted(p.pk for p in created)


def test_a_batch_moves_a_first_time_buyer_once(rep_api, customer):
    items = [order(customer, external_id=f"O-{i}") for i in range(3)]

    response = rep_api.post(PURCHASE_BATCH, {"items": items}, format="json")

    assert response.data["created"] == 3
    customer.refresh_from_db()
    assert customer.stage.slug == "purchase"
    moves = StageTransition.objects.filter(customer=customer).order_by("id")
    assert [(m.from_stage and m.from_stage.slug, m.to_stage.slug) for m in moves] == [
        (None, "awareness"),
        ("awareness", "purchase"),
    ]
    assert "First purchase" in moves[1].reason


def test_an_invalid_item_for_a_new_customer_does_not_move_them(rep_api, customer):
    response = rep_api.post(
        PURCHASE_BATCH, {"items": [order(customer, currency="XXX1")]}, format="json"
    )

    assert response.data["errors"] == 1
    customer.refresh_from_db()
    assert customer.stage.slug == "awareness"
    assert customer.transitions.count() == 1


def test_resending_a_whole_purchase_batch_records_nothing_new(rep_api, customer):
    items = [order(customer, source="shop", external_id=f"R-{i}") for i in range(5)]

    first = rep_api.post(PURCHASE_BATCH, {"items": items}, format="json")
    again = rep_api.post(PURCHASE_BATCH, {"items": items}, format="json")

    assert (first.data["created"], again.data["existing"]) == (5, 5)
    assert [r["id"] for r in again.data["results"]] == [r["id"] for r in first.data["results"]]
    assert Purchase.objects.count() == 5
