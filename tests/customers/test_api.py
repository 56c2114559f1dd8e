"""REST API v1: customers — token auth, create, list (filters, search, ordering, cursor
pagination), retrieve, update, delete, and every kind of bad input.

The test client re-raises any exception a view lets escape, so a 500 fails the test that
provoked it; the bad-input tests also check that nothing was written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer
from stages.models import ActorKind, Direction, Stage, StageTransition

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:customer-list")
TOKEN_URL = reverse("api:auth-token")
PASSWORD = "pass-word-123"  # tests.factories.UserFactory's password


def detail_url(pk: int) -> str:
    return reverse("api:customer-detail", kwargs={"pk": pk})


def post_raw(client: APIClient, url: str, body: str, method: str = "post") -> Any:
    """Send `body` exactly as given (for JSON the test client could not produce)."""
    return getattr(client, method)(url, data=body, content_type="application/json")


def db_state() -> tuple[int, int]:
    return Customer.objects.count(), StageTransition.objects.count()


def row(customer: Customer) -> Mapping[str, Any]:
    return Customer.objects.values().get(pk=customer.pk)


@pytest.fixture
def admin_api(api_as: Callable[[User], APIClient], admin_user: Any) -> APIClient:
    return api_as(admin_user)


@pytest.fixture
def rep_api(api_as: Callable[[User], APIClient], sales_rep: Any) -> APIClient:
    return api_as(sales_rep)


# --- token authentication -------------------------------------------------------------------


def test_token_from_good_credentials_authenticates_later_requests(sales_rep, customer_factory):
    customer = customer_factory()

    response = APIClient().post(TOKEN_URL, {"username": "sales-rep", "password": PASSWORD})

    assert response.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.data['token']}")
    listed = client.get(LIST_URL)
    assert listed.status_code == 200
    assert [c["id"] for c in listed.data["results"]] == [customer.pk]


@pytest.mark.parametrize(
    ("credentials", "field", "message"),
    [
        ({"username": "sales-rep", "password": "wrong"}, "non_field_errors", "Unable to log in"),
        ({"username": "nobody", "password": PASSWORD}, "non_field_errors", "Unable to log in"),
        ({"password": PASSWORD}, "username", "required"),
        ({"username": "sales-rep"}, "password", "required"),
    ],
)
def test_token_refused_for_bad_credentials(sales_rep, credentials, field, message):
    response = APIClient().post(TOKEN_URL, credentials)

    assert response.status_code == 400
    assert "token" not in response.data
    assert message in str(response.data[field])


def test_token_refused_for_an_inactive_user(sales_rep):
    sales_rep.is_active = False
    sales_rep.save()

    response = APIClient().post(TOKEN_URL, {"username": "sales-rep", "password": PASSWORD})

    assert response.status_code == 400
    assert "token" not in response.data


def test_a_revoked_token_does_not_stop_the_client_logging_in_again(sales_rep):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token revoked0000000000000000000000000000000")

    response = client.post(TOKEN_URL, {"username": "sales-rep", "password": PASSWORD})

    assert response.status_code == 200
    assert response.data["token"]


def test_token_request_with_malformed_json_is_400_on_body(sales_rep):
    deep = '{"username": ' + "[" * 100_000 + "]" * 100_000 + "}"

    for body in ('{"username": "sales-rep"', deep):
        response = post_raw(APIClient(), TOKEN_URL, body)

        assert response.status_code == 400
        assert "body" in response.data


@pytest.mark.parametrize(
    "authorization", [None, "Token not-a-real-token", "Bearer abc", "Token"], ids=str
)
def test_requests_without_valid_credentials_are_401(authorization, customer_factory):
    customer_factory()
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)

    response = client.get(LIST_URL)

    assert response.status_code == 401
    assert "results" not in response.data


# --- create ---------------------------------------------------------------------------------


def test_create_enters_awareness_and_records_the_entry_as_an_api_move(rep_api, sales_rep):
    response = rep_api.post(
        LIST_URL, {"email": "ann@example.com", "first_name": "Ann", "company": "Acme"}
    )

    assert response.status_code == 201
    body = response.data
    assert body["stage"] == "awareness"
    assert body["phase"] == "attract"
    customer = Customer.objects.get(pk=body["id"])
    assert (customer.email, customer.first_name, customer.company) == (
        "ann@example.com",
        "Ann",
        "Acme",
    )
    [entry] = StageTransition.objects.filter(customer=customer)
    assert entry.from_stage is None
    assert entry.to_stage.slug == "awareness"
    assert entry.direction == Direction.ENTRY
    assert entry.actor_kind == ActorKind.API
    assert entry.actor_user == sales_rep
    assert entry.occurred_at == customer.stage_entered_at


def test_create_in_an_explicit_stage(rep_api):
    response = rep_api.post(LIST_URL, {"email": "bob@example.com", "stage": "purchase"})

    assert response.status_code == 201
    assert (response.data["stage"], response.data["phase"]) == ("purchase", "engage")
    [entry] = StageTransition.objects.filter(customer_id=response.data["id"])
    assert entry.to_stage.slug == "purchase"


def test_create_normalises_tags(rep_api):
    response = rep_api.post(
        LIST_URL, {"email": "t@example.com", "tags": [" VIP ", "vip", "Newsletter", "VIP"]}
    )

    assert response.status_code == 201
    assert response.data["tags"] == ["vip", "newsletter"]
    assert Customer.objects.get(pk=response.data["id"]).tags == ["vip", "newsletter"]


def test_create_records_when_consent_was_given(rep_api):
    before = timezone.now()

    response = rep_api.post(
        LIST_URL, {"email": "c@example.com", "email_consent": True, "sms_consent": False}
    )

    assert response.status_code == 201
    customer = Customer.objects.get(pk=response.data["id"])
    assert customer.email_consent is True
    assert customer.email_consent_at is not None
    assert before <= customer.email_consent_at <= timezone.now()
    assert customer.sms_consent is False
    assert customer.sms_consent_at is None


def test_create_with_all_details_round_trips(rep_api, sales_rep, customer_factory):
    referrer = customer_factory()
    payload = {
        "email": "full@example.com",
        "first_name": "Full",
        "last_name": "Details",
        "phone": "+44 20 7946 0000",
        "company": "Initech",
        "owner": sales_rep.pk,
        "source": "webinar",
        "utm_campaign": "spring",
        "attributes": {"plan": "pro", "seats": 12, "nested": {"ok": [1, 2]}},
        "referred_by": referrer.pk,
    }

    response = rep_api.post(LIST_URL, payload)

    assert response.status_code == 201
    for field, value in payload.items():
        if field == "owner":  # taken as an id, shown as the person
            value = {"id": sales_rep.pk, "username": "sales-rep", "name": ""}
        assert response.data[field] == value, field
    assert rep_api.get(detail_url(response.data["id"])).data == response.data


# --- list: filters, search, ordering, pagination --------------------------------------------


@pytest.fixture
def crowd(customer_factory, sales_rep, admin_user) -> dict[str, Any]:
    """Three customers that differ in every filterable way, plus who owns them."""
    now = timezone.now()
    return {
        "now": now,
        "rep": sales_rep,
        "ann": customer_factory(
            email="ann@lee.example",
            first_name="Ann",
            last_name="Lee",
            company="Acme Corp",
            stage="awareness",
            owner=sales_rep,
            tags=["vip"],
            created_at=now - timedelta(days=10),
        ),
        "bob": customer_factory(
            email="bob@stone.example",
            first_name="Bob",
            last_name="Stone",
            company="Globex",
            stage="purchase",
            tags=["newsletter"],
            created_at=now - timedelta(days=1),
        ),
        "cara": customer_factory(
            email="cara@initech.example",
            first_name="Cara",
            last_name="Diaz",
            company="Initech",
            stage="advocacy",
            owner=admin_user,
            tags=["vip", "b2b"],
            created_at=now - timedelta(days=3),
        ),
    }


def names(crowd: dict[str, Any], results: list[dict[str, Any]]) -> list[str]:
    by_id = {crowd[name].pk: name for name in ("ann", "bob", "cara")}
    return [by_id[item["id"]] for item in results]


def days_ago(days: int) -> Callable[[dict[str, Any]], str]:
    return lambda crowd: (crowd["now"] - timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"ann", "bob", "cara"}),
        ({"stage": "purchase"}, {"bob"}),
        ({"stage": "awareness"}, {"ann"}),
        ({"stage": "evaluation"}, set()),
        ({"phase": "engage"}, {"bob"}),
        ({"phase": "delight"}, {"cara"}),
        ({"owner": lambda crowd: crowd["rep"].pk}, {"ann"}),
        ({"tag": "vip"}, {"ann", "cara"}),
        ({"tag": "VIP "}, {"ann", "cara"}),
        ({"tag": "b2b"}, {"cara"}),
        ({"created_after": days_ago(5)}, {"bob", "cara"}),
        ({"created_before": days_ago(5)}, {"ann"}),
        ({"created_after": days_ago(5), "created_before": days_ago(2)}, {"cara"}),
        ({"tag": "vip", "phase": "attract"}, {"ann"}),
    ],
    ids=repr,
)
def test_list_filters(rep_api, crowd, params, expected):
    query = {key: value(crowd) if callable(value) else value for key, value in params.items()}

    response = rep_api.get(LIST_URL, query)

    assert response.status_code == 200
    assert set(names(crowd, response.data["results"])) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("acme", {"ann"}),  # company
        ("STONE", {"bob"}),  # last name, any case
        ("cara", {"cara"}),  # first name
        ("initech.example", {"cara"}),  # email
        ("ann acme", {"ann"}),  # every word must match somewhere
        ("ann globex", set()),
        ("example", {"ann", "bob", "cara"}),
        ("zzz", set()),
    ],
)
def test_list_search_over_name_email_and_company(rep_api, crowd, q, expected):
    response = rep_api.get(LIST_URL, {"q": q})

    assert response.status_code == 200
    assert set(names(crowd, response.data["results"])) == expected


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        (None, ["cara", "bob", "ann"]),  # newest first
        ("email", ["ann", "bob", "cara"]),
        ("-email", ["cara", "bob", "ann"]),
        ("last_name", ["cara", "ann", "bob"]),
        ("created_at", ["ann", "cara", "bob"]),
        ("-created_at", ["bob", "cara", "ann"]),
    ],
)
def test_list_ordering(rep_api, crowd, ordering, expected):
    response = rep_api.get(LIST_URL, {"ordering": ordering} if ordering else {})

    assert response.status_code == 200
    assert names(crowd, response.data["results"]) == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"stage": "nope"}, "stage"),
        ({"phase": "orbit"}, "phase"),
        ({"owner": "abc"}, "owner"),
        ({"owner": "99999999999999999999"}, "owner"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "2024-13-45"}, "created_before"),
        ({"q": "a\x00b"}, "q"),
        ({"tag": "\x00"}, "tag"),
    ],
    ids=repr,
)
def test_list_bad_filter_is_400_on_that_parameter(rep_api, crowd, params, field):
    response = rep_api.get(LIST_URL, params)

    assert response.status_code == 400
    assert field in response.json()


def walk(client: APIClient, url: str, params: dict[str, Any]) -> list[list[int]]:
    """Every page's ids, following `next` from the first page."""
    response = client.get(url, params)
    pages = []
    while True:
        assert response.status_code == 200, response.data
        pages.append([item["id"] for item in response.data["results"]])
        if not response.data["next"]:
            return pages
        response = client.get(response.data["next"])


