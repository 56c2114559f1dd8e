"""REST API v1: referral codes. Every customer shows their own code and how many customers
they referred; a customer created with someone's code is linked to them by `referred_by`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from customers.models import Customer, Referral
from stages.models import StageTransition

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:customer-list")


def detail_url(pk: int) -> str:
    return reverse("api:customer-detail", kwargs={"pk": pk})


def db_state() -> tuple[int, int, int]:
    return Customer.objects.count(), StageTransition.objects.count(), Referral.objects.count()


@pytest.fixture
def rep_api(api_as: Callable[[User], APIClient], sales_rep: Any) -> APIClient:
    return api_as(sales_rep)


def test_a_customer_created_with_a_code_is_linked_to_the_referrer(rep_api, customer_factory):
    referrer = customer_factory(stage="advocacy")

    response = rep_api.post(
        LIST_URL,
        {"email": "friend@example.com", "referral_code": f"  {referrer.referral_code.lower()} "},
    )

    assert response.status_code == 201, response.data
    friend = Customer.objects.get(pk=response.data["id"])
    assert friend.referred_by == referrer
    assert response.data["referred_by"] == referrer.pk
    assert response.data["referral_code"] == friend.referral_code
    assert response.data["referral_count"] == 0
    referral = Referral.objects.get(referred=friend)
    assert (referral.referrer, referral.referrer_phase) == (referrer, "delight")
    shown = rep_api.get(detail_url(referrer.pk)).data
    assert (shown["referral_code"], shown["referral_count"]) == (referrer.referral_code, 1)


def test_the_list_shows_each_customers_referral_count(rep_api, customer_factory):
    ann, bob = customer_factory(), customer_factory()
    for _ in range(3):
        customer_factory(referral_code=ann.referral_code)
    customer_factory(referred_by=bob)

    response = rep_api.get(LIST_URL, {"page_size": 100})

    counts = {item["id"]: item["referral_count"] for item in response.data["results"]}
    assert (counts[ann.pk], counts[bob.pk]) == (3, 1)
    assert sum(counts.values()) == 4


def test_a_referral_stops_counting_when_the_referred_customer_is_deleted(
    api_as, admin_user, customer_factory
):
    admin_api = api_as(admin_user)
    referrer = customer_factory()
    friend = customer_factory(referred_by=referrer)

    assert admin_api.delete(detail_url(friend.pk)).status_code == 204

    assert admin_api.get(detail_url(referrer.pk)).data["referral_count"] == 0


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("NOSUCHCODE", "Unknown referral code"),
        ("23456789AB", "Unknown referral code"),
        (12345, "Unknown referral code"),
        ("x" * 51, "no more than 50"),
        ("A\x00B", "Null characters"),
        (["ABC"], "valid string"),
    ],
    ids=repr,
)
def test_a_bad_code_is_400_on_referral_code_and_writes_nothing(
    rep_api, customer_factory, code, message
):
    customer_factory()
    before = db_state()

    response = rep_api.post(LIST_URL, {"email": "friend@example.com", "referral_code": code})

    assert response.status_code == 400
    assert message in str(response.data["referral_code"]), response.data
    assert db_state() == before


def test_a_code_contradicting_referred_by_is_400_on_referral_code(rep_api, customer_factory):
    ann, bob = customer_factory(), customer_factory()
    before = db_state()

    response = rep_api.post(
        LIST_URL,
        {"email": "friend@example.com", "referral_code": ann.referral_code, "referred_by": bob.pk},
    )

    assert response.status_code == 400
    assert "referral_code" in response.data
    assert db_state() == before


def test_a_blank_code_means_no_referrer(rep_api):
    response = rep_api.post(LIST_URL, {"email": "solo@example.com", "referral_code": ""})

    assert response.status_code == 201
    assert response.data["referred_by"] is None
    assert not Referral.objects.exists()


def test_the_own_code_cannot_be_changed(rep_api, customer_factory):
    customer = customer_factory()
    code = customer.referral_code

    response = rep_api.patch(detail_url(customer.pk), {"referral_code": "ZZZZZZZZZZ"})

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.referral_code == code
    assert response.data["referral_code"] == code


def test_referral_counts_cost_no_query_per_customer(
    rep_api, customer_factory, django_assert_max_num_queries
):
    def add(n: int) -> None:
        for _ in range(n):
            referrer = customer_factory()
            customer_factory(referred_by=referrer)
            customer_factory(referred_by=referrer)

    add(1)
    with CaptureQueriesContext(connection) as baseline:
        assert rep_api.get(LIST_URL).status_code == 200
    add(10)

    with django_assert_max_num_queries(len(baseline.captured_queries)):
        response = rep_api.get(LIST_URL)

    assert (
        sorted(item["referral_count"] for item in response.data["results"]) == [0] * 22 + [2] * 11
    )
