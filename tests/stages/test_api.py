"""REST API v1: stages (list, admin management) and a customer's transitions (history, move)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from customers.models import Customer
from stages.models import ActorKind, Direction, Stage, StageTransition
from stages.services import customer_move_stage
from tests.factories import StageFactory

pytestmark = pytest.mark.django_db

STAGES_URL = reverse("api:stage-list")
REORDER_URL = reverse("api:stage-reorder")
DEFAULT_ORDER = ["awareness", "evaluation", "purchase", "post_purchase", "advocacy"]


def stage_url(slug: str) -> str:
    return reverse("api:stage-detail", kwargs={"slug": slug})


def transitions_url(pk: int) -> str:
    return reverse("api:customer-transitions", kwargs={"pk": pk})


def slugs_in_order() -> list[str]:
    return list(Stage.objects.order_by("position", "id").values_list("slug", flat=True))


@pytest.fixture
def admin_api(api_as: Callable[[User], APIClient], admin_user: Any) -> APIClient:
    return api_as(admin_user)


@pytest.fixture
def rep_api(api_as: Callable[[User], APIClient], sales_rep: Any) -> APIClient:
    return api_as(sales_rep)


# --- listing stages ---------------------------------------------------------------------------


def test_stages_are_listed_in_wheel_order_with_their_phase(rep_api):
    Stage.objects.filter(slug="awareness").update(position=35)  # now after purchase
    StageFactory.create(slug="onboarding", phase="delight", position=45)

    response = rep_api.get(STAGES_URL)

    assert response.status_code == 200
    assert [(s["slug"], s["phase"]) for s in response.data] == [
        ("evaluation", "engage"),
        ("purchase", "engage"),
        ("awareness", "attract"),
        ("post_purchase", "delight"),
        ("onboarding", "delight"),
        ("advocacy", "delight"),
    ]
    assert {"name", "position", "is_archived"} <= set(response.data[0])


def test_retrieve_a_stage_by_slug(rep_api):
    response = rep_api.get(stage_url("purchase"))

    assert response.status_code == 200
    assert (response.data["slug"], response.data["phase"]) == ("purchase", "engage")


def test_unknown_stage_slug_is_404(admin_api):
    assert admin_api.get(stage_url("nirvana")).status_code == 404
    assert admin_api.patch(stage_url("nirvana"), {"name": "X"}).status_code == 404
    assert admin_api.delete(stage_url("nirvana")).status_code == 404


# --- a customer's transitions -----------------------------------------------------------------


def test_transitions_are_listed_oldest_first(rep_api, customer_factory):
    customer = customer_factory()
    for slug in ("evaluation", "purchase", "evaluation"):
        assert rep_api.post(transitions_url(customer.pk), {"to_stage": slug}).status_code == 201

    response = rep_api.get(transitions_url(customer.pk))

    assert response.status_code == 200
    moves = response.data["results"]
    assert [(m["from_stage"], m["to_stage"]) for m in moves] == [
        (None, "awareness"),
        ("awareness", "evaluation"),
        ("evaluation", "purchase"),
        ("purchase", "evaluation"),
    ]
    assert [m["direction"] for m in moves] == ["entry", "forward", "forward", "backward"]
    times = [datetime.fromisoformat(m["occurred_at"]) for m in moves]
    assert times == sorted(times)


def test_transitions_list_only_that_customers_history(rep_api, customer_factory):
    customer, other = customer_factory(), customer_factory()
    rep_api.post(transitions_url(other.pk), {"to_stage": "purchase"})

    response = rep_api.get(transitions_url(customer.pk))

    assert [m["customer"] for m in response.data["results"]] == [customer.pk]


def test_transitions_paginate_oldest_first(rep_api, customer_factory):
    customer = customer_factory()
    for slug in ("evaluation", "purchase", "post_purchase", "advocacy"):
        rep_api.post(transitions_url(customer.pk), {"to_stage": slug})

    seen, response = [], rep_api.get(transitions_url(customer.pk), {"page_size": 2})
    while True:
        seen += [m["to_stage"] for m in response.data["results"]]
        if not response.data["next"]:
            break
        response = rep_api.get(response.data["next"])

    assert seen == DEFAULT_ORDER


def test_transitions_at_the_same_instant_page_in_chain_order(rep_api, customer_factory, stages):
    """An import may replay several moves with one timestamp; paging must not lose any."""
    customer = customer_factory()
    for slug in ("evaluation", "purchase", "post_purchase"):
        customer_move_stage(
            customer=customer,
            to_stage=stages[slug],
            actor_kind=ActorKind.IMPORT,
            occurred_at=customer.stage_entered_at,
        )

    seen, response = [], rep_api.get(transitions_url(customer.pk), {"page_size": 1})
    while response.data["next"]:
        seen += [m["to_stage"] for m in response.data["results"]]
        response = rep_api.get(response.data["next"])
    seen += [m["to_stage"] for m in response.data["results"]]

    assert seen == DEFAULT_ORDER[:4]


def test_move_returns_201_with_the_transition(rep_api, customer_factory, sales_rep):
    customer = customer_factory()

    response = rep_api.post(
        transitions_url(customer.pk), {"to_stage": "evaluation", "reason": "Booked a demo"}
    )

    assert response.status_code == 201
    body = response.data
    assert (body["from_stage"], body["to_stage"]) == ("awareness", "evaluation")
    assert body["direction"] == Direction.FORWARD
    assert body["actor_kind"] == ActorKind.API
    assert body["actor_user"] == {"id": sales_rep.pk, "username": "sales-rep", "name": ""}
    assert body["reason"] == "Booked a demo"
    assert body["customer"] == customer.pk
    customer.refresh_from_db()
    assert customer.stage.slug == "evaluation"
    assert customer.stage_entered_at == datetime.fromisoformat(body["occurred_at"])
    stored = StageTransition.objects.get(pk=body["id"])
    assert (stored.actor_user, stored.actor_kind) == (sales_rep, ActorKind.API)


@pytest.mark.parametrize(
    ("start", "to", "direction"),
    [
        ("awareness", "purchase", Direction.SKIP),
        ("purchase", "awareness", Direction.BACKWARD),
        ("advocacy", "evaluation", Direction.NEW_CYCLE),
    ],
)
def test_move_direction(rep_api, customer_factory, start, to, direction):
    customer = customer_factory(stage=start)

    response = rep_api.post(transitions_url(customer.pk), {"to_stage": to})

    assert response.status_code == 201
    assert response.data["direction"] == direction


def assert_refused(response: Any, customer: Customer, field: str, *words: str) -> None:
    """A 400 on `field` whose message has `words`; the customer neither moved nor gained history."""
    assert response.status_code == 400
    message = str(response.data[field])
    for word in words:
        assert word in message
    stage_before, history_before = customer.stage_id, customer.transitions.count()
    customer.refresh_from_db()
    assert customer.stage_id == stage_before
    assert customer.transitions.count() == history_before


def test_move_to_the_current_stage_is_400_on_to_stage(rep_api, customer_factory):
    customer = customer_factory(stage="purchase")

    response = rep_api.post(transitions_url(customer.pk), {"to_stage": "purchase"})

    assert_refused(response, customer, "to_stage", "already")
    assert customer.transitions.count() == 1


def test_move_to_an_unknown_stage_is_400_naming_the_slug(rep_api, customer_factory):
    customer = customer_factory()

    response = rep_api.post(transitions_url(customer.pk), {"to_stage": "nirvana"})

    assert_refused(response, customer, "to_stage", "nirvana")
    assert customer.transitions.count() == 1


def test_move_to_an_archived_stage_is_400(rep_api, customer_factory):
    customer = customer_factory()
    Stage.objects.filter(slug="purchase").update(is_archived=True)

    response = rep_api.post(transitions_url(customer.pk), {"to_stage": "purchase"})

    assert_refused(response, customer, "to_stage", "archived")
    assert customer.transitions.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "to_stage"),
        ({"to_stage": ""}, "to_stage"),
        ({"to_stage": None}, "to_stage"),
        ({"to_stage": ["evaluation"]}, "to_stage"),
        ({"to_stage": {"slug": "evaluation"}}, "to_stage"),
        ({"to_stage": "eval\x00uation"}, "to_stage"),
        ({"to_stage": "evaluation", "reason": "x" * 501}, "reason"),
        ({"to_stage": "evaluation", "reason": "a\x00b"}, "reason"),
    ],
    ids=repr,
)
def test_bad_move_is_400_on_the_field(rep_api, customer_factory, payload, field):
    customer = customer_factory()

    response = rep_api.post(transitions_url(customer.pk), payload)

    assert_refused(response, customer, field)
    assert customer.transitions.count() == 1


def test_move_with_malformed_json_is_400_on_body(rep_api, customer_factory):
    customer = customer_factory()

    response = rep_api.post(
        transitions_url(customer.pk),
        data='{"to_stage": "evaluation"',
        content_type="application/json",
    )

    assert_refused(response, customer, "body")


def test_move_with_json_nested_too_deeply_is_400_on_body(rep_api, customer_factory):
    customer = customer_factory()
    body = '{"to_stage": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = rep_api.post(
        transitions_url(customer.pk), data=body, content_type="application/json"
    )

    assert_refused(response, customer, "body", "nested")


@pytest.mark.parametrize("method", ["get", "post"])
def test_transitions_of_an_unknown_customer_are_404(rep_api, method):
    response = getattr(rep_api, method)(transitions_url(999_999), {"to_stage": "evaluation"})

    assert response.status_code == 404
    assert StageTransition.objects.count() == 0


# --- managing stages (admin) ------------------------------------------------------------------


def test_admin_creates_a_stage_last_in_the_order(admin_api):
    response = admin_api.post(
        STAGES_URL, {"slug": "onboarding", "name": "Onboarding", "phase": "delight"}
    )

    assert response.status_code == 201
    assert (response.data["slug"], response.data["phase"]) == ("onboarding", "delight")
    assert slugs_in_order() == [*DEFAULT_ORDER, "onboarding"]
    assert [s["slug"] for s in admin_api.get(STAGES_URL).data][-1] == "onboarding"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"slug": "awareness", "name": "Again", "phase": "attract"}, "slug"),
        ({"slug": "has space", "name": "X", "phase": "attract"}, "slug"),
        ({"slug": "x" * 51, "name": "X", "phase": "attract"}, "slug"),
        ({"slug": "new", "name": "X", "phase": "orbit"}, "phase"),
        ({"slug": "new", "name": "", "phase": "engage"}, "name"),
        ({"slug": "new", "name": "x" * 101, "phase": "engage"}, "name"),
        ({"slug": "new", "name": "N\x00", "phase": "engage"}, "name"),
        ({"slug": "new", "name": "X", "phase": "engage", "position": -1}, "position"),
        ({"slug": "reorder", "name": "Clashes with /stages/reorder/", "phase": "engage"}, "slug"),
    ],
    ids=repr,
)
def test_bad_stage_create_is_400_on_the_field(admin_api, payload, field):
    response = admin_api.post(STAGES_URL, payload)

    assert response.status_code == 400
    assert field in response.data, response.data
    assert slugs_in_order() == DEFAULT_ORDER


def test_admin_renames_a_stage(admin_api):
    response = admin_api.patch(stage_url("evaluation"), {"name": "Evaluation"})

    assert response.status_code == 200
    assert response.data["name"] == "Evaluation"
    assert Stage.objects.get(slug="evaluation").name == "Evaluation"


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"name": "x" * 101}, "name"), ({"phase": "orbit"}, "phase"), ({"name": ""}, "name")],
)
def test_bad_stage_update_is_400_on_the_field(admin_api, payload, field):
    response = admin_api.patch(stage_url("evaluation"), payload)

    assert response.status_code == 400
    assert field in response.data
    stage = Stage.objects.get(slug="evaluation")
    assert (stage.name, stage.phase) == ("Engagement & Evaluation", "engage")


def test_archived_stage_keeps_its_customers_but_takes_no_new_ones(
    admin_api, rep_api, customer_factory
):
    resident = customer_factory(stage="purchase")
    newcomer = customer_factory()

    response = admin_api.patch(stage_url("purchase"), {"is_archived": True})

    assert response.status_code == 200
    assert response.data["is_archived"] is True
    resident.refresh_from_db()
    assert resident.stage.slug == "purchase"
    listed = {s["slug"]: s["is_archived"] for s in rep_api.get(STAGES_URL).data}
    assert listed["purchase"] is True
    refused = rep_api.post(transitions_url(newcomer.pk), {"to_stage": "purchase"})
    assert_refused(refused, newcomer, "to_stage", "archived")


def test_admin_reorders_the_stages(admin_api, rep_api):
    order = ["evaluation", "awareness", "purchase", "advocacy", "post_purchase"]

    response = admin_api.post(REORDER_URL, {"slugs": order})

    assert response.status_code == 200
    assert [s["slug"] for s in response.data] == order
    assert [s["slug"] for s in rep_api.get(STAGES_URL).data] == order


@pytest.mark.parametrize(
    "slugs",
    [
        ["awareness", "evaluation", "purchase", "post_purchase"],  # one missing
        [*DEFAULT_ORDER, "nirvana"],  # one unknown
        [*DEFAULT_ORDER, "awareness"],  # one twice
        [],
        "awareness",
    ],
    ids=repr,
)
def test_bad_reorder_is_400_on_slugs_and_keeps_the_order(admin_api, slugs):
    response = admin_api.post(REORDER_URL, {"slugs": slugs})

    assert response.status_code == 400
    assert "slugs" in response.data
    assert slugs_in_order() == DEFAULT_ORDER


def test_admin_deletes_an_unused_stage(admin_api):
    StageFactory.create(slug="unused")

    response = admin_api.delete(stage_url("unused"))

    assert response.status_code == 204
    assert not Stage.objects.filter(slug="unused").exists()


def test_a_stage_holding_customers_cannot_be_deleted(admin_api, customer_factory):
    customer_factory(stage="purchase")

    response = admin_api.delete(stage_url("purchase"))

    assert response.status_code == 400
    assert "customer" in str(response.data["stage"])
    assert Stage.objects.filter(slug="purchase").exists()


def test_a_stage_in_someones_history_cannot_be_deleted(admin_api, rep_api, customer_factory):
    customer = customer_factory(stage="purchase")
    rep_api.post(transitions_url(customer.pk), {"to_stage": "advocacy"})

    response = admin_api.delete(stage_url("purchase"))

    assert response.status_code == 400
    assert "stage" in response.data
    assert Stage.objects.filter(slug="purchase").exists()


def test_the_last_live_stage_cannot_be_archived(admin_api):
    Stage.objects.exclude(slug="awareness").update(is_archived=True)

    response = admin_api.patch(stage_url("awareness"), {"is_archived": True})

    assert response.status_code == 400
    assert "is_archived" in response.data
    assert not Stage.objects.get(slug="awareness").is_archived