@pytest.fixture
def many(customer_factory) -> list[Customer]:
    """Seven customers with tied last names, tied creation times and some NULL activity."""
    now = timezone.now()
    customers = [
        customer_factory(
            last_name=["Ng", "Ng", "Abe", "Zed"][i % 4],
            created_at=now - timedelta(days=i % 3),
        )
        for i in range(7)
    ]
    for i, customer in enumerate(customers):
        if i % 3:
            Customer.objects.filter(pk=customer.pk).update(
                last_activity_at=now - timedelta(hours=i)
            )
    return customers


@pytest.mark.parametrize(
    "ordering", [None, "id", "last_name", "-last_name", "created_at", "-last_activity_at"]
)
def test_cursor_pagination_walks_every_customer_exactly_once(rep_api, many, ordering):
    params = {"page_size": 2, **({"ordering": ordering} if ordering else {})}

    pages = walk(rep_api, LIST_URL, params)

    assert [len(page) for page in pages] == [2, 2, 2, 1]
    ids = [pk for page in pages for pk in page]
    assert sorted(ids) == sorted(c.pk for c in many)
    field = (ordering or "-id").lstrip("-")
    descending = (ordering or "-id").startswith("-")
    expected_order = F(field).desc(nulls_last=True) if descending else F(field).asc()
    expected = Customer.objects.order_by(expected_order, "-pk" if descending else "pk")
    assert ids == list(expected.values_list("pk", flat=True))


