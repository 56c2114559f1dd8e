"""Writes for automation: rules, the steps they schedule, and running those steps.

How a step runs exactly once in effect (docs/automation.md has the full account):

1. Steps are rows, unique by idempotency key (rule, customer, triggering event, action
   index), inserted with ON CONFLICT DO NOTHING: the same event twice makes one step.
2. A step is published to the workers only after the transaction that created it commits,
   and marked with a lease (`queued_until`); the beat sweep republishes a pending, due step
   whose lease ran out, so a lost message or a publish that never happened is made good.
3. A run first claims the step (pending → running, attempts + 1) in a short transaction,
   then, holding the step's row lock, performs the action through its service and marks the
   step done in one transaction. A worker that dies mid-action leaves no effect (PostgreSQL
   rolls the transaction back) and a running step whose row nobody holds; the sweep puts it
   back to pending and it runs again. `attempts` fences a late run out.
4. Actions carry an idempotency key derived from the step to the outboxes they write to.

A rule's actions for one event run in order: action N+1 becomes ready once action N is done.
The conditions are checked when the event happens and again when the first action is due.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from automation.actions import ACTIONS, ActionContext
from automation.conditions import conditions_describe, conditions_hold, conditions_q
from automation.models import Rule, Step, StepState, TriggerType
from automation.triggers import TRIGGERS, idle_event_key
from common.exceptions import ApplicationError, InvalidFieldsError
from common.queue import enqueue
from common.validators import validate_no_nul
from customers.models import Customer
from segments.models import Segment

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

MAX_ACTIONS = 10
MAX_DELAY_MINUTES = 365 * 24 * 60
# A published step is expected to start within this; after it, the sweep publishes it again.
STEP_LEASE = timedelta(minutes=5)
# A running step whose row no transaction holds, started longer ago than this, was abandoned
# by a worker that died: the sweep runs it again.
RUNNING_STALE_AFTER = timedelta(minutes=2)
# Retries due sooner than this are also handed to Celery as a countdown; later ones wait in
# PostgreSQL alone for the sweep, never as long-lived ETA messages in Redis.
RETRY_COUNTDOWN_MAX_SECONDS = 5 * 60
SWEEP_BATCH = 500
SWEEP_MAX_BATCHES = 20
# How much earlier than its due time a step may start: the clocks of the process that
# published it and of the worker differ a little.
CLOCK_SKEW = timedelta(seconds=5)
IDLE_BATCH = 500
# A rule acting on the same customer more often than this per hour is looping (rule A moves
# to X, rule B on X moves back): further steps are recorded as skipped.
LOOP_GUARD_PER_HOUR = 10


class RuleInvalidError(InvalidFieldsError):
    """A rule that fails validation: every error, keyed by the field path at fault
    (`trigger_config.stage`, `conditions.stages[0]`, `actions[1].params.stage`)."""


class RuleForbiddenError(PermissionDenied):
    """A rule with an action the person saving it may not configure (a 403; the dashboard
    shows it on the actions). `field` names the action, e.g. `actions[0]`."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"{field}: {message}")
        self.message = message
        self.field = field


def _actions_permitted(*, actor: User | None, actions: list[dict[str, Any]]) -> None:
    """Refuse a rule holding an action its author may not set up (see ActionSpec.permitted).

    `actor` None is code acting on its own (the demo seed), which is trusted; every person
    saving a rule through the API or the dashboard is the actor.
    """
    if actor is None:
        return
    for index, action in enumerate(actions):
        spec = ACTIONS[action["type"]]
        if spec.permitted is not None and not spec.permitted(actor):
            raise RuleForbiddenError(spec.permission_denied, field=f"actions[{index}]")


@dataclass(frozen=True)
class StepOutcome:
    """What a call to step_execute did: the step's state after it (None: nothing, because
    the step is gone, already finished, held by another run or not yet due), and when a
    transient failure will be retried, if a worker should be told (`retry_in` seconds)."""

    step_id: int
    state: str | None
    retry_in: float | None = None


def max_attempts() -> int:
    """Runs a step gets before it fails: the first plus FLYWHEEL_SEND_MAX_RETRIES retries."""
    return int(settings.FLYWHEEL_SEND_MAX_RETRIES) + 1


# --- rules ----------------------------------------------------------------------------------


