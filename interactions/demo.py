"""Demo activity for `seed_demo`: the calls, cases, follow-ups and orders behind a journey.

Planned from a customer's stage journey (so that a purchase sits where the customer entered
the purchase stage, complaints precede moves back, and support cases follow a sale) and
written only through the services. Deterministic for a given random generator.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User

from customers.models import Customer
from interactions.models import Channel, Direction, InteractionKind, Outcome
from interactions.services import (
    interaction_log,
    purchase_record,
    support_case_close,
    task_complete,
    task_create,
)

CURRENCY_BY_COUNTRY = {"DE": "EUR", "FR": "EUR", "NL": "EUR", "GB": "GBP"}
PRICE_BY_PLAN = {"starter": 290, "team": 1200, "business": 4800, "enterprise": 18000}

_LEADING_UP = (
    (InteractionKind.EMAIL, Direction.OUTBOUND, Channel.EMAIL, "Sent the product overview"),
    (InteractionKind.CALL, Direction.OUTBOUND, Channel.PHONE, "Discovery call"),
    (InteractionKind.MEETING, Direction.OUTBOUND, Channel.IN_PERSON, "Demo with the team"),
    (InteractionKind.CHAT, Direction.INBOUND, Channel.CHAT, "Asked about pricing on the site"),
    (InteractionKind.CALL, Direction.INBOUND, Channel.PHONE, "Called with questions about setup"),
)
_SETBACKS = (
    (InteractionKind.EMAIL, Outcome.COMPLAINT, "Unhappy with the delivery time"),
    (InteractionKind.CALL, Outcome.NEGATIVE, "Budget frozen this quarter"),
    (InteractionKind.CALL, Outcome.NO_ANSWER, "No answer; left a voicemail"),
)
_CASES = (
    "Cannot import contacts from CSV",
    "Invoice shows the wrong VAT number",
    "Two-factor login codes arrive late",
    "Asked how to add a colleague",
    "Report export times out",
)
_FOLLOW_UPS = (
    "Send the proposal",
    "Call back about the trial",
    "Check in after onboarding",
    "Ask for a referral",
    "Follow up on the open case",
)


@dataclass(frozen=True)
class PlannedInteraction:
    kind: str
    direction: str
    channel: str
    outcome: str
    summary: str
    occurred_at: datetime
    duration_seconds: int | None
    by_support: bool = False
    closed_at: datetime | None = None


@dataclass(frozen=True)
class PlannedPurchase:
    amount: Decimal
    currency: str
    occurred_at: datetime
    description: str
    external_id: str


@dataclass(frozen=True)
class PlannedTask:
    title: str
    due_at: datetime
    done: bool


@dataclass
class PlannedActivity:
    interactions: list[PlannedInteraction] = field(default_factory=list)
    purchases: list[PlannedPurchase] = field(default_factory=list)
    tasks: list[PlannedTask] = field(default_factory=list)


def plan_activity(
    rng: random.Random,
    *,
    number: int,
    created_at: datetime,
    stops: list[tuple[str, datetime]],
    attributes: dict[str, Any],
    now: datetime,
) -> PlannedActivity:
    """Activity for one customer whose journey visited `stops` ((stage slug, entered at), in
    order, the first being the entry). Nothing is dated after `now`."""
    plan = PlannedActivity()
    currency = CURRENCY_BY_COUNTRY.get(attributes.get("country", ""), "USD")
    price = PRICE_BY_PLAN.get(attributes.get("plan", ""), 290)
    latest = now - timedelta(minutes=10)

    def at(base: datetime, days: float) -> datetime:
        return min(base + timedelta(days=days), latest)

    for index, (stage, entered) in enumerate(stops):
        left = stops[index + 1][1] if index + 1 < len(stops) else latest
        span_days = max((left - entered).total_seconds() / 86400, 0.01)
        if stage in ("awareness", "evaluation"):
            for _ in range(rng.choice((0, 1, 1, 2, 3) if stage == "evaluation" else (0, 0, 1))):
                kind, direction, channel, summary = rng.choice(_LEADING_UP)
                outcome = rng.choice((Outcome.POSITIVE, Outcome.POSITIVE, Outcome.NEUTRAL))
                plan.interactions.append(
                    PlannedInteraction(
                        kind, direction, channel, outcome, summary,
                        at(entered, rng.uniform(0, span_days)),
                        rng.randint(300, 2700) if kind in ("call", "meeting") else None,
                    )
                )  # fmt: skip
            moved_back = index + 1 < len(stops) and stops[index + 1][0] == "awareness"
            if moved_back or rng.random() < 0.08:
                kind, outcome, summary = rng.choice(_SETBACKS)
                channel = Channel.EMAIL if kind == "email" else Channel.PHONE
                plan.interactions.append(
                    PlannedInteraction(
                        kind, Direction.INBOUND, channel, outcome, summary,
                        at(entered, span_days * 0.9), None,
                    )
                )  # fmt: skip
        elif stage == "purchase":
            amount = (
                Decimal(price) * Decimal(rng.choice((1, 1, 1, 2)))
                + Decimal(rng.randint(0, 99)) / 100
            )
            plan.purchases.append(
                PlannedPurchase(
                    amount=amount,
                    currency=currency,
                    occurred_at=entered,
                    description=f"{attributes.get('plan', 'starter').title()} plan",
                    external_id=f"DEMO-{number}-{len(plan.purchases) + 1}",
                )
            )
        else:  # Delight: support, and now and then a complaint
            for _ in range(rng.choice((0, 0, 1, 1, 2))):
                opened = at(entered, rng.uniform(0, span_days))
                closed = opened + timedelta(hours=rng.uniform(2, 96))
                plan.interactions.append(
                    PlannedInteraction(
                        InteractionKind.SUPPORT_CASE, Direction.INBOUND, Channel.EMAIL,
                        Outcome.NEUTRAL, rng.choice(_CASES), opened, None, by_support=True,
                        closed_at=closed if closed < latest and rng.random() < 0.85 else None,
                    )
                )  # fmt: skip
            if rng.random() < 0.1:
                plan.interactions.append(
                    PlannedInteraction(
                        InteractionKind.CALL, Direction.INBOUND, Channel.PHONE,
                        Outcome.COMPLAINT, "Complained about a slow reply",
                        at(entered, rng.uniform(0, span_days)), rng.randint(120, 900),
                        by_support=True,
                    )
                )  # fmt: skip

    current = stops[-1][0]
    if current in ("evaluation", "purchase", "post_purchase") and rng.random() < 0.6:
        due = now + timedelta(days=rng.uniform(-6, 10))
        plan.tasks.append(PlannedTask(rng.choice(_FOLLOW_UPS), due, done=False))
    if rng.random() < 0.3 and created_at < now - timedelta(days=3):
        plan.tasks.append(
            PlannedTask(rng.choice(_FOLLOW_UPS), created_at + timedelta(days=2), done=True)
        )
    plan.interactions.sort(key=lambda planned: planned.occurred_at)
    return plan


def write_activity(
    *, customer: Customer, plan: PlannedActivity, owner: User, support: User | None
) -> None:
    """Write one customer's planned activity through the services."""
    for planned in plan.interactions:
        logged_by = support if planned.by_support and support else owner
        interaction = interaction_log(
            customer=customer,
            kind=planned.kind,
            direction=planned.direction,
            channel=planned.channel,
            outcome=planned.outcome,
            summary=planned.summary,
            occurred_at=planned.occurred_at,
            duration_seconds=planned.duration_seconds,
            logged_by=logged_by,
        )
        if planned.closed_at is not None:
            support_case_close(
                interaction=interaction,
                closed_by=logged_by,
                outcome=Outcome.RESOLVED,
                closed_at=planned.closed_at,
            )
    for purchase in plan.purchases:
        purchase_record(
            customer=customer,
            amount=purchase.amount,
            currency=purchase.currency,
            occurred_at=purchase.occurred_at,
            description=purchase.description,
            source="demo-shop",
            external_id=purchase.external_id,
            recorded_by=None,
            move_stage=False,  # the journey already holds the moves
        )
    for task in plan.tasks:
        created = task_create(
            customer=customer, title=task.title, due_at=task.due_at, assignee=owner
        )
        if task.done:
            task_complete(task=created)