def test_cursor_pagination_previous_links_walk_back(rep_api, many):
    pages = walk(rep_api, LIST_URL, {"page_size": 3, "ordering": "last_name"})
    response = rep_api.get(LIST_URL, {"page_size": 3, "ordering": "last_name"})
    while response.data["next"]:
        response = rep_api.get(response.data["next"])

    back = []
    while response.data["previous"]:
        response = rep_api.get(response.data["previous"])
        back.append([item["id"] for item in response.data["results"]])

    assert back == pages[-2::-1]


@pytest.mark.parametrize(
    "cursor", ["garbage", "cD1hYmM=", "eyJvIjoiLWlkIiwidiI6bnVsbCwiayI6ImFiYyIsImIiOmZhbHNlfQ"]
)
def test_a_cursor_the_server_did_not_issue_is_400(rep_api, many, cursor):
    response = rep_api.get(LIST_URL, {"cursor": cursor})

    assert response.status_code == 400
    assert "cursor" in response.data


def test_a_cursor_from_another_ordering_is_400(rep_api, many):
    first = rep_api.get(LIST_URL, {"page_size": 2, "ordering": "email"})
    cursor = first.data["next"].split("cursor=")[1].split("&")[0]

    response = rep_api.get(LIST_URL, {"page_size": 2, "ordering": "created_at", "cursor": cursor})

    assert response.status_code == 400
    assert "cursor" in response.data


