"""Who may do what through the API: every role against every operation.

The expected status comes from `accounts.roles.PERMISSION_MATRIX` itself: each operation
names the permission it needs, and a role holding that permission gets the operation's 2xx,
any other role a 403 that leaves the data as it was. Changing the matrix changes what these
tests expect; an endpoint that checks the wrong permission fails them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.roles import PERMISSION_MATRIX, ROLES
from customers.models import Customer
from flywheel_crm import api_urls
from stages.models import Stage, StageTransition
from tests.factories import StageFactory

pytestmark = pytest.mark.django_db

PUBLIC_ROUTES = {"auth-token"}
_emails = count()


@dataclass(frozen=True)
class World:
    """What the operations act on: a customer in awareness and a stage nobody uses."""

    customer: Customer
    spare: Stage


@dataclass(frozen=True)
class Operation:
    route: str
    method: str
    permission: str
    success: int
    kwargs: Callable[[World], dict[str, Any]] = field(default=lambda world: {})
    body: Callable[[World], Any] = field(default=lambda world: None)

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}"

    def call(self, client: APIClient, world: World) -> Any:
        url = reverse(f"api:{self.route}", kwargs=self.kwargs(world))
        return getattr(client, self.method.lower())(url, self.body(world))


def customer_id(world: World) -> dict[str, Any]:
    return {"pk": world.customer.pk}


def spare_slug(world: World) -> dict[str, Any]:
    return {"slug": world.spare.slug}


def new_customer(world: World) -> dict[str, Any]:
    return {"email": f"new{next(_emails)}@example.com"}


def reversed_stages(world: World) -> dict[str, Any]:
    return {"slugs": list(Stage.objects.order_by("-position").values_list("slug", flat=True))}


OPERATIONS = [
    Operation("customer-list", "GET", "customers.view_customer", 200),
    Operation("customer-detail", "GET", "customers.view_customer", 200, customer_id),
    Operation("customer-list", "POST", "customers.add_customer", 201, body=new_customer),
    Operation(
        "customer-detail",
        "PATCH",
        "customers.change_customer",
        200,
        customer_id,
        lambda world: {"company": "Changed"},
    ),
    Operation(
        "customer-detail",
        "PUT",
        "customers.change_customer",
        200,
        customer_id,
        lambda world: {"email": world.customer.email, "company": "Replaced"},
    ),
    Operation("customer-detail", "DELETE", "customers.delete_customer", 204, customer_id),
    Operation(
        "customer-transitions",
        "POST",
        "customers.move_customer",
        201,
        customer_id,
        lambda world: {"to_stage": "evaluation"},
    ),
    Operation("customer-transitions", "GET", "stages.view_stagetransition", 200, customer_id),
    Operation("stage-list", "GET", "stages.view_stage", 200),
    Operation("stage-detail", "GET", "stages.view_stage", 200, spare_slug),
    Operation(
        "stage-list",
        "POST",
        "stages.manage_stage",
        201,
        body=lambda world: {"slug": "onboarding", "name": "Onboarding", "phase": "delight"},
    ),
    Operation(
        "stage-detail",
        "PATCH",
        "stages.manage_stage",
        200,
        spare_slug,
        lambda world: {"name": "Renamed", "is_archived": True},
    ),
    Operation("stage-reorder", "POST", "stages.manage_stage", 200, body=reversed_stages),
    Operation("stage-detail", "DELETE", "stages.manage_stage", 204, spare_slug),
]
by_operation = pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.id)


@pytest.fixture
def world(customer_factory) -> World:
    return World(customer=customer_factory(), spare=StageFactory(slug="spare"))


def snapshot(world: World) -> tuple[Any, ...]:
    """Everything an operation could change."""
    return (
        list(Customer.objects.order_by("pk").values()),
        list(StageTransition.objects.order_by("pk").values()),
        list(Stage.objects.order_by("pk").values()),
    )


def may(role: str, permission: str) -> bool:
    return role in PERMISSION_MATRIX[permission][1]


@pytest.mark.parametrize("role", ROLES)
@by_operation
def test_each_role_may_do_what_the_matrix_grants(
    api_as: Callable[[AbstractBaseUser], APIClient],
    role_users: dict[str, AbstractBaseUser],
    world: World,
    role: str,
    operation: Operation,
) -> None:
    before = snapshot(world)

    response = operation.call(api_as(role_users[role]), world)

    if may(role, operation.permission):
        assert response.status_code == operation.success, response.data
    else:
        assert response.status_code == 403, response.data
        assert snapshot(world) == before


@by_operation
def test_a_user_without_a_role_may_do_nothing(
    api_as: Callable[[AbstractBaseUser], APIClient],
    make_user: Callable[..., AbstractBaseUser],
    world: World,
    operation: Operation,
) -> None:
    before = snapshot(world)

    response = operation.call(api_as(make_user(username="no-role")), world)

    assert response.status_code == 403
    assert snapshot(world) == before


@by_operation
def test_anonymous_requests_are_401(world: World, operation: Operation) -> None:
    before = snapshot(world)

    response = operation.call(APIClient(), world)

    assert response.status_code == 401
    assert snapshot(world) == before


def test_the_table_covers_every_api_operation() -> None:
    """A new endpoint or method must be added to OPERATIONS, and so to these checks."""
    routed = set()
    for pattern in api_urls.urlpatterns:
        if pattern.name in PUBLIC_ROUTES:
            continue
        view = pattern.callback.view_class
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                routed.add(f"{method.upper()} {pattern.name}")

    assert {op.id for op in OPERATIONS} == routed


def test_the_matrix_refuses_someone_something() -> None:
    """Guards the parametrized test against a matrix in which every check is a 2xx."""
    refusals = [(r, op.id) for r in ROLES for op in OPERATIONS if not may(r, op.permission)]

    assert refusals


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
@pytest.mark.parametrize("route", ["customer-list", "stage-list"])
def test_head_and_options_need_what_get_needs(
    api_as: Callable[[AbstractBaseUser], APIClient],
    role_users: dict[str, AbstractBaseUser],
    world: World,
    role: str,
    method: str,
    route: str,
) -> None:
    [get] = [op for op in OPERATIONS if op.route == route and op.method == "GET"]

    response = getattr(api_as(role_users[role]), method.lower())(reverse(f"api:{route}"))

    assert response.status_code == (200 if may(role, get.permission) else 403)


@pytest.mark.parametrize(
    ("route", "method", "kwargs"),
    [
        ("stage-detail", "put", {"slug": "purchase"}),
        ("stage-list", "delete", {}),
        ("stage-reorder", "get", {}),
        ("customer-transitions", "delete", {"pk": 1}),
    ],
)
def test_a_method_an_endpoint_lacks_is_405_not_403(
    api_as: Callable[[AbstractBaseUser], APIClient],
    admin_user: AbstractBaseUser,
    route: str,
    method: str,
    kwargs: dict[str, Any],
) -> None:
    response = getattr(api_as(admin_user), method)(reverse(f"api:{route}", kwargs=kwargs))

    assert response.status_code == 405
