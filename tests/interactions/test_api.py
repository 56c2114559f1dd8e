"""REST API v1: interactions, tasks and purchases — create, list with filters, read, change,
the row rules (people change what is theirs), support cases, idempotent purchases, and every
kind of bad input as a 400 naming the field with nothing written.

Who may call which endpoint at all is tested role by role in
tests/accounts/test_api_permissions.py; batches in test_batch_api.py.
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

from customers.models import Customer
from interactions.models import Interaction, Purchase, Task
from interactions.services import interaction_log, purchase_record, task_create
from stages.models import ActorKind, StageTransition

pytestmark = pytest.mark.django_db

INTERACTIONS = reverse("api:interaction-list")
TASKS = reverse("api:task-list")
PURCHASES = reverse("api:purchase-list")


def url(route: str, pk: int) -> str:
    return reverse(f"api:{route}", kwargs={"pk": pk})


def counts() -> tuple[int, ...]:
    return (
        Interaction.objects.count(),
        Task.objects.count(),
        Purchase.objects.count(),
        StageTransition.objects.count(),
    )


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.data
    return {item["id"] for item in response.data["results"]}


@pytest.fixture
def admin_api(api_as: Callable[[User], APIClient], admin_user: Any) -> APIClient:
    return api_as(admin_user)


@pytest.fixture
def rep_api(api_as: Callable[[User], APIClient], sales_rep: Any) -> APIClient:
    return api_as(sales_rep)


@pytest.fixture
def other_rep(make_user: Callable[..., User]) -> User:
    return make_user("Sales rep", username="other-rep")


@pytest.fixture
def customer(customer_factory) -> Customer:
    return customer_factory()


def ago(**delta: float) -> str:
    return (timezone.now() - timedelta(**delta)).isoformat()


def ahead(**delta: float) -> str:
    return (timezone.now() + timedelta(**delta)).isoformat()


# --- interactions: create ---------------------------------------------------------------------


def test_logging_records_the_user_the_default_effect_and_the_customer_activity(
    rep_api, sales_rep, customer
):
    when = timezone.now() - timedelta(hours=3)

    response = rep_api.post(
        INTERACTIONS,
        {
            "customer": customer.pk,
            "kind": "meeting",
            "summary": "Demo went well",
            "occurred_at": when.isoformat(),
            "direction": "outbound",
            "channel": "in_person",
            "duration_seconds": 1800,
            "outcome": "positive",
        },
    )

    assert response.status_code == 201, response.data
    interaction = Interaction.objects.get(pk=response.data["id"])
    assert interaction.logged_by == sales_rep
    assert (interaction.kind, interaction.summary, interaction.occurred_at) == (
        "meeting",
        "Demo went well",
        when,
    )
    assert (interaction.effect, interaction.weight) == ("force", 2)
    assert (interaction.direction, interaction.channel, interaction.duration_seconds) == (
        "outbound",
        "in_person",
        1800,
    )
    assert response.data["logged_by"] == {"id": sales_rep.pk, "username": "sales-rep", "name": ""}
    assert (response.data["effect"], response.data["weight"]) == ("force", 2)
    customer.refresh_from_db()
    assert customer.last_activity_at == when


def test_logging_without_a_time_means_now_and_effect_may_be_overridden(rep_api, customer):
    before = timezone.now()

    response = rep_api.post(
        INTERACTIONS,
        {
            "customer": customer.pk,
            "kind": "email",
            "summary": "Angry but fair",
            "outcome": "complaint",
            "effect": "friction",
            "weight": 5,
        },
    )

    assert response.status_code == 201, response.data
    interaction = Interaction.objects.get(pk=response.data["id"])
    assert before <= interaction.occurred_at <= timezone.now()
    assert (interaction.effect, interaction.weight) == ("friction", 5)


def test_a_support_case_opens_when_logged(rep_api, customer):
    response = rep_api.post(
        INTERACTIONS, {"customer": customer.pk, "kind": "support_case", "summary": "Broken"}
    )

    assert response.status_code == 201
    assert response.data["case_state"] == "open"
    assert Interaction.objects.get(pk=response.data["id"]).case_state == "open"


BAD_INTERACTIONS = [
    ({"customer": 999_999}, "customer"),
    ({"customer": 99_999_999_999_999_999_999}, "customer"),
    ({"customer": "abc"}, "customer"),
    ({"customer": None}, "customer"),
    ({"customer": "FLOAT"}, "customer"),
    ({"kind": "telepathy"}, "kind"),
    ({"kind": None}, "kind"),
    ({"summary": ""}, "summary"),
    ({"summary": "x" * 501}, "summary"),
    ({"summary": "a\x00b"}, "summary"),
    ({"occurred_at": "yesterday"}, "occurred_at"),
    ({"occurred_at": "2024-13-45T10:00:00Z"}, "occurred_at"),
    ({"occurred_at": "FUTURE"}, "occurred_at"),
    ({"direction": "sideways"}, "direction"),
    ({"channel": "pigeon"}, "channel"),
    ({"duration_seconds": -1}, "duration_seconds"),
    ({"duration_seconds": 2**31}, "duration_seconds"),
    ({"duration_seconds": "long"}, "duration_seconds"),
    ({"outcome": "meh"}, "outcome"),
    ({"effect": "magic"}, "effect"),
    ({"weight": 11}, "weight"),
    ({"weight": -1}, "weight"),
    ({"effect": "neutral", "weight": 3}, "weight"),
    ({"effect": "force", "weight": 0}, "weight"),
]


@pytest.mark.parametrize(("change", "field"), BAD_INTERACTIONS, ids=lambda v: repr(v)[:50])
def test_bad_interaction_is_400_on_the_field_and_writes_nothing(rep_api, customer, change, field):
    payload = {"customer": customer.pk, "kind": "call", "summary": "Called", **change}
    if payload["customer"] == "FLOAT":
        payload["customer"] = customer.pk + 0.5
    if payload.get("occurred_at") == "FUTURE":
        payload["occurred_at"] = ahead(days=1)
    before, activity = counts(), customer.last_activity_at

    response = rep_api.post(INTERACTIONS, payload)

    assert response.status_code == 400
    assert field in response.data, response.data
    assert counts() == before
    customer.refresh_from_db()
    assert customer.last_activity_at == activity


@pytest.mark.parametrize("missing", ["customer", "kind", "summary"])
def test_required_interaction_fields(rep_api, customer, missing):
    payload = {"customer": customer.pk, "kind": "call", "summary": "Called"}
    del payload[missing]

    response = rep_api.post(INTERACTIONS, payload)

    assert response.status_code == 400
    assert missing in response.data
    assert not Interaction.objects.exists()


# --- interactions: list ---------------------------------------------------------------------


@pytest.fixture
def logbook(customer_factory, sales_rep, other_rep) -> dict[str, Any]:
    """Four interactions that differ in every filterable way."""
    ann, bob = customer_factory(), customer_factory()
    now = timezone.now()

    def log(name: str, customer: Customer, user: Any, days: int, **kwargs: Any) -> Interaction:
        return interaction_log(
            customer=customer,
            summary=name,
            logged_by=user,
            occurred_at=now - timedelta(days=days),
            **kwargs,
        )

    return {
        "ann": ann,
        "bob": bob,
        "rep": sales_rep,
        "other": other_rep,
        "now": now,
        "call": log("call", ann, sales_rep, 10, kind="call", outcome="positive"),
        "complaint": log("complaint", ann, other_rep, 5, kind="email", outcome="complaint"),
        "case": log("case", bob, sales_rep, 3, kind="support_case"),
        "note": log("note", bob, other_rep, 1, kind="note"),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"call", "complaint", "case", "note"}),
        ({"customer": "ann"}, {"call", "complaint"}),
        ({"kind": "support_case"}, {"case"}),
        ({"kind": "meeting"}, set()),
        ({"user": "rep"}, {"call", "case"}),
        ({"user": "me"}, {"call", "case"}),
        ({"user": "ME"}, {"call", "case"}),
        ({"user": "other"}, {"complaint", "note"}),
        ({"effect": "force"}, {"call"}),
        ({"effect": "friction"}, {"complaint"}),
        ({"effect": "neutral"}, {"case", "note"}),
        ({"case_state": "open"}, {"case"}),
        ({"case_state": "closed"}, set()),
        ({"occurred_after": 6}, {"complaint", "case", "note"}),
        ({"occurred_before": 4}, {"call", "complaint"}),
        ({"occurred_after": 6, "occurred_before": 2}, {"complaint", "case"}),
        ({"customer": "bob", "user": "other"}, {"note"}),
    ],
    ids=repr,
)
def test_interaction_filters(rep_api, logbook, params, expected):
    query = {}
    for key, value in params.items():
        if key in ("customer", "user") and value in logbook:
            value = logbook[value].pk
        if key.startswith("occurred_"):
            value = (logbook["now"] - timedelta(days=value)).isoformat()
        query[key] = value

    response = rep_api.get(INTERACTIONS, query)

    assert ids(response) == {logbook[name].pk for name in expected}


@pytest.mark.parametrize(
    "params",
    [
        {"customer": 999_999},
        {"customer": "ann"},
        {"kind": "telepathy"},
        {"user": "someone"},
        {"user": 999_999},
        {"effect": "magic"},
        {"case_state": "ajar"},
        {"occurred_after": "yesterday"},
        {"occurred_before": "2024-02-30"},
    ],
    ids=repr,
)
def test_a_bad_interaction_filter_is_400_on_that_parameter(rep_api, logbook, params):
    response = rep_api.get(INTERACTIONS, params)

    assert response.status_code == 400
    assert set(params) <= set(response.data), response.data


def walk(client: APIClient, url_: str, params: dict[str, Any]) -> list[int]:
    response = client.get(url_, params)
    seen = []
    while True:
        assert response.status_code == 200, response.data
        seen += [item["id"] for item in response.data["results"]]
        if not response.data["next"]:
            return seen
        response = client.get(response.data["next"])


def test_interactions_are_newest_first_and_pages_walk_every_one_once(rep_api, logbook):
    names = ["note", "case", "complaint", "call"]

    assert walk(rep_api, INTERACTIONS, {"page_size": 1}) == [logbook[n].pk for n in names]
    assert walk(rep_api, INTERACTIONS, {"page_size": 3, "ordering": "occurred_at"}) == [
        logbook[n].pk for n in reversed(names)
    ]


# --- interactions: read, change, delete, row rules -------------------------------------------


@pytest.fixture
def theirs(customer, other_rep) -> Interaction:
    return interaction_log(customer=customer, kind="call", summary="Theirs", logged_by=other_rep)


@pytest.fixture
def mine(customer, sales_rep) -> Interaction:
    return interaction_log(customer=customer, kind="call", summary="Mine", logged_by=sales_rep)


def test_anyone_who_may_see_interactions_reads_any_one(rep_api, theirs):
    response = rep_api.get(url("interaction-detail", theirs.pk))

    assert response.status_code == 200
    assert (response.data["id"], response.data["summary"]) == (theirs.pk, "Theirs")


def test_a_rep_corrects_what_they_logged(rep_api, mine):
    response = rep_api.patch(
        url("interaction-detail", mine.pk), {"summary": "Fixed", "outcome": "complaint"}
    )

    assert response.status_code == 200, response.data
    mine.refresh_from_db()
    assert (mine.summary, mine.outcome, mine.effect, mine.weight) == (
        "Fixed",
        "complaint",
        "friction",
        3,
    )
    assert response.data["effect"] == "friction"


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_rep_may_not_change_another_reps_interaction(rep_api, theirs, method):
    before = Interaction.objects.values().get(pk=theirs.pk)

    response = getattr(rep_api, method)(url("interaction-detail", theirs.pk), {"summary": "Mine!"})

    assert response.status_code == 403
    assert "you logged" in str(response.data["detail"])
    assert Interaction.objects.values().get(pk=theirs.pk) == before


def test_an_admin_changes_and_deletes_anyones_interaction(admin_api, theirs):
    response = admin_api.patch(url("interaction-detail", theirs.pk), {"summary": "Admin fix"})

    assert response.status_code == 200
    theirs.refresh_from_db()
    assert theirs.summary == "Admin fix"

    response = admin_api.delete(url("interaction-detail", theirs.pk))

    assert response.status_code == 204
    assert not Interaction.objects.filter(pk=theirs.pk).exists()


def test_a_rep_deletes_what_they_logged(rep_api, mine, theirs):
    response = rep_api.delete(url("interaction-detail", mine.pk))

    assert response.status_code == 204
    assert list(Interaction.objects.values_list("pk", flat=True)) == [theirs.pk]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "support_case"}, "kind"),
        ({"summary": ""}, "summary"),
        ({"summary": None}, "summary"),
        ({"occurred_at": "not a time"}, "occurred_at"),
        ({"occurred_at": "FUTURE"}, "occurred_at"),
        ({"effect": "neutral", "weight": 4}, "weight"),
        ({"weight": 11}, "weight"),
        ({"duration_seconds": -5}, "duration_seconds"),
    ],
    ids=repr,
)
def test_bad_correction_is_400_on_the_field_and_changes_nothing(rep_api, mine, payload, field):
    if payload.get("occurred_at") == "FUTURE":
        payload = {"occurred_at": ahead(hours=2)}
    before = Interaction.objects.values().get(pk=mine.pk)

    response = rep_api.patch(url("interaction-detail", mine.pk), payload)

    assert response.status_code == 400
    assert field in response.data, response.data
    assert Interaction.objects.values().get(pk=mine.pk) == before


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_unknown_interaction_is_404(admin_api, method):
    response = getattr(admin_api, method)(url("interaction-detail", 999_999), {"summary": "x"})

    assert response.status_code == 404


# --- support cases --------------------------------------------------------------------------


@pytest.fixture
def case(customer, support) -> Interaction:
    return interaction_log(
        customer=customer, kind="support_case", summary="Help", logged_by=support
    )


@pytest.fixture
def support_api(api_as: Callable[[User], APIClient], support: Any) -> APIClient:
    return api_as(support)


def test_closing_a_case_closes_it_once(support_api, case, customer):
    response = support_api.post(url("interaction-close", case.pk), {"outcome": "resolved"})

    assert response.status_code == 200, response.data
    assert (response.data["case_state"], response.data["outcome"]) == ("closed", "resolved")
    case.refresh_from_db()
    assert case.case_state == "closed"
    assert case.closed_at is not None
    assert (case.effect, case.weight) == ("force", 1)
    customer.refresh_from_db()
    assert customer.last_activity_at == case.closed_at

    again = support_api.post(url("interaction-close", case.pk))

    assert again.status_code == 400
    assert "already closed" in str(again.data["case_state"])
    closed_at = case.closed_at
    case.refresh_from_db()
    assert case.closed_at == closed_at


def test_closing_without_an_outcome_keeps_it(support_api, case):
    response = support_api.post(url("interaction-close", case.pk))

    assert response.status_code == 200
    case.refresh_from_db()
    assert (case.case_state, case.outcome) == ("closed", "neutral")


def test_only_a_support_case_can_be_closed(rep_api, mine):
    response = rep_api.post(url("interaction-close", mine.pk))

    assert response.status_code == 400
    assert "kind" in response.data
    mine.refresh_from_db()
    assert (mine.case_state, mine.closed_at) == ("", None)


def test_closing_with_a_bad_outcome_is_400_on_outcome(support_api, case):
    response = support_api.post(url("interaction-close", case.pk), {"outcome": "meh"})

    assert response.status_code == 400
    assert "outcome" in response.data
    case.refresh_from_db()
    assert case.case_state == "open"


def test_a_rep_may_not_close_another_users_case_but_an_admin_may(rep_api, admin_api, case):
    refused = rep_api.post(url("interaction-close", case.pk))

    assert refused.status_code == 403
    case.refresh_from_db()
    assert case.case_state == "open"

    assert admin_api.post(url("interaction-close", case.pk)).status_code == 200
    case.refresh_from_db()
    assert case.case_state == "closed"


def test_closing_an_unknown_interaction_is_404(admin_api):
    assert admin_api.post(url("interaction-close", 999_999)).status_code == 404


# --- tasks ----------------------------------------------------------------------------------


def test_a_task_goes_to_the_customers_owner_unless_assigned(
    rep_api, sales_rep, other_rep, customer_factory
):
    owned = customer_factory(owner=other_rep)
    due = timezone.now() + timedelta(days=1)

    response = rep_api.post(
        TASKS, {"customer": owned.pk, "title": "Call back", "due_at": due.isoformat()}
    )

    assert response.status_code == 201, response.data
    task = Task.objects.get(pk=response.data["id"])
    assert (task.assignee, task.created_by, task.created_by_kind) == (other_rep, sales_rep, "api")
    assert (task.title, task.due_at, task.state) == ("Call back", due, "open")
    assert response.data["is_overdue"] is False

    response = rep_api.post(
        TASKS,
        {
            "customer": owned.pk,
            "title": "Mine",
            "due_at": due.isoformat(),
            "assignee": sales_rep.pk,
            "notes": "Ask about seats",
        },
    )

    assert response.status_code == 201
    task = Task.objects.get(pk=response.data["id"])
    assert (task.assignee, task.notes) == (sales_rep, "Ask about seats")


BAD_TASKS = [
    ({"customer": 999_999}, "customer"),
    ({"customer": "x"}, "customer"),
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"due_at": "tomorrow"}, "due_at"),
    ({"due_at": "25:61"}, "due_at"),
    ({"due_at": "2024-02-30T10:00:00Z"}, "due_at"),
    ({"due_at": 12345}, "due_at"),
    ({"due_at": None}, "due_at"),
    ({"assignee": 999_999}, "assignee"),
    ({"assignee": "me"}, "assignee"),
    ({"notes": "x" * 5001}, "notes"),
]


@pytest.mark.parametrize(("change", "field"), BAD_TASKS, ids=lambda v: repr(v)[:50])
def test_bad_task_is_400_on_the_field_and_writes_nothing(rep_api, customer, change, field):
    payload = {"customer": customer.pk, "title": "Call", "due_at": ahead(days=1), **change}

    response = rep_api.post(TASKS, payload)

    assert response.status_code == 400
    assert field in response.data, response.data
    assert not Task.objects.exists()


@pytest.fixture
def todo(customer_factory, sales_rep, other_rep) -> dict[str, Any]:
    """Four tasks: overdue, due soon, done and cancelled, split between two reps."""
    ann, bob = customer_factory(), customer_factory()
    now = timezone.now()

    def task(name: str, customer: Customer, user: Any, hours: float) -> Task:
        return task_create(
            customer=customer,
            title=name,
            due_at=now + timedelta(hours=hours),
            assignee=user,
            created_by=user,
        )

    tasks = {
        "overdue": task("overdue", ann, sales_rep, -5),
        "soon": task("soon", ann, other_rep, 5),
        "done": task("done", bob, sales_rep, -30),
        "cancelled": task("cancelled", bob, other_rep, 50),
    }
    Task.objects.filter(pk=tasks["done"].pk).update(state="done", completed_at=now)
    Task.objects.filter(pk=tasks["cancelled"].pk).update(state="cancelled", completed_at=now)
    return {**tasks, "ann": ann, "bob": bob, "rep": sales_rep, "other": other_rep, "now": now}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"overdue", "soon", "done", "cancelled"}),
        ({"customer": "ann"}, {"overdue", "soon"}),
        ({"assignee": "rep"}, {"overdue", "done"}),
        ({"assignee": "me"}, {"overdue", "done"}),
        ({"assignee": "other"}, {"soon", "cancelled"}),
        ({"state": "open"}, {"overdue", "soon"}),
        ({"state": "done"}, {"done"}),
        ({"overdue": "true"}, {"overdue"}),
        ({"overdue": "false"}, {"soon", "done", "cancelled"}),
        ({"due_after": 0}, {"soon", "cancelled"}),
        ({"due_before": 0}, {"overdue", "done"}),
        ({"due_after": -10, "due_before": 10}, {"overdue", "soon"}),
        ({"assignee": "me", "state": "open"}, {"overdue"}),
    ],
    ids=repr,
)
def test_task_filters(rep_api, todo, params, expected):
    query = {}
    for key, value in params.items():
        if key in ("customer", "assignee") and value in todo:
            value = todo[value].pk
        if key.startswith("due_"):
            value = (todo["now"] + timedelta(hours=value)).isoformat()
        query[key] = value

    response = rep_api.get(TASKS, query)

    assert ids(response) == {todo[name].pk for name in expected}


@pytest.mark.parametrize(
    "params",
    [
        {"assignee": "you"},
        {"assignee": 999_999},
        {"state": "doing"},
        {"overdue": "maybe"},
        {"due_after": "soon"},
    ],
    ids=repr,
)
def test_a_bad_task_filter_is_400_on_that_parameter(rep_api, todo, params):
    response = rep_api.get(TASKS, params)

    assert response.status_code == 400
    assert set(params) <= set(response.data), response.data


def test_tasks_are_listed_soonest_due_first_and_show_whether_overdue(rep_api, todo):
    response = rep_api.get(TASKS, {"state": "open"})

    assert [item["title"] for item in response.data["results"]] == ["overdue", "soon"]
    assert [item["is_overdue"] for item in response.data["results"]] == [True, False]


def test_completing_a_task_twice_is_400_on_state(rep_api, todo):
    task, customer = todo["overdue"], todo["ann"]

    response = rep_api.post(url("task-complete", task.pk))

    assert response.status_code == 200, response.data
    assert response.data["state"] == "done"
    task.refresh_from_db()
    assert task.state == "done"
    assert task.completed_at is not None
    customer.refresh_from_db()
    assert customer.last_activity_at == task.completed_at

    again = rep_api.post(url("task-complete", task.pk))

    assert again.status_code == 400
    assert "already done" in str(again.data["state"])
    completed_at = task.completed_at
    task.refresh_from_db()
    assert task.completed_at == completed_at


def test_cancelling_an_open_task_and_then_completing_it(rep_api, todo):
    task = todo["overdue"]

    response = rep_api.post(url("task-cancel", task.pk))

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.state == "cancelled"

    response = rep_api.post(url("task-complete", task.pk))

    assert response.status_code == 400
    assert "state" in response.data
    task.refresh_from_db()
    assert task.state == "cancelled"


def test_the_assignee_or_creator_edits_an_open_task(rep_api, todo, sales_rep):
    task = todo["overdue"]
    due = timezone.now() + timedelta(days=3)

    response = rep_api.patch(
        url("task-detail", task.pk), {"title": "Call again", "due_at": due.isoformat()}
    )

    assert response.status_code == 200, response.data
    task.refresh_from_db()
    assert (task.title, task.due_at) == ("Call again", due)
    assert response.data["is_overdue"] is False


@pytest.mark.parametrize("route", ["task-detail", "task-complete", "task-cancel"])
def test_a_rep_may_not_change_another_reps_task_but_an_admin_may(rep_api, admin_api, todo, route):
    task = todo["soon"]
    before = Task.objects.values().get(pk=task.pk)
    call = (
        (lambda c: c.patch(url(route, task.pk), {"title": "Hijacked"}))
        if (route == "task-detail")
        else (lambda c: c.post(url(route, task.pk)))
    )

    refused = call(rep_api)

    assert refused.status_code == 403
    assert Task.objects.values().get(pk=task.pk) == before

    assert call(admin_api).status_code == 200
    assert Task.objects.values().get(pk=task.pk) != before


def test_a_task_created_by_a_rep_for_someone_else_stays_theirs_to_change(
    rep_api, sales_rep, other_rep, customer
):
    task = task_create(
        customer=customer,
        title="For you",
        due_at=timezone.now() + timedelta(days=1),
        assignee=other_rep,
        created_by=sales_rep,
    )

    response = rep_api.patch(url("task-detail", task.pk), {"notes": "Context"})

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.notes == "Context"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"due_at": "whenever"}, "due_at"),
        ({"title": ""}, "title"),
        ({"assignee": 999_999}, "assignee"),
    ],
)
def test_bad_task_change_is_400_and_changes_nothing(rep_api, todo, payload, field):
    task = todo["overdue"]
    before = Task.objects.values().get(pk=task.pk)

    response = rep_api.patch(url("task-detail", task.pk), payload)

    assert response.status_code == 400
    assert field in response.data
    assert Task.objects.values().get(pk=task.pk) == before


def test_a_finished_task_can_no_longer_change(rep_api, todo):
    task = todo["done"]

    response = rep_api.patch(url("task-detail", task.pk), {"title": "Reopen?"})

    assert response.status_code == 400
    assert "state" in response.data
    task.refresh_from_db()
    assert task.title == "done"


@pytest.mark.parametrize("route", ["task-detail", "task-complete", "task-cancel"])
def test_unknown_task_is_404(admin_api, route):
    target = url(route, 999_999)
    response = admin_api.get(target) if route == "task-detail" else admin_api.post(target)

    assert response.status_code == 404


# --- purchases ------------------------------------------------------------------------------


def test_a_first_purchase_moves_an_awareness_customer_to_purchase(rep_api, sales_rep, customer):
    assert customer.stage.slug == "awareness"

    response = rep_api.post(
        PURCHASES,
        {"customer": customer.pk, "amount": "120.50", "currency": "eur", "source": "shop"},
    )

    assert response.status_code == 201, response.data
    assert (response.data["amount"], response.data["currency"]) == ("120.50", "EUR")
    purchase = Purchase.objects.get(pk=response.data["id"])
    assert (purchase.amount, purchase.currency, purchase.recorded_by) == (
        Decimal("120.50"),
        "EUR",
        sales_rep,
    )
    customer.refresh_from_db()
    assert customer.stage.slug == "purchase"
    move = customer.transitions.order_by("-id").first()
    assert (move.from_stage.slug, move.to_stage.slug) == ("awareness", "purchase")
    assert (move.actor_kind, move.actor_user) == (ActorKind.API, sales_rep)
    assert "First purchase" in move.reason
    assert "120.50 EUR" in move.reason
    assert customer.last_activity_at == purchase.occurred_at


@pytest.mark.parametrize(
    ("amount", "stored"),
    [("19.90", "19.90"), (19.9, "19.90"), (7, "7.00"), ("0.01", "0.01"), (" 5 ", "5.00")],
)
def test_an_amount_may_be_a_decimal_string_or_a_number(rep_api, customer, amount, stored):
    response = rep_api.post(
        PURCHASES, {"customer": customer.pk, "amount": amount, "currency": "USD"}
    )

    assert response.status_code == 201, response.data
    assert str(Purchase.objects.get().amount) == stored


def test_the_same_order_twice_is_recorded_once(rep_api, customer):
    order = {"customer": customer.pk, "amount": "50", "currency": "EUR", "source": "shop"}

    first = rep_api.post(PURCHASES, {**order, "external_id": "A-1"})
    second = rep_api.post(PURCHASES, {**order, "external_id": "A-1", "amount": "999"})

    assert (first.status_code, second.status_code) == (201, 200)
    assert second.data["id"] == first.data["id"]
    assert second.data["amount"] == "50.00"
    assert Purchase.objects.count() == 1


def test_the_same_external_id_from_another_source_is_another_order(rep_api, customer):
    order = {"customer": customer.pk, "amount": "50", "currency": "EUR", "external_id": "A-1"}

    first = rep_api.post(PURCHASES, {**order, "source": "shop"})
    second = rep_api.post(PURCHASES, {**order, "source": "pos"})

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.data["id"] != second.data["id"]
    assert Purchase.objects.count() == 2


def test_an_order_already_recorded_for_another_customer_is_400_on_external_id(
    rep_api, customer_factory
):
    ann, bob = customer_factory(), customer_factory()
    order = {"amount": "50", "currency": "EUR", "source": "shop", "external_id": "A-1"}
    assert rep_api.post(PURCHASES, {**order, "customer": ann.pk}).status_code == 201
    before = counts()

    response = rep_api.post(PURCHASES, {**order, "customer": bob.pk})

    assert response.status_code == 400
    assert "another customer" in str(response.data["external_id"])
    assert counts() == before
    bob.refresh_from_db()
    assert bob.stage.slug == "awareness"


def test_purchases_without_external_id_are_never_deduplicated(rep_api, customer):
    order = {"customer": customer.pk, "amount": "5", "currency": "EUR", "source": "shop"}

    responses = [
        rep_api.post(PURCHASES, order),
        rep_api.post(PURCHASES, {**order, "external_id": ""}),
    ]

    assert [r.status_code for r in responses] == [201, 201]
    assert Purchase.objects.count() == 2


BAD_PURCHASES = [
    ({"amount": -1}, "amount"),
    ({"amount": "-0.01"}, "amount"),
    ({"amount": 0}, "amount"),
    ({"amount": "0.00"}, "amount"),
    ({"amount": "abc"}, "amount"),
    ({"amount": "12,50"}, "amount"),
    ({"amount": "1.234"}, "amount"),
    ({"amount": "123456789012345"}, "amount"),
    ({"amount": "1e20"}, "amount"),
    ({"amount": "NaN"}, "amount"),
    ({"amount": "Infinity"}, "amount"),
    ({"amount": "-Infinity"}, "amount"),
    ({"amount": "1" * 2000}, "amount"),
    ({"amount": None}, "amount"),
    ({"amount": True}, "amount"),
    ({"amount": [5]}, "amount"),
    ({"amount": ""}, "amount"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": "EURO"}, "currency"),
    ({"currency": ""}, "currency"),
    ({"currency": None}, "currency"),
    ({"customer": 999_999}, "customer"),
    ({"customer": "me"}, "customer"),
    ({"occurred_at": "last week"}, "occurred_at"),
    ({"occurred_at": "FUTURE"}, "occurred_at"),
    ({"external_id": "x" * 201}, "external_id"),
    ({"source": "x" * 101}, "source"),
    ({"description": "a\x00b"}, "description"),
]


@pytest.mark.parametrize(("change", "field"), BAD_PURCHASES, ids=lambda v: repr(v)[:50])
def test_bad_purchase_is_400_on_the_field_and_writes_nothing(rep_api, customer, change, field):
    payload = {"customer": customer.pk, "amount": "10", "currency": "EUR", **change}
    if payload.get("occurred_at") == "FUTURE":
        payload["occurred_at"] = ahead(days=1)
    before = counts()

    response = rep_api.post(PURCHASES, payload)

    assert response.status_code == 400
    assert field in response.data, response.data
    assert counts() == before
    customer.refresh_from_db()
    assert (customer.stage.slug, customer.last_activity_at) == ("awareness", None)


@pytest.mark.parametrize(
    "body", ['{"customer": 1, "amount": NaN, "currency": "EUR"}', '{"amount": Infinity}']
)
def test_non_json_numbers_are_400_on_body(rep_api, body):
    response = rep_api.post(PURCHASES, data=body, content_type="application/json")

    assert response.status_code == 400
    assert "body" in response.data
    assert not Purchase.objects.exists()


def test_an_amount_too_large_for_json_floats_is_400_on_amount(rep_api, customer):
    body = f'{{"customer": {customer.pk}, "amount": 1e400, "currency": "EUR"}}'

    response = rep_api.post(PURCHASES, data=body, content_type="application/json")

    assert response.status_code == 400
    assert "amount" in response.data
    assert not Purchase.objects.exists()


@pytest.fixture
def ledger(customer_factory) -> dict[str, Any]:
    ann, bob = customer_factory(), customer_factory()
    now = timezone.now()

    def buy(customer: Customer, amount: str, currency: str, source: str, days: int) -> Purchase:
        purchase, _ = purchase_record(
            customer=customer,
            amount=Decimal(amount),
            currency=currency,
            recorded_by=None,
            source=source,
            occurred_at=now - timedelta(days=days),
        )
        return purchase

    return {
        "ann": ann,
        "bob": bob,
        "now": now,
        "eur": buy(ann, "10", "EUR", "shop", 9),
        "usd": buy(ann, "20", "USD", "pos", 5),
        "bob_eur": buy(bob, "30", "EUR", "shop", 1),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"eur", "usd", "bob_eur"}),
        ({"customer": "ann"}, {"eur", "usd"}),
        ({"currency": "EUR"}, {"eur", "bob_eur"}),
        ({"currency": "usd"}, {"usd"}),
        ({"currency": "GBP"}, set()),
        ({"source": "shop"}, {"eur", "bob_eur"}),
        ({"source": "pos"}, {"usd"}),
        ({"occurred_after": 6}, {"usd", "bob_eur"}),
        ({"occurred_before": 6}, {"eur"}),
        ({"customer": "ann", "currency": "eur"}, {"eur"}),
    ],
    ids=repr,
)
def test_purchase_filters(rep_api, ledger, params, expected):
    query = {}
    for key, value in params.items():
        if key == "customer":
            value = ledger[value].pk
        if key.startswith("occurred_"):
            value = (ledger["now"] - timedelta(days=value)).isoformat()
        query[key] = value

    response = rep_api.get(PURCHASES, query)

    assert ids(response) == {ledger[name].pk for name in expected}


def test_purchases_ordered_by_amount(rep_api, ledger):
    response = rep_api.get(PURCHASES, {"ordering": "-amount"})

    assert [item["amount"] for item in response.data["results"]] == ["30.00", "20.00", "10.00"]


@pytest.mark.parametrize(
    "params", [{"customer": "x"}, {"customer": 999_999}, {"occurred_after": "then"}], ids=repr
)
def test_a_bad_purchase_filter_is_400_on_that_parameter(rep_api, ledger, params):
    response = rep_api.get(PURCHASES, params)

    assert response.status_code == 400
    assert set(params) <= set(response.data)


def test_read_and_delete_one_purchase(rep_api, admin_api, ledger):
    purchase = ledger["usd"]

    response = rep_api.get(url("purchase-detail", purchase.pk))

    assert response.status_code == 200
    assert (response.data["amount"], response.data["currency"], response.data["source"]) == (
        "20.00",
        "USD",
        "pos",
    )

    assert rep_api.delete(url("purchase-detail", purchase.pk)).status_code == 403
    assert admin_api.delete(url("purchase-detail", purchase.pk)).status_code == 204
    assert not Purchase.objects.filter(pk=purchase.pk).exists()
    assert admin_api.get(url("purchase-detail", purchase.pk)).status_code == 404


# --- the customer's derived numbers --------------------------------------------------------


def test_customer_detail_shows_lifetime_value_per_currency_and_open_tasks(
    rep_api, customer_factory, sales_rep
):
    customer = customer_factory(stage="purchase")
    other = customer_factory()
    for who, amount, currency in [
        (customer, "100", "EUR"),
        (customer, "50.50", "EUR"),
        (customer, "30", "USD"),
        (other, "999", "EUR"),
    ]:
        purchase_record(customer=who, amount=Decimal(amount), currency=currency, recorded_by=None)
    for who, state in [(customer, "open"), (customer, "open"), (customer, "done"), (other, "open")]:
        task = task_create(customer=who, title="t", due_at=timezone.now(), assignee=sales_rep)
        if state == "done":
            rep_api.post(url("task-complete", task.pk))

    response = rep_api.get(reverse("api:customer-detail", kwargs={"pk": customer.pk}))

    assert response.status_code == 200
    assert response.data["lifetime_value"] == [
        {"currency": "EUR", "total": "150.50", "count": 2, "average": "75.25"},
        {"currency": "USD", "total": "30.00", "count": 1, "average": "30.00"},
    ]
    assert response.data["open_tasks"] == 2


def test_a_new_customer_has_no_value_and_no_open_tasks(rep_api, customer):
    response = rep_api.get(reverse("api:customer-detail", kwargs={"pk": customer.pk}))

    assert (response.data["lifetime_value"], response.data["open_tasks"]) == ([], 0)