def _merge(errors: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for field, messages in more.items():
        errors.setdefault(field, []).extend(messages)


def rule_validate(
    *,
    name: Any,
    trigger_type: Any,
    trigger_config: Any,
    conditions: Any,
    delay_minutes: Any,
    actions: Any,
) -> dict[str, Any]:
    """The rule's fields cleaned; RuleInvalidError with every error by field otherwise."""
    from automation.conditions import conditions_validate

    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["Give the rule a name."]
    elif len(name.strip()) > 200:
        errors["name"] = ["A name has at most 200 characters."]
    else:
        clean["name"] = name.strip()

    for field, value in (
        ("trigger_config", trigger_config),
        ("conditions", conditions),
        ("actions", actions),
    ):
        try:
            validate_no_nul(value)
        except ValidationError as error:
            errors.setdefault(field, []).append(error.messages[0])
    if errors.keys() & {"trigger_config", "conditions", "actions"}:
        raise RuleInvalidError(errors)

    spec = TRIGGERS.get(trigger_type) if isinstance(trigger_type, str) else None
    if spec is None:
        errors["trigger_type"] = [f"Unknown trigger {trigger_type!r}; use {', '.join(TRIGGERS)}."]
    else:
        clean["trigger_type"] = trigger_type
        config = trigger_config if trigger_config not in (None, "") else {}
        if not isinstance(config, dict):
            errors["trigger_config"] = ["Give a JSON object."]
        else:
            clean["trigger_config"], more = spec.validate(config, "trigger_config")
            _merge(errors, more)

    clean["conditions"], more = conditions_validate(conditions)
    _merge(errors, more)

    if isinstance(delay_minutes, str) and delay_minutes.strip().isdigit():
        delay_minutes = int(delay_minutes)
    if delay_minutes in (None, ""):
        delay_minutes = 0
    if (
        not isinstance(delay_minutes, int)
        or isinstance(delay_minutes, bool)
        or not 0 <= delay_minutes <= MAX_DELAY_MINUTES
    ):
        errors["delay_minutes"] = [f"Give whole minutes from 0 to {MAX_DELAY_MINUTES}."]
    else:
        clean["delay_minutes"] = delay_minutes

    clean["actions"] = []
    if not isinstance(actions, list) or not actions:
        errors["actions"] = ['Give a list of actions, like [{"type": "add_tag", ...}].']
    elif len(actions) > MAX_ACTIONS:
        errors["actions"] = [f"A rule has at most {MAX_ACTIONS} actions."]
    else:
        for index, action in enumerate(actions):
            field = f"actions[{index}]"
            if not isinstance(action, dict):
                errors[field] = ['Give an object: {"type": ..., "params": {...}}.']
                continue
            unknown = set(action) - {"type", "params"}
            if unknown:
                errors[field] = [f"Unknown keys: {', '.join(sorted(unknown))}."]
            action_spec = ACTIONS.get(action.get("type"))  # type: ignore[arg-type]
            if action_spec is None:
                errors[f"{field}.type"] = [
                    f"Unknown action {action.get('type')!r}; use {', '.join(ACTIONS)}."
                ]
                continue
            params = action.get("params") or {}
            if not isinstance(params, dict):
                errors[f"{field}.params"] = ["Give a JSON object."]
                continue
            clean_params, more = action_spec.validate(params, f"{field}.params")
            _merge(errors, more)
            clean["actions"].append({"type": action_spec.type, "params": clean_params})
    if errors:
        raise RuleInvalidError(errors)
    return clean


def rule_create(
    *,
    name: str,
    trigger_type: str,
    actions: list[dict[str, Any]],
    trigger_config: dict[str, Any] | None = None,
    conditions: dict[str, Any] | None = None,
    delay_minutes: int = 0,
    is_active: bool = True,
    created_by: User | None = None,
) -> Rule:
    """Create a rule after validating every part of it (RuleInvalidError names each bad field).

    `created_by` must be allowed every action of the rule (RuleForbiddenError otherwise).
    """
    clean = rule_validate(
        name=name,
        trigger_type=trigger_type,
        trigger_config=trigger_config,
        conditions=conditions,
        delay_minutes=delay_minutes,
        actions=actions,
    )
    _actions_permitted(actor=created_by, actions=clean["actions"])
    with transaction.atomic():
        _lock_segment(clean["conditions"])
        return Rule.objects.create(is_active=bool(is_active), created_by=created_by, **clean)


def _lock_segment(conditions: dict[str, Any]) -> None:
    """Hold the row of the segment the conditions name until the rule is saved.

    segments.services.segment_delete takes the same lock before it looks for the rules that
    use the segment, so a rule cannot come to name a segment deleted at the same moment.
    """
    segment_id = conditions.get("segment")
    if segment_id is None:
        return
    if Segment.objects.select_for_update().filter(pk=segment_id).values("pk").first() is None:
        raise RuleInvalidError({"conditions.segment": [f"There is no segment {segment_id}."]})


RULE_FIELDS = ("name", "trigger_type", "trigger_config", "conditions", "delay_minutes", "actions")


def rule_update(*, rule: Rule, data: dict[str, Any], actor: User | None = None) -> Rule:
    """Change a rule; the result is validated whole. Steps already scheduled keep the actions
    they were created with. `is_active` pauses or resumes it.

    `actor`, the person making the change, must be allowed every action of the result
    (RuleForbiddenError otherwise): changing the trigger or conditions of a rule that calls a
    webhook changes whose data is sent, so it needs what adding the call needs.
    """
    unknown = set(data) - {*RULE_FIELDS, "is_active"}
    if unknown:
        raise TypeError(f"rule_update() got unexpected fields: {sorted(unknown)}")
    merged = {field: data.get(field, getattr(rule, field)) for field in RULE_FIELDS}
    if "trigger_type" in data and data["trigger_type"] != rule.trigger_type:
        merged["trigger_config"] = data.get("trigger_config", {})
    clean = rule_validate(**merged)
    _actions_permitted(actor=actor, actions=clean["actions"])
    with transaction.atomic():
        _lock_segment(clean["conditions"])
        for field, value in clean.items():
            setattr(rule, field, value)
        rule.save()
        if "is_active" in data and bool(data["is_active"]) != rule.is_active:
            if data["is_active"]:
                rule_resume(rule=rule)
            else:
                rule_pause(rule=rule)
    return rule


def rule_pause(*, rule: Rule, now: datetime | None = None) -> Rule:
    """Stop a rule: no new steps, and its pending steps are cancelled (with that reason).

    A step already running when the rule is paused finishes.
    """
    now = now or timezone.now()
    with transaction.atomic():
        Rule.objects.filter(pk=rule.pk).update(is_active=False, updated_at=now)
        Step.objects.filter(rule=rule, state=StepState.PENDING).update(
            state=StepState.CANCELLED,
            result={"reason": "The rule was paused."},
            finished_at=now,
            queued_until=None,
        )
    rule.is_active = False
    return rule


def rule_resume(*, rule: Rule) -> Rule:
    """Start a paused rule again: it acts on events from now on (cancelled steps stay so)."""
    Rule.objects.filter(pk=rule.pk).update(is_active=True, updated_at=timezone.now())
    rule.is_active = True
    return rule


def rule_delete(*, rule: Rule) -> None:
    """Delete a rule that has never acted; one with steps is part of customers' history."""
    if Step.objects.filter(rule=rule).exists():
        raise ApplicationError(
            "This rule has steps in customers' history; pause it instead.", field="rule"
        )
    rule.delete()


# --- creating steps -----------------------------------------------------------------------------


def _steps_for(
    *,
    rule: Rule,
    customer_id: int,
    event_key: str,
    payload: dict[str, Any],
    now: datetime,
    skip_reason: str = "",
) -> list[Step]:
    due = now + timedelta(minutes=rule.delay_minutes)
    steps = []
    for index, action in enumerate(rule.actions):
        step = Step(
            rule=rule,
            customer_id=customer_id,
            action_index=index,
            action_type=action["type"],
            params=action.get("params", {}),
            event_key=event_key,
            event_payload=payload,
            idempotency_key=f"rule:{rule.pk}:customer:{customer_id}:{event_key}:action:{index}",
            due_at=due,
        )
        if skip_reason:
            step.state = StepState.SKIPPED
            step.result = {"reason": skip_reason}
            step.finished_at = now
        steps.append(step)
    return steps


def _loop_guard_reason(*, rule: Rule, customer_id: int) -> str:
    since = timezone.now() - timedelta(hours=1)
    recent = Step.objects.filter(
        rule=rule, customer_id=customer_id, action_index=0, created_at__gte=since
    ).count()
    if recent < LOOP_GUARD_PER_HOUR:
        return ""
    return (
        f"Loop guard: this rule already acted on this customer {recent} times in the last "
        "hour (do two rules move the customer back and forth?)."
    )


def _insert(steps: list[Step], *, now: datetime) -> list[int]:
    """Insert steps once (ON CONFLICT DO NOTHING on the idempotency key) and publish the
    ready ones after commit. Returns the ids of the steps with these keys."""
    if not steps:
        return []
    keys = [step.idempotency_key for step in steps]
    with transaction.atomic():
        Step.objects.bulk_create(steps, ignore_conflicts=True)
        group = Step.objects.filter(idempotency_key__in=keys)
        _publish_ready(group, now=now)
        return list(group.values_list("pk", flat=True))


def steps_create_for_event(
    *, event: str, payload: dict[str, Any], now: datetime | None = None
) -> list[int]:
    """Schedule the actions of every active rule that `event` triggers for its customer.

    Rules whose conditions the customer does not meet are left out. The same event given
    twice schedules nothing new. Returns the ids of the event's steps.
    """
    now = now or timezone.now()
    specs = [spec for spec in TRIGGERS.values() if spec.event == event]
    customer_id = payload.get("customer_id")
    if not specs or customer_id is None:
        return []
    rules = Rule.objects.filter(is_active=True, trigger_type__in=[s.type for s in specs])
    steps: list[Step] = []
    for rule in rules:
        spec = TRIGGERS[rule.trigger_type]
        if not spec.matches(rule.trigger_config, payload):
            continue
        if not conditions_hold(conditions=rule.conditions, customer_id=customer_id):
            continue
        steps += _steps_for(
            rule=rule,
            customer_id=customer_id,
            event_key=spec.event_key(payload),
            payload=payload,
            now=now,
            skip_reason=_loop_guard_reason(rule=rule, customer_id=customer_id),
        )
    return _insert(steps, now=now)


def steps_create_for_idle(*, now: datetime | None = None, limit_per_rule: int = 5000) -> int:
    """Schedule the "idle N days in a stage" rules: customers who entered the stage at least
    N days ago, are still in it and match the conditions, once per stay in the stage.

    Returns how many customers were found (steps already scheduled for the same stay are
    not scheduled again).
    """
    now = now or timezone.now()
    found = 0
    for rule in Rule.objects.filter(is_active=True, trigger_type=TriggerType.STAGE_IDLE):
        slug, days = rule.trigger_config["stage"], rule.trigger_config["days"]
        acted_this_stay = Step.objects.filter(
            rule=rule,
            customer_id=OuterRef("pk"),
            action_index=0,
            created_at__gte=OuterRef("stage_entered_at"),
        )
        candidates = (
            Customer.objects.filter(
                conditions_q(rule.conditions),
                stage__slug=slug,
                stage_entered_at__lte=now - timedelta(days=days),
            )
            .filter(~Exists(acted_this_stay))
            .order_by("pk")
            .values_list("pk", "stage_entered_at")[:limit_per_rule]
        )
        rows = list(candidates)
        found += len(rows)
        for start in range(0, len(rows), IDLE_BATCH):
            steps: list[Step] = []
            for customer_id, entered_at in rows[start : start + IDLE_BATCH]:
                key = idle_event_key(stage_slug=slug, stage_entered_at=entered_at)
                payload = {
                    "customer_id": customer_id,
                    "stage": slug,
                    "stage_entered_at": entered_at.isoformat(),
                    "days": days,
                }
                steps += _steps_for(
                    rule=rule, customer_id=customer_id, event_key=key, payload=payload, now=now
                )
            _insert(steps, now=now)
    return found


# --- publishing -----------------------------------------------------------------------------


def _ready_q() -> Q:
    """A pending step may run when it is its rule's first action for the event, or the
    action before it is done."""
    previous_done = Step.objects.filter(
        rule_id=OuterRef("rule_id"),
        customer_id=OuterRef("customer_id"),
        event_key=OuterRef("event_key"),
        action_index=OuterRef("action_index") - 1,
        state=StepState.DONE,
    )
    return Q(action_index=0) | Q(Exists(previous_done))


def _publish_ready(steps: QuerySet[Step], *, now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Lease the due, ready, unleased pending steps among `steps` and publish them after
    commit. Must run inside a transaction; rows another transaction holds are skipped."""
    ids = list(
        steps.filter(_ready_q(), state=StepState.PENDING, due_at__lte=now)
        .filter(Q(queued_until__isnull=True) | Q(queued_until__lt=now))
        .order_by("due_at", "pk")
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        Step.objects.filter(pk__in=ids).update(queued_until=now + STEP_LEASE)
        steps_enqueue(step_ids=ids)
    return ids


def steps_enqueue(*, step_ids: list[int]) -> None:
    """Hand steps to the workers once the current transaction commits (common/queue.py
    keeps them for later if the broker is down)."""
    from automation.tasks import step_run

    enqueue(step_run, *[(step_id,) for step_id in step_ids])


# --- running a step -------------------------------------------------------------------------------


def _group(step: Step) -> QuerySet[Step]:
    return Step.objects.filter(
        rule_id=step.rule_id, customer_id=step.customer_id, event_key=step.event_key
    )


def _finish(step: Step, *, state: str, now: datetime, **fields: Any) -> None:
    step.state = state
    step.finished_at = now
    step.queued_until = None
    for name, value in fields.items():
        setattr(step, name, value)
    step.save()


def _close_followers(step: Step, *, state: str, reason: str, now: datetime) -> None:
    """The rule's later actions for the same event do not run: they end in `state`."""
    _group(step).filter(action_index__gt=step.action_index, state=StepState.PENDING).update(
        state=state,
        result={"reason": reason, "blocked_by": step.pk},
        finished_at=now,
        queued_until=None,
    )


def _claim(step_id: int, now: datetime) -> int | None:
    """Mark the step running (committed at once) and return the run's token (its attempt
    number); None when there is nothing to run."""
    with transaction.atomic():
        step = Step.objects.select_for_update(skip_locked=True).filter(pk=step_id).first()
        if step is None or step.state != StepState.PENDING:
            return None  # gone, held by another run, running or finished
        ready = Step.objects.filter(_ready_q(), pk=step.pk).exists()
        if step.due_at > now + CLOCK_SKEW or not ready:
            # Published early (a duplicate message): the sweep publishes it when it is ready.
            Step.objects.filter(pk=step.pk).update(queued_until=None)
            return None
        step.state = StepState.RUNNING
        step.attempts += 1
        step.started_at = now
        step.save(update_fields=["state", "attempts", "started_at"])
        return step.attempts


def step_execute(*, step_id: int, now: datetime | None = None) -> StepOutcome:
    """Run one step: claim it, re-check the rule and its conditions, perform the action.

    Safe to call any number of times, concurrently: a step runs once in effect. The action
    and the step's final state commit together. A transient error makes the step pending
    again with a backoff (or failed after the last attempt); an ApplicationError fails it
    at once. Either way the error is kept on the step.
    """
    now = now or timezone.now()
    token = _claim(step_id, now)
    if token is None:
        return StepOutcome(step_id, None)
    with transaction.atomic():
        # Wait for the row rather than skip it: whoever holds it briefly (a retry click, a
        # run the sweep gave up on) cannot make this run lose its turn.
        step = (
            Step.objects.select_for_update(of=("self",))
            .select_related("rule")
            .filter(pk=step_id)
            .first()
        )
        if step is None or step.state != StepState.RUNNING or step.attempts != token:
            return StepOutcome(step_id, None)  # the sweep gave this run up; another has it
        rule = step.rule
        if not rule.is_active:
            reason = "The rule was paused."
            _finish(step, state=StepState.CANCELLED, now=now, result={"reason": reason})
            _close_followers(step, state=StepState.CANCELLED, reason=reason, now=now)
            return StepOutcome(step_id, step.state)
        if step.action_index == 0 and not conditions_hold(
            conditions=rule.conditions, customer_id=step.customer_id
        ):
            reason = f"The conditions no longer hold ({conditions_describe(rule.conditions)})."
            _finish(step, state=StepState.SKIPPED, now=now, result={"reason": reason})
            _close_followers(
                step,
                state=StepState.SKIPPED,
                reason=f"Skipped with action {step.action_index + 1}: {reason}",
                now=now,
            )
            return StepOutcome(step_id, step.state)
        customer = (
            Customer.objects.select_for_update(of=("self",))
            .select_related("stage")
            .get(pk=step.customer_id)
        )
        spec = ACTIONS.get(step.action_type)
        try:
            if spec is None:
                raise ApplicationError(
                    f"Unknown action type '{step.action_type}'.", field="action_type"
                )
            with transaction.atomic():  # a failed action leaves nothing half-written
                result = spec.run(ActionContext(step=step, rule=rule, customer=customer, now=now))
        except ApplicationError as error:
            _fail(step, error=error.message, now=now)
            return StepOutcome(step_id, step.state)
        except Exception as error:  # transient until proven otherwise: retried with backoff
            logger.warning("Automation step %s failed: %r", step_id, error, exc_info=True)
            return _retry_later(step, error=f"{type(error).__name__}: {error}", now=now)
        _finish(step, state=StepState.DONE, now=now, result=result)
        _publish_ready(_group(step).filter(action_index=step.action_index + 1), now=now)
        return StepOutcome(step_id, step.state)


def _fail(step: Step, *, error: str, now: datetime) -> None:
    _finish(step, state=StepState.FAILED, now=now, last_error=error[:2000])
    _close_followers(
        step,
        state=StepState.CANCELLED,
        reason=f"Action {step.action_index + 1} failed; retrying it resumes this one.",
        now=now,
    )


def _retry_later(step: Step, *, error: str, now: datetime) -> StepOutcome:
    from messaging.tasks import backoff_with_jitter

    if step.attempts >= max_attempts():
        _fail(step, error=f"{error} (gave up after {step.attempts} attempts)", now=now)
        return StepOutcome(step.pk, step.state)
    delay = backoff_with_jitter(step.attempts - 1)
    tell_worker = delay <= RETRY_COUNTDOWN_MAX_SECONDS
    step.state = StepState.PENDING
    step.due_at = now + timedelta(seconds=delay)
    step.queued_until = step.due_at + STEP_LEASE if tell_worker else None
    step.last_error = error[:2000]
    step.save(update_fields=["state", "due_at", "queued_until", "last_error"])
    return StepOutcome(step.pk, step.state, retry_in=delay if tell_worker else None)


def step_retry(*, step: Step, now: datetime | None = None) -> Step:
    """The retry button: a failed step is pending again, with a fresh set of attempts, and
    the later actions its failure cancelled wait for it again."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Step.objects.select_for_update().get(pk=step.pk)
        if locked.state != StepState.FAILED:
            raise ApplicationError(
                f"Only a failed step can be retried; this one is {locked.state}.", field="state"
            )
        locked.state = StepState.PENDING
        locked.attempts = 0
        locked.due_at = now
        locked.queued_until = None
        locked.started_at = None
        locked.finished_at = None
        locked.save()
        _group(locked).filter(
            action_index__gt=locked.action_index,
            state=StepState.CANCELLED,
            result__blocked_by=locked.pk,
        ).update(state=StepState.PENDING, result={}, finished_at=None, due_at=now)
        _publish_ready(Step.objects.filter(pk=locked.pk), now=now)
    return locked


# --- the sweep ----------------------------------------------------------------------------------


def steps_sweep_due(
    *,
    now: datetime | None = None,
    limit: int = SWEEP_BATCH,
    stale_after: timedelta = RUNNING_STALE_AFTER,
) -> dict[str, int]:
    """Periodic (beat): recover abandoned runs and publish the due steps.

    A running step whose row no transaction holds and that started more than `stale_after`
    ago lost its worker: it becomes pending again (or fails after its last attempt). Then the
    due, ready, unleased pending steps are leased and published, `limit` per transaction.
    """
    now = now or timezone.now()
    recovered = failed = 0
    with transaction.atomic():
        abandoned = list(
            Step.objects.select_for_update(skip_locked=True)
            .filter(state=StepState.RUNNING, started_at__lt=now - stale_after)
            .order_by("started_at")[:limit]
        )
        for step in abandoned:
            error = f"The worker running attempt {step.attempts} stopped before it finished."
            if step.attempts >= max_attempts():
                _fail(step, error=f"{error} Gave up after {step.attempts} attempts.", now=now)
                failed += 1
            else:
                step.state = StepState.PENDING
                step.due_at = min(step.due_at, now)
                step.queued_until = None
                step.last_error = error
                step.save(update_fields=["state", "due_at", "queued_until", "last_error"])
                recovered += 1
    published = 0
    for _ in range(SWEEP_MAX_BATCHES):
        with transaction.atomic():  # one transaction per batch: publishing starts sooner
            batch = _publish_ready(Step.objects.all(), now=now, limit=limit)
        published += len(batch)
        if len(batch) < limit:
            break
    return {"recovered": recovered, "failed": failed, "published": published}