def test_list_query_count_does_not_grow_with_the_customers(
    rep_api, customer_factory, sales_rep, django_assert_max_num_queries
):
    def add(n: int) -> None:
        for _ in range(n):
            referrer = customer_factory(owner=sales_rep, tags=["vip"])
            customer_factory(owner=sales_rep, referred_by=referrer, attributes={"a": 1})

    add(1)
    with CaptureQueriesContext(connection) as baseline:
        assert rep_api.get(LIST_URL).status_code == 200
    add(10)

    with django_assert_max_num_queries(len(baseline.captured_queries)):
        response = rep_api.get(LIST_URL)

    assert len(response.data["results"]) == 22


# --- retrieve ----------------------------------------------------------------------------------


def test_retrieve_shows_the_customer_with_stage_slug_and_phase(rep_api, customer_factory):
    customer = customer_factory(email="r@example.com", stage="evaluation", tags=["vip"])

    response = rep_api.get(detail_url(customer.pk))

    assert response.status_code == 200
    body = response.data
    assert {
        "id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "company",
        "owner",
        "source",
        "tags",
        "attributes",
        "stage",
        "phase",
        "stage_entered_at",
        "referred_by",
        "last_activity_at",
        "created_at",
        "updated_at",
    } <= set(body)
    assert (body["id"], body["email"], body["tags"]) == (customer.pk, "r@example.com", ["vip"])
    assert (body["stage"], body["phase"]) == ("evaluation", "engage")


