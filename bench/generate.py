"""Bench data, written in bulk.

Benchmarks need a hundred thousand customers in seconds, so this module inserts rows with
bulk_create instead of calling `customer_create_with_consent` once per customer. It writes
exactly what the service would (the customer, its entry transition, the history entry of its
email consent), and is used by benchmarks only: the product's own code paths never write a
stage, a transition or a consent flag directly.
"""

from __future__ import annotations

import sys

from django.db import transaction
from django.utils import timezone

from common.progress import Progress
from consent.models import ConsentEvent, ConsentMethod
from customers.models import Customer, new_referral_code
from stages.models import ActorKind, Direction, Stage, StageTransition

CHUNK = 5000


def customers_generate(*, count: int, stage_slug: str = "post_purchase") -> list[int]:
    """Insert `count` bench customers in `stage_slug`, each with its entry; return their ids."""
    stage = Stage.objects.get(slug=stage_slug)
    now = timezone.now()
    ids: list[int] = []
    with Progress(count, label="Customers", stream=sys.stderr) as bar:
        for start in range(0, count, CHUNK):
            size = min(CHUNK, count - start)
            with transaction.atomic():
                created = Customer.objects.bulk_create(
                    Customer(
                        email=f"bench{start + i}@bench.example",
                        first_name=f"Bench{start + i}",
                        stage=stage,
                        stage_entered_at=now,
                        referral_code=new_referral_code(),
                        email_consent=True,
                        email_consent_at=now,
                    )
                    for i in range(size)
                )
                StageTransition.objects.bulk_create(
                    StageTransition(
                        customer=customer,
                        to_stage=stage,
                        occurred_at=now,
                        actor_kind=ActorKind.IMPORT,
                        direction=Direction.ENTRY,
                    )
                    for customer in created
                )
                ConsentEvent.objects.bulk_create(
                    ConsentEvent(
                        customer=customer,
                        channel="email",
                        granted=True,
                        method=ConsentMethod.IMPORT,
                        source="bench",
                        occurred_at=now,
                    )
                    for customer in created
                )
            ids.extend(customer.pk for customer in created)
            bar.advance(size)
    return ids
