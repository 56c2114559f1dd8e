"""Conventions every API endpoint shares: a bad `ordering` or `format` is a 400 naming it, a
URL the API does not route is a JSON 404, and the schema documents the errors each operation
can answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.roles import SALES_REP

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(api_as: Callable[[User], APIClient], admin_user: User) -> APIClient:
    return api_as(admin_user)


@pytest.mark.parametrize(
    "url",
    ["/api/v1/customers/", "/api/v1/automation/rules/", "/api/v1/forms/", "/api/v1/campaigns/"],
)
def test_an_unknown_ordering_field_is_a_400_naming_ordering(admin_api: APIClient, url: str) -> None:
    response = admin_api.get(url, {"ordering": "-no_such_field"})

    assert response.status_code == 400, response.content
    assert "no_such_field" in response.json()["ordering"][0]


def test_a_known_ordering_field_still_orders(admin_api: APIClient, customer_factory: Any) -> None:
    customer_factory.create(first_name="Bea")
    customer_factory.create(first_name="Abe")

    response = admin_api.get("/api/v1/customers/", {"ordering": "created_at"})

    assert response.status_code == 200
    assert [row["first_name"] for row in response.json()["results"]] == ["Bea", "Abe"]


@pytest.mark.parametrize("url", ["/api/v1/analytics/momentum/", "/api/v1/customers/"])
def test_an_unknown_format_is_a_400_naming_format(admin_api: APIClient, url: str) -> None:
    response = admin_api.get(url, {"format": "AAA"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "AAA" in response.json()["format"][0]


def test_the_csv_format_still_answers_csv(admin_api: APIClient) -> None:
    response = admin_api.get("/api/v1/analytics/momentum/", {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize(
    "path", ["/api/v1/customers/abc/", "/api/v1/no-such-thing/", "/api/v1/forms/a%20b/"]
)
def test_a_url_the_api_does_not_route_is_a_json_404(admin_api: APIClient, path: str) -> None:
    response = admin_api.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_the_dashboard_keeps_its_html_404(admin_api: APIClient) -> None:
    response = admin_api.get("/dashboard/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = APIClient().get(reverse("api-schema"), {"format": "json"})
    return json.loads(response.content)


def test_the_schema_documents_the_errors_an_operation_can_answer(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    # A secured operation with a path parameter and a query parameter.
    timeline = paths["/api/v1/customers/{id}/timeline/"]["get"]["responses"]
    assert {"400", "401", "403", "404"} <= set(timeline)
    # The analytics endpoints read `format`: a bad one is a documented 400.
    assert "400" in paths["/api/v1/analytics/momentum/"]["get"]["responses"]
    # A write takes the Idempotency-Key header, whose malformed value is a 400.
    assert "400" in paths["/api/v1/customers/{id}/"]["delete"]["responses"]
    # The token endpoint is public: no 401 or 403 to document.
    token = paths["/api/v1/auth/token/"]["post"]["responses"]
    assert "401" not in token
    assert "403" not in token


# --- people --------------------------------------------------------------------------------


def test_people_are_shown_one_way_and_taken_by_id(
    api_as: Callable[[User], APIClient], make_user: Callable[..., User], customer_factory: Any
) -> None:
    sam = make_user(SALES_REP, username="sam", first_name="Sam", last_name="Sales")
    api = api_as(sam)
    sam_ref = {"id": sam.pk, "username": "sam", "name": "Sam Sales"}

    customer = api.post("/api/v1/customers/", {"email": "c@example.com", "owner": sam.pk})
    assert customer.status_code == 201, customer.content
    customer_id = customer.json()["id"]
    logged = api.post(
        "/api/v1/interactions/", {"customer": customer_id, "kind": "call", "summary": "Hello"}
    )
    task = api.post(
        "/api/v1/tasks/",
        {"customer": customer_id, "title": "Call back", "due_at": "2030-01-01T09:00:00Z"},
    )
    moved = api.post(f"/api/v1/customers/{customer_id}/transitions/", {"to_stage": "evaluation"})

    assert customer.json()["owner"] == sam_ref
    assert logged.json()["logged_by"] == sam_ref
    assert (task.json()["assignee"], task.json()["created_by"]) == (sam_ref, sam_ref)
    assert moved.json()["actor_user"] == sam_ref
    # Lists show the same shape as the record's own answer.
    listed = api.get("/api/v1/interactions/", {"customer": customer_id}).json()["results"]
    assert [row["logged_by"] for row in listed] == [sam_ref]
    transitions = api.get(f"/api/v1/customers/{customer_id}/transitions/").json()["results"]
    assert moved.json() in transitions


def test_nobody_is_null(admin_api: APIClient, customer_factory: Any) -> None:
    customer = customer_factory(owner=None)

    response = admin_api.get(f"/api/v1/customers/{customer.pk}/")

    assert response.json()["owner"] is None


# --- input serializers ----------------------------------------------------------------------


def test_a_lead_form_read_then_sent_back_changed_is_saved(admin_api: APIClient) -> None:
    """Clients PATCH back what they read: the output's read-only fields (id, created_at) are
    ignored as on every other write, not refused as unknown."""
    created = admin_api.post("/api/v1/forms/", {"name": "News"}, format="json")
    assert created.status_code == 201, created.content
    body = {**created.json(), "name": "Newsletter", "is_active": False}

    response = admin_api.patch(f"/api/v1/forms/{body['slug']}/", body, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["is_active"]) == ("Newsletter", False)


def test_a_lead_form_field_of_the_wrong_type_is_a_400_on_it(admin_api: APIClient) -> None:
    response = admin_api.post(
        "/api/v1/forms/", {"name": "News", "double_opt_in": "maybe"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["double_opt_in"]