# --- update -----------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(rep_api, customer_factory, sales_rep):
    customer = customer_factory(first_name="Ann", company="Acme", tags=["old"])

    response = rep_api.patch(
        detail_url(customer.pk),
        {"first_name": "Anne", "owner": sales_rep.pk, "tags": ["New", " new "]},
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.first_name, customer.company) == ("Anne", "Acme")
    assert customer.owner == sales_rep
    assert customer.tags == ["new"]
    assert response.data["tags"] == ["new"]


def test_patch_consent_records_when_it_changed(rep_api, customer_factory):
    customer = customer_factory()

    response = rep_api.patch(detail_url(customer.pk), {"sms_consent": True})

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.sms_consent is True
    assert customer.sms_consent_at is not None


def test_patch_to_another_stage_is_400_on_stage_and_moves_nothing(rep_api, customer_factory):
    customer = customer_factory()
    before = row(customer)

    response = rep_api.patch(detail_url(customer.pk), {"stage": "purchase", "first_name": "X"})

    assert response.status_code == 400
    assert "transitions" in str(response.data["stage"])
    assert row(customer) == before
    assert customer.transitions.count() == 1


def test_patch_repeating_the_current_stage_is_accepted(rep_api, customer_factory):
    customer = customer_factory(stage="evaluation")

    response = rep_api.patch(detail_url(customer.pk), {"stage": "evaluation", "phone": "123"})

    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.stage.slug, customer.phone) == ("evaluation", "123")
    assert customer.transitions.count() == 1


def test_put_requires_email(rep_api, customer_factory):
    customer = customer_factory()
    before = row(customer)

    response = rep_api.put(detail_url(customer.pk), {"first_name": "No email"})

    assert response.status_code == 400
    assert "email" in response.data
    assert row(customer) == before


def test_put_replaces_the_details(rep_api, customer_factory):
    customer = customer_factory(email="old@example.com", stage="purchase")

    response = rep_api.put(
        detail_url(customer.pk),
        {"email": "new@example.com", "first_name": "New", "stage": "purchase"},
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.email, customer.first_name) == ("new@example.com", "New")
    assert response.data["email"] == "new@example.com"


def test_put_keeping_the_own_email_in_another_case_is_accepted(rep_api, customer_factory):
    customer = customer_factory(email="ann@x.com")

    response = rep_api.put(detail_url(customer.pk), {"email": "Ann@X.com"})

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.email == "Ann@X.com"


# --- delete -----------------------------------------------------------------------------------


def test_admin_deletes_a_customer_and_their_history(admin_api, customer_factory):
    customer = customer_factory()
    referral = customer_factory(referred_by=customer)

    response = admin_api.delete(detail_url(customer.pk))

    assert response.status_code == 204
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not StageTransition.objects.filter(customer_id=customer.pk).exists()
    referral.refresh_from_db()
    assert referral.referred_by is None


def test_a_sales_rep_cannot_delete(rep_api, customer_factory):
    customer = customer_factory()

    response = rep_api.delete(detail_url(customer.pk))

    assert response.status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()


# --- bad input: 400 keyed by the field, nothing written ---------------------------------------

LONG = "x" * 1000

