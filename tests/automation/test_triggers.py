"""Each trigger schedules steps for the matching active rules only, once per event."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from automation.models import Step, StepState
from automation.services import (
    rule_pause,
    rule_resume,
    steps_create_for_event,
    steps_create_for_idle,
    steps_sweep_due,
)
from interactions.services import interaction_log, purchase_record, support_case_close
from stages.models import ActorKind
from stages.services import customer_move_stage

pytestmark = pytest.mark.django_db


def move(emit, customer, stages, slug: str) -> None:
    emit(
        customer_move_stage,
        customer=customer,
        to_stage=stages[slug],
        actor_kind=ActorKind.USER,
    )


def test_entering_the_stage_schedules_each_action_of_the_rule(
    make_rule, customer_factory, stages, emit, published
) -> None:
    rule = make_rule(
        actions=[
            {"type": "add_tag", "params": {"tag": "buyer"}},
            {"type": "create_task", "params": {"title": "Say thanks"}},
        ]
    )
    other = make_rule(name="Other stage", trigger_config={"stage": "advocacy"})
    customer = customer_factory()

    move(emit, customer, stages, "purchase")

    steps = list(Step.objects.order_by("action_index"))
    assert [(s.rule_id, s.action_index, s.action_type) for s in steps] == [
        (rule.pk, 0, "add_tag"),
        (rule.pk, 1, "create_task"),
    ]
    transition = customer.transitions.latest("occurred_at")
    assert {s.event_key for s in steps} == {f"transition:{transition.pk}"}
    assert all(s.state == StepState.PENDING and s.customer_id == customer.pk for s in steps)
    # Only the first action is handed to the workers; the second waits for it.
    assert published == [steps[0].pk]
    assert not Step.objects.filter(rule=other).exists()


def test_entering_another_stage_schedules_nothing(make_rule, customer_factory, stages, emit):
    make_rule()

    move(emit, customer_factory(), stages, "evaluation")

    assert not Step.objects.exists()


def test_a_paused_rule_does_nothing_until_resumed(make_rule, customer_factory, stages, emit):
    rule = make_rule()
    rule_pause(rule=rule)
    customer = customer_factory()

    move(emit, customer, stages, "purchase")
    assert not Step.objects.exists()

    rule_resume(rule=rule)
    move(emit, customer, stages, "evaluation")
    move(emit, customer, stages, "purchase")
    assert Step.objects.count() == 1


def test_the_same_event_twice_makes_one_step(make_rule, customer_factory, published, emit):
    make_rule()
    customer = customer_factory(stage="purchase")
    payload = {"transition_id": 42, "customer_id": customer.pk, "to_stage": "purchase"}

    first = emit(steps_create_for_event, event="customer.stage_changed", payload=payload)
    again = emit(steps_create_for_event, event="customer.stage_changed", payload=payload)

    assert first == again
    assert Step.objects.count() == 1
    assert len(published) == 1  # leased: the second delivery does not publish it again


@pytest.mark.parametrize(
    ("conditions", "matching", "other"),
    [
        ({"stages": ["purchase"]}, {"stage": "purchase"}, {"stage": "awareness"}),
        ({"phases": ["engage"]}, {"stage": "evaluation"}, {"stage": "advocacy"}),
        ({"tags_all": ["vip", "eu"]}, {"tags": ["vip", "eu", "x"]}, {"tags": ["vip"]}),
        ({"tags_any": ["vip", "eu"]}, {"tags": ["eu"]}, {"tags": ["us"]}),
        ({"tags_none": ["churned"]}, {"tags": ["vip"]}, {"tags": ["churned"]}),
        (
            {"attributes": {"plan": "pro"}},
            {"attributes": {"plan": "pro", "seats": 3}},
            {"attributes": {"plan": "free"}},
        ),
        ({"owner": "none"}, {}, {"owner": "__user__"}),
        ({"owner": "any"}, {"owner": "__user__"}, {}),
        ({"owner": "__user__"}, {"owner": "__user__"}, {"owner": "__other__"}),
    ],
)
def test_conditions_decide_which_customers_the_rule_applies_to(
    make_rule, customer_factory, make_user, conditions, matching, other
) -> None:
    users = {"__user__": make_user(username="owner-a"), "__other__": make_user(username="b")}

    def resolve(values: dict[str, Any]) -> dict[str, Any]:
        return {k: users.get(v, v) if isinstance(v, str) else v for k, v in values.items()}

    conditions = {
        k: users[v].pk if isinstance(v, str) and v in users else v for k, v in conditions.items()
    }
    make_rule(trigger_type="purchase_recorded", trigger_config={}, conditions=conditions)
    yes = customer_factory(**resolve(matching))
    no = customer_factory(**resolve(other))

    for customer in (yes, no):
        steps_create_for_event(
            event="purchase.recorded",
            payload={"purchase_id": customer.pk, "customer_id": customer.pk, "repeat": False},
        )

    assert list(Step.objects.values_list("customer_id", flat=True)) == [yes.pk]


def test_purchases_first_or_repeat(make_rule, customer_factory, emit, sales_rep) -> None:
    first = make_rule(
        name="First", trigger_type="purchase_recorded", trigger_config={"purchases": "first"}
    )
    repeat = make_rule(
        name="Again", trigger_type="purchase_recorded", trigger_config={"purchases": "repeat"}
    )
    any_ = make_rule(name="Any", trigger_type="purchase_recorded", trigger_config={})
    customer = customer_factory()

    for _ in range(2):
        emit(
            purchase_record,
            customer=customer,
            amount=Decimal("10"),
            currency="EUR",
            recorded_by=sales_rep,
        )

    per_rule = {
        rule.name: Step.objects.filter(rule=rule, event_key__startswith="purchase:").count()
        for rule in (first, repeat, any_)
    }
    assert per_rule == {"First": 1, "Again": 1, "Any": 2}


def test_a_closed_case_with_the_outcome(make_rule, customer_factory, emit, support) -> None:
    make_rule(
        trigger_type="support_case_closed",
        trigger_config={"outcome": "resolved"},
        actions=[{"type": "create_task", "params": {"title": "Check in"}}],
    )
    customer = customer_factory()
    resolved = interaction_log(
        customer=customer, kind="support_case", summary="a", logged_by=support
    )
    unresolved = interaction_log(
        customer=customer, kind="support_case", summary="b", logged_by=support
    )

    emit(support_case_close, interaction=resolved, closed_by=support, outcome="resolved")
    emit(support_case_close, interaction=unresolved, closed_by=support, outcome="complaint")

    assert list(Step.objects.values_list("event_key", flat=True)) == [f"case:{resolved.pk}"]


@pytest.mark.parametrize(("score", "scheduled"), [(0, True), (6, True), (7, False), (10, False)])
def test_a_survey_answer_in_the_score_range(make_rule, customer_factory, score, scheduled) -> None:
    make_rule(
        trigger_type="survey_answered",
        trigger_config={"survey_kind": "nps", "score_min": 0, "score_max": 6},
    )
    customer = customer_factory()

    for kind in ("nps", "csat"):
        steps_create_for_event(
            event="survey.answered",
            payload={
                "customer_id": customer.pk,
                "invitation_id": 1,
                "response_id": f"{kind}-{score}",
                "survey_kind": kind,
                "score": score if kind == "nps" else 1,
                "category": "detractor",
            },
        )

    keys = list(Step.objects.values_list("event_key", flat=True))
    assert keys == ([f"survey_response:nps-{score}"] if scheduled else [])


def test_a_form_submission_is_a_trigger_once_forms_exist(make_rule, customer_factory) -> None:
    make_rule(trigger_type="form_submitted", trigger_config={"form": "webinar"})
    customer = customer_factory()

    for form_id in ("webinar", "newsletter"):
        steps_create_for_event(
            event="form.submitted",
            payload={"customer_id": customer.pk, "form_slug": form_id, "submission_id": form_id},
        )

    assert list(Step.objects.values_list("event_key", flat=True)) == ["form_submission:webinar"]


def test_idle_customers_are_found_once_per_stay(make_rule, customer_factory, stages) -> None:
    make_rule(trigger_type="stage_idle", trigger_config={"stage": "evaluation", "days": 7})
    now = timezone.now()
    idle = customer_factory(stage="evaluation", created_at=now - timedelta(days=8))
    later = customer_factory(stage="evaluation", created_at=now - timedelta(days=6))  # not yet
    customer_factory(stage="purchase", created_at=now - timedelta(days=30))  # elsewhere

    assert steps_create_for_idle(now=now) == 1
    assert steps_create_for_idle(now=now) == 0  # the same stay: found no more
    [step] = Step.objects.all()
    assert step.customer_id == idle.pk
    assert step.event_key == f"idle:evaluation:{idle.stage_entered_at.isoformat()}"

    # A new stay in the stage, idle again a week later, is acted on again.
    customer_move_stage(customer=idle, to_stage=stages["purchase"], actor_kind="user")
    customer_move_stage(customer=idle, to_stage=stages["evaluation"], actor_kind="user")
    # (and a week on, the customer who was not idle yet is)
    assert steps_create_for_idle(now=timezone.now() + timedelta(days=8)) == 2
    assert sorted(Step.objects.values_list("customer_id", flat=True)) == sorted(
        [idle.pk, idle.pk, later.pk]
    )


def test_a_delay_makes_the_step_due_later_and_the_sweep_waits(
    make_rule, customer_factory, published, emit
) -> None:
    make_rule(delay_minutes=60)
    customer = customer_factory(stage="purchase")
    now = timezone.now()

    emit(
        steps_create_for_event,
        event="customer.stage_changed",
        payload={"transition_id": 1, "customer_id": customer.pk, "to_stage": "purchase"},
        now=now,
    )

    [step] = Step.objects.all()
    assert step.due_at == now + timedelta(minutes=60)
    assert published == []
    assert emit(steps_sweep_due, now=now + timedelta(minutes=59))["published"] == 0
    assert published == []
    assert emit(steps_sweep_due, now=now + timedelta(minutes=60))["published"] == 1
    assert published == [step.pk]
    # Leased: the next sweep does not publish it again while its task is expected to run...
    assert emit(steps_sweep_due, now=now + timedelta(minutes=61))["published"] == 0
    # ... and publishes it again once the lease has run out and it is still pending.
    assert emit(steps_sweep_due, now=now + timedelta(minutes=66))["published"] == 1
    assert published == [step.pk, step.pk]


def test_a_rule_looping_on_a_customer_is_stopped_visibly(make_rule, customer_factory) -> None:
    make_rule()
    customer = customer_factory(stage="purchase")

    for transition_id in range(12):
        steps_create_for_event(
            event="customer.stage_changed",
            payload={
                "transition_id": transition_id,
                "customer_id": customer.pk,
                "to_stage": "purchase",
            },
        )

    skipped = list(Step.objects.filter(state=StepState.SKIPPED))
    assert Step.objects.count() == 12
    assert len(skipped) == 2
    assert "Loop guard" in skipped[0].result["reason"]
