"""Creating or editing a customer together with their consent: the flag, its time and its
history entry are written by `consent_record`, in the same transaction as the customer."""

from __future__ import annotations

import pytest

from common.exceptions import ApplicationError
from consent.models import ConsentEvent
from consent.services import (
    consent_record,
    customer_create_with_consent,
    customer_update_with_consent,
)
from customers.models import Customer
from stages.models import ActorKind

pytestmark = pytest.mark.django_db


def test_consent_at_says_when_the_flag_last_changed(customer_factory):
    customer = customer_factory()
    assert customer.email_consent_at is None

    consent_record(customer=customer, channel="email", granted=True, method="dashboard")
    given_at = customer.email_consent_at
    # A confirmation of the same state is history, not a change.
    consent_record(customer=customer, channel="email", granted=True, method="double_opt_in")

    customer.refresh_from_db()
    assert customer.email_consent is True
    assert customer.email_consent_at == given_at is not None
    assert ConsentEvent.objects.filter(customer=customer).count() == 2

    consent_record(customer=customer, channel="email", granted=False, method="dashboard")
    customer.refresh_from_db()
    assert customer.email_consent is False
    assert customer.email_consent_at > given_at


def test_create_with_consent_records_each_granted_channel(admin_user):
    customer = customer_create_with_consent(
        email="c@example.com",
        actor_kind=ActorKind.USER,
        actor_user=admin_user,
        email_consent=True,
        sms_consent=True,
        consent_method="import",
        consent_source="crm-migration",
    )

    customer.refresh_from_db()
    assert (customer.email_consent, customer.sms_consent) == (True, True)
    assert customer.email_consent_at is not None
    recorded = ConsentEvent.objects.filter(customer=customer).order_by("channel")
    assert [(e.channel, e.granted, e.method, e.source) for e in recorded] == [
        ("email", True, "import", "crm-migration"),
        ("sms", True, "import", "crm-migration"),
    ]
    assert {e.recorded_by for e in recorded} == {admin_user}


def test_create_without_consent_records_nothing():
    customer = customer_create_with_consent(
        email="c@example.com", actor_kind=ActorKind.SYSTEM, consent_method="api"
    )

    assert not ConsentEvent.objects.filter(customer=customer).exists()
    assert customer.email_consent_at is None


def test_create_with_an_unknown_method_leaves_no_customer():
    with pytest.raises(ApplicationError) as error:
        customer_create_with_consent(
            email="c@example.com",
            actor_kind=ActorKind.SYSTEM,
            email_consent=True,
            consent_method="carrier-pigeon",
        )

    assert error.value.field == "method"
    assert not Customer.objects.filter(email="c@example.com").exists()


def test_update_records_only_the_flags_that_change(customer_factory, admin_user):
    customer = customer_factory(email_consent=True)

    customer_update_with_consent(
        customer=customer,
        data={"email_consent": True, "sms_consent": True, "company": "Initech"},
        consent_method="dashboard",
        actor_user=admin_user,
    )

    customer.refresh_from_db()
    assert (customer.company, customer.sms_consent) == ("Initech", True)
    [event] = ConsentEvent.objects.filter(customer=customer)
    assert (event.channel, event.granted, event.method) == ("sms", True, "dashboard")
    assert event.recorded_by == admin_user


def test_update_that_fails_changes_no_consent(customer_factory):
    customer_factory(email="taken@example.com")
    customer = customer_factory()

    with pytest.raises(ApplicationError) as error:
        customer_update_with_consent(
            customer=customer,
            data={"email": "taken@example.com", "email_consent": True},
            consent_method="api",
        )

    assert error.value.field == "email"
    customer.refresh_from_db()
    assert customer.email_consent is False
    assert not ConsentEvent.objects.exists()