BAD_CREATES = [
    ({"email": "e@example.com", "stage": "nope"}, "stage"),
    ({"email": "e@example.com", "stage": {"slug": "awareness"}}, "stage"),
    ({"email": "not-an-email"}, "email"),
    ({"email": ""}, "email"),
    ({}, "email"),
    ({"email": "x" * 250 + "@example.com"}, "email"),
    ({"email": "e\x00@example.com"}, "email"),
    ({"email": "e@example.com", "first_name": "x" * 151}, "first_name"),
    ({"email": "e@example.com", "last_name": LONG}, "last_name"),
    ({"email": "e@example.com", "phone": "1" * 33}, "phone"),
    ({"email": "e@example.com", "company": LONG}, "company"),
    ({"email": "e@example.com", "source": LONG}, "source"),
    ({"email": "e@example.com", "utm_content": LONG}, "utm_content"),
    ({"email": "e@example.com", "tags": ["x" * 51]}, "tags"),
    ({"email": "e@example.com", "tags": [f"t{i}" for i in range(51)]}, "tags"),
    ({"email": "e@example.com", "tags": "vip"}, "tags"),
    ({"email": "e@example.com", "attributes": ["a", "list"]}, "attributes"),
    ({"email": "e@example.com", "attributes": "a string"}, "attributes"),
    ({"email": "e@example.com", "attributes": 7}, "attributes"),
    ({"email": "e@example.com", "attributes": None}, "attributes"),
    ({"email": "e@example.com", "first_name": "A\x00nn"}, "first_name"),
    ({"email": "e@example.com", "company": "\x00"}, "company"),
    ({"email": "e@example.com", "tags": ["v\x00ip"]}, "tags"),
    ({"email": "e@example.com", "attributes": {"note": "a\x00b"}}, "attributes"),
    ({"email": "e@example.com", "attributes": {"k\x00": 1}}, "attributes"),
    ({"email": "e@example.com", "attributes": {"deep": [{"x": ["\x00"]}]}}, "attributes"),
    ({"email": "e@example.com", "owner": 999_999}, "owner"),
    ({"email": "e@example.com", "owner": 99_999_999_999_999_999_999}, "owner"),
    ({"email": "e@example.com", "owner": "me"}, "owner"),
    ({"email": "e@example.com", "referred_by": 999_999}, "referred_by"),
    ({"email": "e@example.com", "email_consent": "maybe"}, "email_consent"),
]


def names_field(errors: dict[str, Any], field: str) -> bool:
    """The 400 names `field`, or a path inside it (`attributes.note`, `tags[0]`)."""
    return any(key == field or key.startswith((f"{field}.", f"{field}[")) for key in errors)


@pytest.mark.parametrize(("payload", "field"), BAD_CREATES, ids=lambda v: repr(v)[:60])
def test_bad_create_is_400_on_the_field_and_writes_nothing(
    rep_api, customer_factory, payload, field
):
    customer_factory()
    before = db_state()

    response = rep_api.post(LIST_URL, payload)

    assert response.status_code == 400
    assert names_field(response.data, field), response.data
    assert db_state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"email": "e@example.com", "attributes": {"s": "\\ud800"}}', "attributes"),
        ('{"email": "e@example.com", "attributes": {"\\udc00": 1}}', "attributes"),
        ('{"email": "e@example.com", "first_name": "\\ud800"}', "first_name"),
        ('{"email": "e@example.com", "attributes": {"n": 1e400}}', "attributes"),
        ('{"email": "e@example.com", "attributes": {"n": NaN}}', "body"),
        ('{"email": "e@example.com", "first_name": "Ann"', "body"),
        ("not json at all", "body"),
        ('{"email": "e@example.com", "attributes": ' + "[" * 100_000 + "]" * 100_000 + "}", "body"),
        ('{"email": "e@example.com", "last_name": "' + "x" * 3_000_000 + '"}', "body"),
        ("", "email"),
    ],
    ids=lambda v: repr(v)[:60],
)
def test_create_with_raw_bad_json_is_400_and_writes_nothing(rep_api, body, field):
    before = db_state()

    response = post_raw(rep_api, LIST_URL, body)

    assert response.status_code == 400
    assert names_field(response.data, field), response.data
    assert db_state() == before


