"""Referral codes, referred_by and the Referral record that lets analytics close the loop."""

from __future__ import annotations

import pytest

from common.exceptions import ApplicationError
from customers.models import Referral
from customers.services import customer_create, customer_update
from stages.models import Phase

pytestmark = pytest.mark.django_db


def test_every_customer_gets_a_distinct_readable_code(customer_factory):
    codes = {customer_factory().referral_code for _ in range(20)}

    assert len(codes) == 20
    assert all(len(code) == 10 and not set(code) & set("01OIL") for code in codes)


def test_creating_with_a_code_links_the_referrer_and_records_where_they_stood(customer_factory):
    referrer = customer_factory(stage="advocacy")

    referred = customer_create(
        email="friend@example.com",
        actor_kind="api",
        referral_code=f" {referrer.referral_code.lower()} ",
    )

    assert referred.referred_by == referrer
    referral = Referral.objects.get(referred=referred)
    assert referral.referrer == referrer
    assert referral.referrer_stage.slug == "advocacy"
    assert referral.referrer_phase == Phase.DELIGHT
    assert referrer.referrals.count() == 1


def test_an_unknown_code_is_refused_and_writes_nothing(customer_factory):
    with pytest.raises(ApplicationError) as error:
        customer_create(email="x@example.com", actor_kind="api", referral_code="NOPE234567")

    assert error.value.field == "referral_code"
    assert not Referral.objects.exists()


def test_a_code_and_a_different_referred_by_conflict(customer_factory):
    one, two = customer_factory(), customer_factory()

    with pytest.raises(ApplicationError) as error:
        customer_create(
            email="x@example.com",
            actor_kind="api",
            referral_code=one.referral_code,
            referred_by=two,
        )

    assert error.value.field == "referral_code"


def test_changing_the_referrer_later_keeps_one_referral_record(customer_factory):
    first, second = customer_factory(), customer_factory(stage="post_purchase")
    referred = customer_factory(referred_by=first)

    customer_update(customer=referred, data={"referred_by": second})

    referral = Referral.objects.get(referred=referred)
    assert referral.referrer == second
    assert referral.referrer_phase == Phase.DELIGHT

    customer_update(customer=referred, data={"referred_by": None})
    assert not Referral.objects.filter(referred=referred).exists()


def test_a_backdated_referral_records_where_the_referrer_stood_then(customer_factory, stages):
    from datetime import timedelta

    from django.utils import timezone

    from stages.services import customer_move_stage

    long_ago = timezone.now() - timedelta(days=100)
    referrer = customer_factory(stage="advocacy", created_at=long_ago)
    customer_move_stage(customer=referrer, to_stage=stages["purchase"], actor_kind="system")

    referred = customer_create(
        email="old-friend@example.com",
        actor_kind="import",
        created_at=long_ago + timedelta(days=1),
        referred_by=referrer,
    )

    referral = Referral.objects.get(referred=referred)
    assert referral.referrer_stage.slug == "advocacy"
    assert referral.referrer_phase == Phase.DELIGHT
