"""A small world of customers with known properties: every expected set is computed by hand.

- a: awareness, tags vip, plan=team seats=10, source referral, owner rep, created 100 days
  ago, active 1 day ago, purchases 100+50 EUR, referred b and c, NPS promoter, email consent.
- b: awareness, no tags, plan=solo, ads, no owner, created 40d, active 45d, no purchases,
  NPS detractor then promoter (latest).
- c: evaluation, vip+churny, plan=team seats="10" (a string), ads, owner rep, created 10d,
  never active, one purchase 20 EUR, CSAT detractor, SMS consent, utm_campaign spring.
- d: purchase, newsletter, no attributes, referral, owner boss, created 5d, active 3d,
  purchases 10 EUR + 2 x 500 USD, referred e, CSAT promoter then NPS passive (latest),
  email and SMS consent.
- e: post_purchase, vip+newsletter, seats=3, web, no owner, created 400d, active 200d.
- f: advocacy, no tags, plan=enterprise, no source, owner rep, created 2d, active 1d,
  one purchase 1000 EUR, NPS detractor, email consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from customers.models import Customer
from interactions.models import Purchase
from surveys.models import Invitation, Response, Survey
from tests.factories import UserFactory

_keys = count()


@dataclass
class World:
    customers: dict[str, Customer]
    rep: User
    boss: User

    def ids(self, *keys: str) -> set[int]:
        return {self.customers[key].pk for key in keys}


def _answer(customer: Customer, kind: str, score: int, category: str, days_ago: int) -> None:
    survey, _ = Survey.objects.get_or_create(
        name=f"Segments {kind}", defaults={"kind": kind, "question": "?"}
    )
    when = timezone.now() - timedelta(days=days_ago)
    invitation = Invitation.objects.create(
        survey=survey,
        customer=customer,
        state="answered",
        source="manual",
        idempotency_key=f"segments-test-{next(_keys)}",
        expires_at=when + timedelta(days=30),
        answered_at=when,
    )
    Response.objects.create(
        invitation=invitation,
        survey=survey,
        customer=customer,
        kind=kind,
        score=score,
        category=category,
        effect="neutral",
        weight=0,
        answered_at=when,
    )


def _buy(customer: Customer, amount: str, currency: str = "EUR") -> None:
    Purchase.objects.create(
        customer=customer,
        amount=Decimal(amount),
        currency=currency,
        occurred_at=timezone.now(),
    )


@pytest.fixture
def world(customer_factory) -> World:
    now = timezone.now()
    rep = UserFactory.create(username="seg-rep")
    boss = UserFactory.create(username="seg-boss")
    # Per customer: the factory's keyword arguments, plus its age and idle days.
    spec: dict[str, dict[str, Any]] = {
        "a": {
            "stage": "awareness",
            "tags": ["vip"],
            "attributes": {"plan": "team", "seats": 10},
            "source": "referral",
            "owner": rep,
            "created": 100,
            "active": 1,
            "email_consent": True,
        },
        "b": {
            "stage": "awareness",
            "tags": [],
            "attributes": {"plan": "solo"},
            "source": "ads",
            "owner": None,
            "created": 40,
            "active": 45,
        },
        "c": {
            "stage": "evaluation",
            "tags": ["vip", "churny"],
            "attributes": {"plan": "team", "seats": "10"},
            "source": "ads",
            "owner": rep,
            "created": 10,
            "active": None,
            "sms_consent": True,
            "utm_campaign": "spring",
        },
        "d": {
            "stage": "purchase",
            "tags": ["newsletter"],
            "attributes": {},
            "source": "referral",
            "owner": boss,
            "created": 5,
            "active": 3,
            "email_consent": True,
            "sms_consent": True,
            "utm_campaign": "summer",
        },
        "e": {
            "stage": "post_purchase",
            "tags": ["vip", "newsletter"],
            "attributes": {"seats": 3},
            "source": "web",
            "owner": None,
            "created": 400,
            "active": 200,
        },
        "f": {
            "stage": "advocacy",
            "tags": [],
            "attributes": {"plan": "enterprise"},
            "source": "",
            "owner": rep,
            "created": 2,
            "active": 1,
            "email_consent": True,
        },
    }
    customers: dict[str, Customer] = {}
    for key, props in spec.items():
        created, active = props.pop("created"), props.pop("active")
        customer = customer_factory(email=f"{key}@seg.example", **props)
        Customer.objects.filter(pk=customer.pk).update(
            created_at=now - timedelta(days=created),
            stage_entered_at=now - timedelta(days=created),
            last_activity_at=None if active is None else now - timedelta(days=active),
        )
        customers[key] = customer
    Customer.objects.filter(pk__in=[customers["b"].pk, customers["c"].pk]).update(
        referred_by=customers["a"]
    )
    Customer.objects.filter(pk=customers["e"].pk).update(referred_by=customers["d"])
    _buy(customers["a"], "100")
    _buy(customers["a"], "50")
    _buy(customers["c"], "20")
    _buy(customers["d"], "10")
    _buy(customers["d"], "500", "USD")
    _buy(customers["d"], "500", "USD")
    _buy(customers["f"], "1000")
    _answer(customers["a"], "nps", 10, "promoter", 5)
    _answer(customers["b"], "nps", 2, "detractor", 20)
    _answer(customers["b"], "nps", 9, "promoter", 3)
    _answer(customers["c"], "csat", 1, "detractor", 4)
    _answer(customers["d"], "nps", 8, "passive", 2)
    _answer(customers["d"], "csat", 5, "promoter", 9)
    _answer(customers["f"], "nps", 3, "detractor", 1)
    for customer in customers.values():
        customer.refresh_from_db()
    return World(customers=customers, rep=rep, boss=boss)