@pytest.mark.parametrize("field", ["owner", "referred_by"])
def test_an_id_must_be_a_whole_number(rep_api, sales_rep, customer_factory, field):
    """A fractional id is refused, not truncated to someone else's id."""
    target = sales_rep.pk if field == "owner" else customer_factory().pk
    before = db_state()

    response = rep_api.post(LIST_URL, {"email": "e@example.com", field: target + 0.5})

    assert response.status_code == 400
    assert field in response.data
    assert db_state() == before


@pytest.mark.parametrize("email", ["Ann@X.com", "ann@x.com", "ANN@X.COM", "  ann@x.com  "])
def test_duplicate_email_in_any_case_is_400_on_email(rep_api, customer_factory, email):
    customer_factory(email="ann@x.com")
    before = db_state()

    response = rep_api.post(LIST_URL, {"email": email})

    assert response.status_code == 400
    assert "already exists" in str(response.data["email"])
    assert db_state() == before


def test_create_in_an_archived_stage_is_400_on_stage(rep_api):
    Stage.objects.filter(slug="purchase").update(is_archived=True)
    before = db_state()

    response = rep_api.post(LIST_URL, {"email": "e@example.com", "stage": "purchase"})

    assert response.status_code == 400
    assert "archived" in str(response.data["stage"])
    assert db_state() == before


def test_unknown_stage_error_names_the_slug(rep_api):
    response = rep_api.post(LIST_URL, {"email": "e@example.com", "stage": "nirvana"})

    assert response.status_code == 400
    assert "nirvana" in str(response.data["stage"])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "taken@example.com"}, "email"),
        ({"email": "TAKEN@example.com"}, "email"),
        ({"email": "bad"}, "email"),
        ({"email": None}, "email"),
        ({"phone": "1" * 33}, "phone"),
        ({"company": "A\x00cme"}, "company"),
        ({"attributes": [1, 2]}, "attributes"),
        ({"attributes": {"k": "\x00"}}, "attributes"),
        ({"tags": None}, "tags"),
        ({"owner": 999_999}, "owner"),
        ({"referred_by": "self"}, "referred_by"),
        ({"stage": "nope"}, "stage"),
        ({"stage": "advocacy"}, "stage"),
    ],
    ids=repr,
)
def test_bad_patch_is_400_on_the_field_and_changes_nothing(
    rep_api, customer_factory, payload, field
):
    customer_factory(email="taken@example.com")
    customer = customer_factory(email="mine@example.com")
    if payload.get("referred_by") == "self":
        payload = {"referred_by": customer.pk}
    before, counts = row(customer), db_state()

    response = rep_api.patch(detail_url(customer.pk), payload)

    assert response.status_code == 400
    assert names_field(response.data, field), response.data
    assert row(customer) == before
    assert db_state() == counts


@pytest.mark.parametrize("method", ["patch", "put"])
def test_update_with_malformed_json_is_400_on_body(rep_api, customer_factory, method):
    customer = customer_factory()
    before = row(customer)

    response = post_raw(rep_api, detail_url(customer.pk), '{"first_name": ', method=method)

    assert response.status_code == 400
    assert "body" in response.data
    assert row(customer) == before


def test_a_body_that_is_not_an_object_is_400(rep_api):
    response = post_raw(rep_api, LIST_URL, '["e@example.com"]')

    assert response.status_code == 400
    assert "non_field_errors" in response.data
    assert Customer.objects.count() == 0


# --- unknown ids -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
@pytest.mark.parametrize("pk", [999_999, 99_999_999_999_999_999_999])
def test_unknown_customer_is_404(admin_api, customer_factory, method, pk):
    customer_factory()

    response = getattr(admin_api, method)(detail_url(pk), {"email": "x@example.com"})

    assert response.status_code == 404
    assert Customer.objects.count() == 1
