"""Fixtures for the analytics tests: surveys of each kind, and random customer histories
written through the product's own services."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.roles import ROLES
from customers.models import Customer
from interactions.models import InteractionKind, Outcome
from interactions.services import (
    interaction_delete,
    interaction_log,
    interaction_update,
    purchase_record,
)
from stages.models import ActorKind, Stage
from stages.services import customer_move_stage
from surveys.models import InvitationSource, Response, Survey
from surveys.services import survey_answer, survey_invite


@pytest.fixture
def surveys(db: None) -> dict[str, Survey]:
    """An active survey of each kind, by kind."""
    return {
        kind: Survey.objects.get_or_create(
            name=f"Analytics {kind}", defaults={"kind": kind, "question": f"{kind}?"}
        )[0]
        for kind in ("nps", "csat", "ces")
    }


SCALES = {"nps": range(11), "csat": range(1, 6), "ces": range(1, 8)}


@pytest.fixture
def random_history(
    customer_factory: Any,
    make_user: Callable[..., User],
    surveys: dict[str, Survey],
) -> Callable[..., list[Customer]]:
    """`random_history(seed, customers=12)`: customers created over the last ~90 days, each
    moved at random (forward, back, skipping, round the wheel), with interactions (some dated
    before the customer's creation, some edited or deleted), purchases and survey answers."""

    def make(seed: int, customers: int = 12) -> list[Customer]:
        rng = random.Random(seed)
        now = timezone.now()
        users = [make_user(role, username=f"u{seed}-{i}") for i, role in enumerate(ROLES)]
        users.append(make_user(None, username=f"u{seed}-none"))
        stages = list(Stage.objects.filter(is_archived=False))
        made = []
        for n in range(customers):
            created = now - timedelta(days=rng.uniform(10, 90))
            customer = customer_factory(
                email=f"h{seed}-{n}@example.com",
                stage=rng.choice(stages),
                created_at=created,
                owner=rng.choice([*users, None]),
            )
            made.append(customer)
            moments = sorted(
                created + timedelta(seconds=rng.uniform(0, (now - created).total_seconds()))
                for _ in range(rng.randint(0, 6))
            )
            if rng.random() < 0.2 and moments:
                moments.append(moments[-1])  # two moves at the same instant
            for when in moments:
                customer.refresh_from_db()
                target = rng.choice([s for s in stages if s.pk != customer.stage_id])
                customer_move_stage(
                    customer=customer,
                    to_stage=target,
                    actor_kind=ActorKind.USER,
                    actor_user=rng.choice(users),
                    occurred_at=when,
                )
            logged = []
            for _ in range(rng.randint(0, 8)):
                when = created + timedelta(hours=rng.uniform(-72, (now - created).days * 24))
                logged.append(
                    interaction_log(
                        customer=customer,
                        kind=rng.choice(InteractionKind.values),
                        outcome=rng.choice(Outcome.values),
                        summary="Contact",
                        logged_by=rng.choice([*users, None]),
                        occurred_at=min(when, now),
                    )
                )
            for interaction in logged:
                roll = rng.random()
                if roll < 0.15:
                    interaction_delete(interaction=interaction)
                elif roll < 0.3:
                    interaction_update(
                        interaction=interaction,
                        data={
                            "outcome": rng.choice(Outcome.values),
                            "occurred_at": now - timedelta(days=rng.uniform(0, 60)),
                        },
                    )
                elif roll < 0.4:
                    interaction_update(
                        interaction=interaction, data={"effect": "friction", "weight": 7}
                    )
            if rng.random() < 0.5:
                purchase_record(
                    customer=customer,
                    amount=Decimal(rng.randint(5, 500)),
                    currency=rng.choice(["EUR", "USD"]),
                    recorded_by=users[2],
                )
            for _ in range(rng.randint(0, 2)):
                kind = rng.choice(list(SCALES))
                invitation = survey_invite(
                    survey=surveys[kind], customer=customer, source=InvitationSource.MANUAL
                )
                response = survey_answer(invitation=invitation, score=rng.choice(SCALES[kind]))
                if rng.random() < 0.5:
                    Response.objects.filter(pk=response.pk).update(
                        answered_at=now - timedelta(days=rng.uniform(0, 60))
                    )
        # A deleted customer takes their history with them; a deleted user's interactions
        # stay, logged by nobody.
        made.pop(rng.randrange(len(made))).delete()
        users[0].delete()
        return made

    return make
