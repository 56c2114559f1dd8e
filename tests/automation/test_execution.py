"""Running steps in-process: each action's effect through its service, exactly once; skips,
pauses, failures, retries and abandoned runs, each recorded on the step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from automation import actions
from automation.models import Step, StepState
from automation.selectors import rule_customers_acted_on, rule_list
from automation.services import (
    _claim,
    max_attempts,
    rule_pause,
    step_execute,
    step_retry,
    steps_create_for_event,
    steps_sweep_due,
)
from common.exceptions import ApplicationError
from customers.services import customer_update
from interactions.models import CreatorKind, Task
from messaging.models import MessageTemplate, OutboundMessage
from stages.models import ActorKind, StageTransition

pytestmark = pytest.mark.django_db


def trigger(customer, *, transition_id: int = 1, now=None) -> list[int]:
    """The customer entered the purchase stage (as `customer.stage_changed` says)."""
    return steps_create_for_event(
        event="customer.stage_changed",
        payload={
            "transition_id": transition_id,
            "customer_id": customer.pk,
            "to_stage": "purchase",
        },
        now=now,
    )


def only_step() -> Step:
    [step] = Step.objects.all()
    return step


# --- each action's effect ------------------------------------------------------------------


def test_add_and_remove_a_tag(make_rule, customer_factory, run) -> None:
    make_rule(
        actions=[
            {"type": "add_tag", "params": {"tag": "Buyer"}},
            {"type": "remove_tag", "params": {"tag": "lead"}},
        ]
    )
    customer = customer_factory(stage="purchase", tags=["lead", "eu"])

    trigger(customer)
    steps = run()

    customer.refresh_from_db()
    assert customer.tags == ["eu", "buyer"]
    assert [s.state for s in steps] == [StepState.DONE, StepState.DONE]
    assert steps[0].result["summary"] == "Tagged 'buyer'"


def test_move_stage_goes_through_the_stage_service(make_rule, customer_factory, stages, run):
    rule = make_rule(actions=[{"type": "move_stage", "params": {"stage": "post_purchase"}}])
    customer = customer_factory(stage="purchase")

    trigger(customer)
    [step] = run()

    customer.refresh_from_db()
    assert customer.stage == stages["post_purchase"]
    transition = StageTransition.objects.get(pk=step.result["transition_id"])
    assert transition.actor_kind == ActorKind.AUTOMATION
    assert rule.name in transition.reason


def test_move_stage_when_already_there_is_done_without_a_move(make_rule, customer_factory, run):
    make_rule(actions=[{"type": "move_stage", "params": {"stage": "purchase"}}])
    customer = customer_factory(stage="purchase")
    moves = StageTransition.objects.count()

    trigger(customer)
    [step] = run()

    assert step.state == StepState.DONE
    assert step.result == {"already_there": True, "summary": "Already in Purchase"}
    assert StageTransition.objects.count() == moves


def test_create_task_records_the_task_on_the_step(make_rule, customer_factory, sales_rep, run):
    make_rule(
        actions=[{"type": "create_task", "params": {"title": "Say thanks", "due_in_hours": 48}}]
    )
    customer = customer_factory(stage="purchase", owner=sales_rep)
    now = timezone.now()

    trigger(customer, now=now)
    [step] = run(now=now)

    task = Task.objects.get(pk=step.result["task_id"])
    assert (task.title, task.customer_id, task.assignee) == ("Say thanks", customer.pk, sales_rep)
    assert task.created_by_kind == CreatorKind.AUTOMATION
    assert task.due_at == now + timedelta(hours=48)


def test_send_template_queues_one_message_keyed_by_the_step(make_rule, customer_factory, run):
    template = MessageTemplate.objects.create(
        name="Thanks", kind="transactional", subject="Thanks {{ first_name }}", body_text="Hi"
    )
    make_rule(actions=[{"type": "send_template", "params": {"template": template.pk}}])
    customer = customer_factory(stage="purchase", first_name="Ann")

    trigger(customer)
    [step] = run()

    message = OutboundMessage.objects.get(pk=step.result["message_id"])
    assert message.idempotency_key == f"automation-step:{step.pk}"
    assert (message.to, message.subject) == (customer.email, "Thanks Ann")


def test_call_webhook_queues_a_signed_delivery(make_rule, customer_factory, run, settings):
    from webhooks.models import Delivery

    settings.FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    make_rule(
        actions=[
            {
                "type": "call_webhook",
                "params": {"url": "http://127.0.0.1:9/hook", "payload": {"list": "vip"}},
            }
        ]
    )
    customer = customer_factory(stage="purchase")

    trigger(customer)
    [step] = run()

    assert step.state == StepState.DONE, step.last_error
    delivery = Delivery.objects.get(pk=step.result["webhook_call_id"])
    assert delivery.idempotency_key == f"automation-step:{step.pk}"
    assert delivery.url == "http://127.0.0.1:9/hook"
    assert delivery.payload["customer"]["id"] == customer.pk
    assert delivery.payload["data"] == {"list": "vip"}


def test_send_survey_invites_through_the_survey_service(make_rule, customer_factory, run):
    surveys = pytest.importorskip("surveys.services")
    if not hasattr(surveys, "survey_invite"):
        pytest.skip("surveys.services.survey_invite does not exist yet")
    from surveys.models import Invitation, Survey

    survey = Survey.objects.filter(is_active=True).first() or pytest.skip("no survey")
    make_rule(actions=[{"type": "send_survey", "params": {"survey": survey.pk}}])
    customer = customer_factory(stage="purchase")

    trigger(customer)
    [step] = run()

    assert step.state == StepState.DONE, step.last_error
    invitation = Invitation.objects.get(pk=step.result["invitation_id"])
    assert (invitation.customer_id, invitation.survey_id) == (customer.pk, survey.pk)
    assert invitation.source == "automation"
    assert invitation.idempotency_key == f"automation-step:{step.pk}"


# --- exactly once ----------------------------------------------------------------------------


def test_running_a_step_again_changes_nothing(make_rule, customer_factory) -> None:
    make_rule(actions=[{"type": "create_task", "params": {"title": "Once"}}])
    customer = customer_factory(stage="purchase")
    trigger(customer)
    step = only_step()

    outcomes = [step_execute(step_id=step.pk) for _ in range(3)]

    assert [o.state for o in outcomes] == [StepState.DONE, None, None]
    assert Task.objects.filter(title="Once").count() == 1
    step.refresh_from_db()
    assert step.attempts == 1


def test_an_abandoned_run_is_run_again_by_the_sweep_once(make_rule, customer_factory, emit):
    """A worker that dies mid-action leaves the step running and no effect (its transaction
    rolled back); the sweep makes it pending again and it runs once."""
    make_rule(actions=[{"type": "create_task", "params": {"title": "Once"}}])
    customer = customer_factory(stage="purchase")
    trigger(customer)
    step = only_step()
    now = timezone.now()
    assert _claim(step.pk, now) == 1  # the dead worker's claim; its action never committed

    assert emit(steps_sweep_due, now=now + timedelta(seconds=1))["recovered"] == 0  # too soon
    swept = emit(steps_sweep_due, now=now + timedelta(minutes=3))

    assert swept == {"recovered": 1, "failed": 0, "published": 1}
    step.refresh_from_db()
    assert step.state == StepState.PENDING
    assert "stopped before it finished" in step.last_error
    assert step_execute(step_id=step.pk).state == StepState.DONE
    assert step_execute(step_id=step.pk).state is None
    assert Task.objects.filter(title="Once").count() == 1
    step.refresh_from_db()
    assert step.attempts == 2


def test_a_run_the_sweep_gave_up_on_does_not_run_late(make_rule, customer_factory) -> None:
    make_rule(actions=[{"type": "create_task", "params": {"title": "Once"}}])
    trigger(customer_factory(stage="purchase"))
    step = only_step()
    now = timezone.now()
    _claim(step.pk, now)  # a slow run that claimed, then stalled
    steps_sweep_due(now=now + timedelta(minutes=3))  # presumed dead: pending again
    _claim(step.pk, now + timedelta(minutes=3))  # a second run claims (attempt 2)

    # The first run wakes up with its stale token (1): the fence keeps it out.
    from automation import services

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_claim", lambda step_id, now: 1)
        assert step_execute(step_id=step.pk).state is None
    assert not Task.objects.exists()


def test_a_step_published_before_it_is_due_waits(make_rule, customer_factory) -> None:
    make_rule(delay_minutes=30)
    now = timezone.now()
    trigger(customer_factory(stage="purchase"), now=now)

    assert step_execute(step_id=only_step().pk, now=now).state is None
    assert only_step().state == StepState.PENDING
    assert step_execute(step_id=only_step().pk, now=now + timedelta(minutes=30)).state == "done"


# --- a rule's actions run in order ------------------------------------------------------------


def test_the_next_action_waits_for_the_one_before(make_rule, customer_factory, emit, published):
    make_rule(
        actions=[
            {"type": "move_stage", "params": {"stage": "post_purchase"}},
            {"type": "add_tag", "params": {"tag": "moved"}},
        ]
    )
    customer = customer_factory(stage="purchase")
    emit(trigger, customer=customer)
    first, second = Step.objects.order_by("action_index")

    assert step_execute(step_id=second.pk).state is None  # not ready: the move comes first
    assert published == [first.pk]
    emit(step_execute, step_id=first.pk)
    assert published == [first.pk, second.pk]
    # The move changed the customer's stage, but the conditions are checked before the first
    # action only, so the rule's own move does not skip its own later actions.
    assert step_execute(step_id=second.pk).state == StepState.DONE


# --- skipped, cancelled -------------------------------------------------------------------------


def test_a_step_whose_conditions_no_longer_hold_is_skipped_with_the_reason(
    make_rule, customer_factory, run
) -> None:
    make_rule(
        conditions={"tags_none": ["unsubscribed"]},
        actions=[
            {"type": "create_task", "params": {"title": "Call"}},
            {"type": "add_tag", "params": {"tag": "called"}},
        ],
        delay_minutes=60,
    )
    customer = customer_factory(stage="purchase")
    now = timezone.now()
    trigger(customer, now=now)
    customer_update(customer=customer, data={"tags": ["unsubscribed"]})

    steps = run(now=now + timedelta(hours=1))

    first, second = Step.objects.order_by("action_index")
    assert [s.pk for s in steps] == [first.pk]
    assert first.state == second.state == StepState.SKIPPED
    assert "no longer hold" in first.result["reason"]
    assert "not tagged unsubscribed" in first.result["reason"]
    assert second.result["reason"].startswith("Skipped with action 1")
    assert not Task.objects.exists()


def test_pausing_cancels_pending_steps_with_the_reason(make_rule, customer_factory) -> None:
    rule = make_rule(delay_minutes=60)
    trigger(customer_factory(stage="purchase"))

    rule_pause(rule=rule)

    step = only_step()
    assert step.state == StepState.CANCELLED
    assert step.result == {"reason": "The rule was paused."}
    assert step_execute(step_id=step.pk).state is None


def test_a_rule_paused_while_its_step_was_claimed_cancels_it(make_rule, customer_factory):
    rule = make_rule()
    trigger(customer_factory(stage="purchase"))
    step = only_step()
    from automation import services

    token = _claim(step.pk, timezone.now())
    rule_pause(rule=rule)  # leaves running steps alone

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "_claim", lambda step_id, now: token)
        assert step_execute(step_id=step.pk).state == StepState.CANCELLED


# --- failures and the retry button ------------------------------------------------------------


def test_a_refused_action_fails_at_once_and_the_retry_button_resumes_the_rule(
    make_rule, customer_factory, run, emit, published
) -> None:
    template = MessageTemplate.objects.create(name="Gone", subject="s", body_text="b")
    make_rule(
        actions=[
            {"type": "send_template", "params": {"template": template.pk}},
            {"type": "add_tag", "params": {"tag": "emailed"}},
        ]
    )
    customer = customer_factory(stage="purchase")
    trigger(customer)
    template_id = template.pk
    template.delete()

    run()

    first, second = Step.objects.order_by("action_index")
    assert first.state == StepState.FAILED
    assert first.last_error == f"The message template {template_id} no longer exists."
    assert second.state == StepState.CANCELLED
    assert second.result["blocked_by"] == first.pk

    first.params = {"template": MessageTemplate.objects.create(name="Back", body_text="b").pk}
    first.save()
    emit(step_retry, step=first)
    first.refresh_from_db()
    assert (first.state, first.attempts) == (StepState.PENDING, 0)
    assert published[-1] == first.pk

    run()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (StepState.DONE, StepState.DONE)
    customer.refresh_from_db()
    assert "emailed" in customer.tags


def test_only_a_failed_step_can_be_retried(make_rule, customer_factory) -> None:
    make_rule()
    trigger(customer_factory(stage="purchase"))

    with pytest.raises(ApplicationError) as raised:
        step_retry(step=only_step())

    assert raised.value.field == "state"


def test_a_transient_error_is_retried_with_backoff_then_fails(
    make_rule, customer_factory, monkeypatch, settings
) -> None:
    settings.FLYWHEEL_SEND_MAX_RETRIES = 2
    settings.FLYWHEEL_RETRY_BACKOFF_SECONDS = 10
    calls: list[Any] = []

    def flaky(context: Any) -> dict[str, Any]:
        calls.append(context.step.attempts)
        Task.objects.create(customer=context.customer, title="half", due_at=context.now)
        raise ConnectionError("SMTP down")

    spec = actions.ACTIONS["add_tag"]
    monkeypatch.setitem(
        actions.ACTIONS, "add_tag", spec.__class__(**{**spec.__dict__, "run": flaky})
    )
    make_rule()
    trigger(customer_factory(stage="purchase"))
    step = only_step()
    now = timezone.now()

    first = step_execute(step_id=step.pk, now=now)

    step.refresh_from_db()
    assert first.state == StepState.PENDING
    assert first.retry_in is not None
    assert 5 <= first.retry_in <= 10  # base 10 s, jittered by half
    assert step.due_at == now + timedelta(seconds=first.retry_in)
    assert step.last_error == "ConnectionError: SMTP down"
    assert not Task.objects.exists()  # the failed attempt left nothing half-written
    assert step_execute(step_id=step.pk, now=now).state is None  # not due yet

    second = step_execute(step_id=step.pk, now=step.due_at)
    assert second.state == StepState.PENDING
    assert second.retry_in is not None
    assert 10 <= second.retry_in <= 20
    step.refresh_from_db()
    third = step_execute(step_id=step.pk, now=step.due_at)

    assert third.state == StepState.FAILED
    assert calls == [1, 2, 3]
    assert max_attempts() == 3
    step.refresh_from_db()
    assert step.last_error == "ConnectionError: SMTP down (gave up after 3 attempts)"

    monkeypatch.setitem(actions.ACTIONS, "add_tag", spec)
    step_retry(step=step)
    assert step_execute(step_id=step.pk).state == StepState.DONE


def test_a_step_whose_worker_keeps_dying_fails_after_its_last_attempt(
    make_rule, customer_factory, settings
) -> None:
    settings.FLYWHEEL_SEND_MAX_RETRIES = 1
    make_rule()
    trigger(customer_factory(stage="purchase"))
    step = only_step()
    now = timezone.now()

    for attempt in range(2):
        _claim(step.pk, now)
        result = steps_sweep_due(now=now + timedelta(minutes=3 * (attempt + 1)))

    assert result["failed"] == 1
    step.refresh_from_db()
    assert step.state == StepState.FAILED
    assert "Gave up after 2 attempts" in step.last_error


# --- what the rule shows ------------------------------------------------------------------------


def test_customers_acted_on_counts_distinct_customers_with_a_done_step(
    make_rule, customer_factory, run
) -> None:
    rule = make_rule(
        actions=[
            {"type": "add_tag", "params": {"tag": "a"}},
            {"type": "add_tag", "params": {"tag": "b"}},
        ]
    )
    ann, bob, cat = (customer_factory(stage="purchase") for _ in range(3))
    trigger(ann, transition_id=1)
    trigger(ann, transition_id=2)
    trigger(bob, transition_id=3)
    trigger(cat, transition_id=4, now=timezone.now() + timedelta(days=1))  # not due yet
    run()

    assert rule_customers_acted_on(rule=rule) == 2
    assert rule_list().get(pk=rule.pk).customers_acted_on == 2  # type: ignore[attr-defined]
    assert make_rule(name="Idle rule").pk in {r.pk for r in rule_list()}
