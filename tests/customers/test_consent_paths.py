"""Every path that creates or edits a customer records a consent change in the consent history.

A flag that changes without its ConsentEvent leaves no evidence of who agreed, when and how:
the API, the dashboard and the admin each write one (docs/consent.md lists the paths).
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from consent.models import ConsentEvent
from customers.models import Customer

pytestmark = pytest.mark.django_db

LIST_URL = reverse("api:customer-list")


def detail_url(pk: int) -> str:
    return reverse("api:customer-detail", args=[pk])


def events(customer: Customer) -> list[tuple[str, bool, str, str, str | None]]:
    """The customer's consent history, oldest first: channel, granted, method, source, who."""
    rows = ConsentEvent.objects.filter(customer=customer).select_related("recorded_by")
    return [
        (
            e.channel,
            e.granted,
            e.method,
            e.source,
            e.recorded_by.username if e.recorded_by else None,
        )
        for e in rows.order_by("id")
    ]


@pytest.fixture
def rep_api(api_as, sales_rep):
    return api_as(sales_rep)


# --- the API ------------------------------------------------------------------------------------


def test_api_create_with_consent_records_it_as_api_by_the_user(rep_api, sales_rep):
    response = rep_api.post(
        LIST_URL, {"email": "c@example.com", "email_consent": True, "sms_consent": False}
    )

    assert response.status_code == 201
    assert response.data["email_consent"] is True
    assert response.data["email_consent_at"] is not None
    assert response.data["sms_consent"] is False
    customer = Customer.objects.get(pk=response.data["id"])
    # No consent given on SMS: nothing changed, so nothing to record.
    assert events(customer) == [("email", True, "api", "", sales_rep.username)]


def test_api_create_without_consent_records_nothing(rep_api):
    response = rep_api.post(LIST_URL, {"email": "c@example.com", "email_consent": False})

    assert response.status_code == 201
    assert events(Customer.objects.get(pk=response.data["id"])) == []


def test_api_create_that_fails_records_no_consent(rep_api, customer_factory):
    customer_factory(email="taken@example.com")

    response = rep_api.post(LIST_URL, {"email": "TAKEN@example.com", "email_consent": True})

    assert response.status_code == 400
    assert "email" in response.json()
    assert not ConsentEvent.objects.exists()


def test_api_patch_changing_a_flag_records_it(rep_api, sales_rep, customer_factory):
    customer = customer_factory()

    response = rep_api.patch(detail_url(customer.pk), {"sms_consent": True}, format="json")

    assert response.status_code == 200
    assert response.data["sms_consent"] is True
    assert response.data["sms_consent_at"] is not None
    assert events(customer) == [("sms", True, "api", "", sales_rep.username)]


def test_api_put_withdrawing_a_flag_records_it(rep_api, sales_rep, customer_factory):
    customer = customer_factory(email_consent=True)

    response = rep_api.put(
        detail_url(customer.pk),
        {"email": customer.email, "email_consent": False, "sms_consent": False},
        format="json",
    )

    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.email_consent is False
    # sms_consent was already false: repeating a value is not a change.
    assert events(customer) == [("email", False, "api", "", sales_rep.username)]


def test_api_update_repeating_the_flag_records_nothing(rep_api, customer_factory):
    customer = customer_factory(email_consent=True)

    response = rep_api.patch(
        detail_url(customer.pk), {"email_consent": True, "first_name": "Ann"}, format="json"
    )

    assert response.status_code == 200
    assert response.data["first_name"] == "Ann"
    assert events(customer) == []


# --- the dashboard ------------------------------------------------------------------------------


def _dashboard_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _form_data(customer: Customer, **overrides: str) -> dict[str, str]:
    data = {
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": "",
        "company": customer.company,
        "owner": "",
        "source": "",
        "utm_source": "",
        "utm_medium": "",
        "utm_campaign": "",
        "utm_term": "",
        "utm_content": "",
        "tags": "",
        "attributes": "",
        "referred_by": "",
    }
    data.update(overrides)
    return data


def test_dashboard_edit_ticking_a_box_records_it_as_dashboard(sales_rep, customer_factory):
    customer = customer_factory(email_consent=True)

    # The email box stays ticked (no change); the SMS box is newly ticked.
    response = _dashboard_client(sales_rep).post(
        reverse("customers:update", args=[customer.pk]),
        _form_data(customer, email_consent="on", sms_consent="on"),
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.sms_consent is True
    assert events(customer) == [("sms", True, "dashboard", "", sales_rep.username)]


def test_dashboard_edit_unticking_a_box_records_the_withdrawal(sales_rep, customer_factory):
    customer = customer_factory(email_consent=True)

    response = _dashboard_client(sales_rep).post(
        reverse("customers:update", args=[customer.pk]), _form_data(customer)
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.email_consent is False
    assert events(customer) == [("email", False, "dashboard", "", sales_rep.username)]


def test_dashboard_create_with_a_ticked_box_records_it(sales_rep, stages):
    new = Customer(email="fresh@example.com", first_name="Fre", last_name="", company="")

    response = _dashboard_client(sales_rep).post(
        reverse("customers:create"),
        _form_data(new, stage="awareness", referral_code="", email_consent="on"),
    )

    assert response.status_code == 302
    customer = Customer.objects.get(email="fresh@example.com")
    assert customer.email_consent is True
    assert events(customer) == [("email", True, "dashboard", "", sales_rep.username)]


# --- the admin: changes go through the service, recorded as the dashboard from the admin --------


@pytest.fixture
def root():
    return get_user_model().objects.create_superuser(
        f"root-{uuid.uuid4().hex[:6]}", "root@example.com", "pass-word-123"
    )


def _admin_post(customer: Customer, **overrides: str) -> dict[str, str]:
    return _form_data(customer, attributes="{}", **overrides)


def test_admin_change_of_a_flag_records_it_by_the_admin(root, customer_factory):
    customer = customer_factory()

    response = _dashboard_client(root).post(
        reverse("admin:customers_customer_change", args=[customer.pk]),
        _admin_post(customer, sms_consent="on"),
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.sms_consent is True
    assert events(customer) == [("sms", True, "dashboard", "admin", root.username)]


def test_admin_add_with_consent_records_it_by_the_admin(root, stages):
    new = Customer(email="admin.made@example.com", first_name="Ada", last_name="", company="")

    response = _dashboard_client(root).post(
        reverse("admin:customers_customer_add"),
        _admin_post(new, stage=str(stages["purchase"].pk), email_consent="on"),
    )

    assert response.status_code == 302
    customer = Customer.objects.get(email="admin.made@example.com")
    assert customer.email_consent is True
    assert events(customer) == [("email", True, "dashboard", "admin", root.username)]
