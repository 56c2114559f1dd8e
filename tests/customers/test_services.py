"""customer_create, customer_update and customer_delete on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from common.exceptions import ApplicationError
from customers.models import Customer
from customers.services import customer_create, customer_delete, customer_update
from stages.models import ActorKind, StageTransition

pytestmark = pytest.mark.django_db


def test_email_is_unique_whatever_its_case(customer_factory):
    customer_factory(email="Ann@X.com")

    with pytest.raises(ApplicationError) as error:
        customer_create(email="ann@x.com", actor_kind=ActorKind.API)

    assert error.value.field == "email"
    assert Customer.objects.filter(email__iexact="ann@x.com").count() == 1


def test_create_in_a_given_stage_records_that_entry(customer_factory, stages, sales_rep):
    customer = customer_create(
        email="bo@example.com",
        stage=stages["purchase"],
        actor_kind=ActorKind.USER,
        actor_user=sales_rep,
        owner=sales_rep,
    )

    [entry] = StageTransition.objects.filter(customer=customer)
    assert (entry.from_stage, entry.to_stage) == (None, stages["purchase"])
    assert (entry.actor_kind, entry.actor_user) == (ActorKind.USER, sales_rep)


def test_create_in_an_archived_stage_is_refused_and_writes_nothing(stages):
    stages["evaluation"].is_archived = True
    stages["evaluation"].save()

    with pytest.raises(ApplicationError) as error:
        customer_create(email="x@example.com", stage=stages["evaluation"], actor_kind="api")

    assert error.value.field == "stage"
    assert not Customer.objects.exists()
    assert not StageTransition.objects.exists()


def test_backdated_creation_keeps_the_acquisition_date(stages):
    then = timezone.now() - timedelta(days=200)

    customer = customer_create(email="old@example.com", actor_kind="import", created_at=then)

    customer.refresh_from_db()
    assert customer.created_at == then
    assert customer.stage_entered_at == then
    assert customer.transitions.get().occurred_at == then


def test_tags_are_trimmed_lowercased_and_deduplicated(customer_factory):
    customer = customer_factory(tags=[" VIP", "vip", "Churn-Risk ", ""])

    assert customer.tags == ["vip", "churn-risk"]


@pytest.mark.parametrize("field", ["email_consent", "sms_consent"])
@pytest.mark.parametrize("value", [True, False])
def test_create_refuses_a_consent_flag_naming_it(field, value, stages):
    # A flag set here would have no history entry: consent_record is the one way it changes.
    with pytest.raises(ApplicationError) as error:
        customer_create(email="c@example.com", actor_kind=ActorKind.SYSTEM, **{field: value})

    assert error.value.field == field
    assert not Customer.objects.filter(email="c@example.com").exists()


@pytest.mark.parametrize("field", ["email_consent", "sms_consent"])
def test_update_refuses_a_consent_flag_naming_it(field, customer_factory):
    customer = customer_factory()

    with pytest.raises(ApplicationError) as error:
        customer_update(customer=customer, data={field: True, "first_name": "Changed"})

    assert error.value.field == field
    customer.refresh_from_db()
    assert getattr(customer, field) is False
    assert customer.first_name != "Changed"


def test_update_refuses_a_stage_change(customer_factory, stages):
    customer = customer_factory()

    with pytest.raises(ApplicationError) as error:
        customer_update(customer=customer, data={"stage": stages["purchase"]})

    assert error.value.field == "stage"
    customer.refresh_from_db()
    assert customer.stage == stages["awareness"]


def test_update_refuses_an_email_taken_in_another_case(customer_factory):
    customer_factory(email="taken@example.com")
    customer = customer_factory(email="free@example.com")

    with pytest.raises(ApplicationError) as error:
        customer_update(customer=customer, data={"email": "TAKEN@example.com"})

    assert error.value.field == "email"
    customer.refresh_from_db()
    assert customer.email == "free@example.com"


def test_a_customer_cannot_refer_themselves(customer_factory):
    customer = customer_factory()

    with pytest.raises(ApplicationError) as error:
        customer_update(customer=customer, data={"referred_by": customer})

    assert error.value.field == "referred_by"


def test_deleting_a_referrer_keeps_the_customers_they_referred(customer_factory):
    referrer = customer_factory()
    referred = customer_factory(referred_by=referrer)

    customer_delete(customer=referrer)

    referred.refresh_from_db()
    assert referred.referred_by is None
    assert not StageTransition.objects.filter(customer_id=referrer.pk).exists()
