"""Fixtures shared by the whole suite. Everything runs on the real PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.roles import ADMIN, MARKETER, ROLES, SALES_REP, SUPPORT, roles_sync
from stages.models import Stage
from tests.factories import CustomerFactory, UserFactory
from tests.realworld import smtp_sink, start_worker  # noqa: F401 - fixtures

DEFAULT_STAGES = [
    ("awareness", "Awareness", "attract", 10),
    ("evaluation", "Engagement & Evaluation", "engage", 20),
    ("purchase", "Purchase", "engage", 30),
    ("post_purchase", "Post-purchase", "delight", 40),
    ("advocacy", "Advocacy", "delight", 50),
]


@pytest.fixture(autouse=True)
def _default_stages_and_roles(request: pytest.FixtureRequest) -> None:
    """The migrations seed stages, roles and surveys; transactional tests flush them: restore.

    Runs only for tests that use the database.
    """
    marker = request.node.get_closest_marker("django_db")
    names = request.fixturenames
    if marker is None and "db" not in names and "transactional_db" not in names:
        return
    transactional = "transactional_db" in names or (
        marker is not None and marker.kwargs.get("transaction", False)
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    if not Stage.objects.filter(slug="awareness").exists():
        for slug, name, phase, position in DEFAULT_STAGES:
            Stage.objects.get_or_create(
                slug=slug, defaults={"name": name, "phase": phase, "position": position}
            )
        roles_sync()
        _restore_seeded_surveys()


def _restore_seeded_surveys() -> None:
    """The default surveys a data migration seeds (a flush of a transactional test empties
    them, and seed_demo's rules and some survey tests expect them)."""
    import importlib

    from django.apps import apps

    seeding = importlib.import_module("surveys.migrations.0002_default_surveys")
    seeding.create_default_surveys(apps, None)


@pytest.fixture
def stages() -> dict[str, Stage]:
    """The default stages by slug."""
    return {stage.slug: stage for stage in Stage.objects.all()}


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(role: str | None = None, **kwargs: Any) -> User:
        return UserFactory.create(role=role, **kwargs)

    return make


@pytest.fixture
def admin_user(make_user: Callable[..., User]) -> User:
    return make_user(ADMIN, username="admin-role", is_staff=True)


@pytest.fixture
def marketer(make_user: Callable[..., User]) -> User:
    return make_user(MARKETER, username="marketer")


@pytest.fixture
def sales_rep(make_user: Callable[..., User]) -> User:
    return make_user(SALES_REP, username="sales-rep")


@pytest.fixture
def support(make_user: Callable[..., User]) -> User:
    return make_user(SUPPORT, username="support")


@pytest.fixture
def role_users(make_user: Callable[..., User]) -> dict[str, User]:
    """One user per role, keyed by role name."""
    return {role: make_user(role, username=role.lower().replace(" ", "-")) for role in ROLES}


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def api_as(api_client: APIClient) -> Callable[[User], APIClient]:
    """An API client authenticated with a personal token of the user, as a script would be."""
    from accounts.services import api_token_create

    def login(user: User) -> APIClient:
        _, token = api_token_create(user=user, name="tests")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    return login


@pytest.fixture
def customer_factory(db: None) -> type[CustomerFactory]:
    return CustomerFactory
