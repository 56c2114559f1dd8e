"""What a rule does: each action type, how its params are validated, and how it runs.

Every action runs through the service that owns the change (messaging, surveys, tasks,
stages, customers, webhooks), inside the transaction that marks its step done, with an
idempotency key derived from the step (`automation-step:<id>`). So the effect and the step's
"done" commit together or not at all, and an outbox that is asked twice with the same key
queues once.

An action raises ApplicationError when it cannot succeed as configured (a deleted template,
an archived stage): the step fails at once, with that error. Any other exception is taken as
transient and retried with backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from accounts.permissions import can_choose_webhook_targets
from common.exceptions import ApplicationError
from common.validators import validate_no_nul
from customers.models import MAX_TAG_LENGTH, MAX_TAGS
from customers.services import customer_update, normalize_tags
from webhooks.guard import TargetRefusedError, target_resolve
from webhooks.services import webhook_call

if TYPE_CHECKING:
    from automation.models import Rule, Step
    from customers.models import Customer

Errors = dict[str, list[str]]

MAX_TASK_DUE_HOURS = 24 * 365


@dataclass(frozen=True)
class ActionContext:
    """What an action runs with: its step, the rule, the customer (row locked) and now."""

    step: Step
    rule: Rule
    customer: Customer
    now: datetime

    @property
    def idempotency_key(self) -> str:
        return f"automation-step:{self.step.pk}"


@dataclass(frozen=True)
class ActionSpec:
    """One action type: label, params validation, the run, and a summary in words.

    `permitted`, when set, is the check a person saving a rule with this action must pass on
    top of the rule permissions (an action that does what only some roles may do by hand).
    """

    type: str
    label: str
    validate: Callable[[dict[str, Any], str], tuple[dict[str, Any], Errors]]
    run: Callable[[ActionContext], dict[str, Any]]
    describe: Callable[[dict[str, Any]], str]
    permitted: Callable[[Any], bool] | None = None
    permission_denied: str = ""


ACTIONS: dict[str, ActionSpec] = {}


def action_register(spec: ActionSpec) -> ActionSpec:
    """Make an action type available to rules (the built-in ones are registered below)."""
    ACTIONS[spec.type] = spec
    return spec


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _only(params: dict[str, Any], allowed: tuple[str, ...], field: str) -> Errors:
    errors: Errors = {}
    for key in params:
        if key not in allowed:
            _add(errors, f"{field}.{key}", f"Unknown parameter '{key}'; use {', '.join(allowed)}.")
    return errors


def _positive_id(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


# --- send an email (or SMS) template ---------------------------------------------------------


def _send_template_validate(params: dict[str, Any], field: str) -> tuple[dict, Errors]:
    from messaging.models import MessageTemplate

    errors = _only(params, ("template",), field)
    value = params.get("template")
    template = None
    template_id = _positive_id(value)
    if template_id is not None:
        template = MessageTemplate.objects.filter(pk=template_id).first()
    elif isinstance(value, str) and value.strip():
        template = MessageTemplate.objects.filter(name=value.strip()).first()
    if template is None:
        _add(errors, f"{field}.template", f"Unknown message template {value!r}.")
        return {}, errors
    return {"template": template.pk}, errors


def _send_template_run(context: ActionContext) -> dict[str, Any]:
    from messaging.models import MessageTemplate
    from messaging.services import message_send_template

    template = MessageTemplate.objects.filter(pk=context.step.params.get("template")).first()
    if template is None:
        raise ApplicationError(
            f"The message template {context.step.params.get('template')} no longer exists.",
            field="template",
        )
    message, created = message_send_template(
        template=template, customer=context.customer, idempotency_key=context.idempotency_key
    )
    verb = "Queued" if created else "Already queued"
    return {
        "message_id": message.pk,
        "summary": f"{verb} {template.get_channel_display().lower()} '{template.name}' "
        f"(message #{message.pk})",
    }


# --- send a survey ----------------------------------------------------------------------------


def _survey_model() -> Any:
    try:
        from surveys.models import Survey
    except ImportError:
        return None
    return Survey


def _send_survey_validate(params: dict[str, Any], field: str) -> tuple[dict, Errors]:
    errors = _only(params, ("survey",), field)
    survey_model = _survey_model()
    survey_id = _positive_id(params.get("survey"))
    if survey_model is None:
        _add(errors, f"{field}.survey", "Surveys are not available yet.")
    elif survey_id is None or not survey_model.objects.filter(pk=survey_id).exists():
        _add(errors, f"{field}.survey", f"Unknown survey {params.get('survey')!r}.")
    return {"survey": survey_id}, errors


def _survey_invite() -> Any:
    try:
        from surveys.services import survey_invite
    except ImportError:
        return None
    return survey_invite


def _send_survey_run(context: ActionContext) -> dict[str, Any]:
    survey_model, survey_invite = _survey_model(), _survey_invite()
    if survey_model is None or survey_invite is None:
        raise ApplicationError("Surveys are not available (surveys.services).", field="survey")
    survey = survey_model.objects.filter(pk=context.step.params.get("survey")).first()
    if survey is None:
        raise ApplicationError(
            f"The survey {context.step.params.get('survey')} no longer exists.", field="survey"
        )
    invited = survey_invite(
        survey=survey,
        customer=context.customer,
        source="automation",
        sent_by=None,
        idempotency_key=context.idempotency_key,
    )
    invitation = invited[0] if isinstance(invited, tuple) else invited
    invitation_id = getattr(invitation, "pk", None)
    return {"invitation_id": invitation_id, "summary": f"Invited to the survey '{survey}'"}


# --- create a task ------------------------------------------------------------------------------


def _create_task_validate(params: dict[str, Any], field: str) -> tuple[dict, Errors]:
    errors = _only(params, ("title", "due_in_hours", "assignee", "notes"), field)
    title = params.get("title")
    if not isinstance(title, str) or not title.strip():
        _add(errors, f"{field}.title", "Give the task a title.")
    elif len(title.strip()) > 200:
        _add(errors, f"{field}.title", "A title has at most 200 characters.")
    hours = params.get("due_in_hours", 24)
    if isinstance(hours, str) and hours.strip().isdigit():
        hours = int(hours)
    valid_hours = isinstance(hours, int) and not isinstance(hours, bool)
    if not valid_hours or not 0 <= hours <= MAX_TASK_DUE_HOURS:
        _add(errors, f"{field}.due_in_hours", f"Give hours from 0 to {MAX_TASK_DUE_HOURS}.")
    assignee = params.get("assignee")
    if assignee not in (None, ""):
        assignee = _positive_id(assignee)
        if assignee is None or not get_user_model().objects.filter(pk=assignee).exists():
            _add(errors, f"{field}.assignee", f"There is no user {params.get('assignee')!r}.")
    else:
        assignee = None
    notes = params.get("notes") or ""
    if not isinstance(notes, str) or len(notes) > 5000:
        _add(errors, f"{field}.notes", "Notes are text of at most 5000 characters.")
    clean = {
        "title": title.strip() if isinstance(title, str) else title,
        "due_in_hours": hours,
        "assignee": assignee,
        "notes": notes,
    }
    return clean, errors


def _create_task_run(context: ActionContext) -> dict[str, Any]:
    from interactions.models import CreatorKind
    from interactions.services import task_create

    params = context.step.params
    assignee = None
    if params.get("assignee"):
        assignee = get_user_model().objects.filter(pk=params["assignee"], is_active=True).first()
    task = task_create(
        customer=context.customer,
        title=params["title"],
        due_at=context.now + timedelta(hours=params.get("due_in_hours", 24)),
        assignee=assignee,
        created_by_kind=CreatorKind.AUTOMATION,
        notes=params.get("notes", ""),
    )
    return {"task_id": task.pk, "summary": f"Created the task '{task.title}' (#{task.pk})"}


# --- move stage ---------------------------------------------------------------------------------


def _move_stage_validate(params: dict[str, Any], field: str) -> tuple[dict, Errors]:
    from stages.models import Stage

    errors = _only(params, ("stage",), field)
    slug = params.get("stage")
    stage = Stage.objects.filter(slug=slug).first() if isinstance(slug, str) else None
    if stage is None:
        _add(errors, f"{field}.stage", f"Unknown stage {slug!r}.")
    elif stage.is_archived:
        _add(errors, f"{field}.stage", f"The stage '{slug}' is archived.")
    return {"stage": slug}, errors


def _move_stage_run(context: ActionContext) -> dict[str, Any]:
    from stages.models import ActorKind, Stage
    from stages.services import customer_move_stage

    slug = context.step.params.get("stage")
    stage = Stage.objects.filter(slug=slug).first()
    if stage is None:
        raise ApplicationError(f"The stage '{slug}' no longer exists.", field="stage")
    if context.customer.stage_id == stage.pk:
        return {"already_there": True, "summary": f"Already in {stage.name}"}
    transition = customer_move_stage(
        customer=context.customer,
        to_stage=stage,
        actor_kind=ActorKind.AUTOMATION,
        reason=f"Automation rule '{context.rule.name}' (step {context.step.pk})"[:500],
    )
    return {"transition_id": transition.pk, "summary": f"Moved to {stage.name}"}


# --- add or remove a tag ------------------------------------------------------------------------


def _tag_validate(params: dict[str, Any], field: str) -> tuple[dict, Errors]:
    errors = _only(params, ("tag",), field)
    tag = params.get("tag")
    clean = normalize_tags([tag]) if isinstance(tag, str) else []
    if not clean:
        _add(errors, f"{field}.tag", "Give a tag.")
        return {}, errors
    if len(clean[0]) > MAX_TAG_LENGTH:
        _add(errors, f"{field}.tag", f"A tag has at most {MAX_TAG_LENGTH} characters.")
    return {"tag": clean[0]}, errors


def _add_tag_run(context: ActionContext) -> dict[str, Any]:
    tag = context.step.params["tag"]
    tags = list(context.customer.tags)
    if tag in tags:
        return {"summary": f"Already tagged '{tag}'"}
    if len(tags) >= MAX_TAGS:
        raise ApplicationError(f"The customer already has {MAX_TAGS} tags.", field="tags")
    customer_update(customer=context.customer, data={"tags": [*tags, tag]})
    return {"summary": f"Tagged '{tag}'"}


def _remove_tag_run(context: ActionContext) -> dict[str, Any]:
    tag = context.step.params["tag"]
    tags = list(context.customer.tags)
    if tag not in tags:
        return {"summary": f"Was not tagged '{tag}'"}
    customer_update(customer=context.customer, data={"tags": [t for t in tags if t != tag]})
    return {"summary": f"Removed the tag '{tag}'"}


# --- call a webhook -----------------------------------------------------------------------------


def _webhook_validate(params: dict[str, Any], field: str) -> tuple[dict, Errors]:
    errors = _only(params, ("url", "payload"), field)
    url = params.get("url")
    if not isinstance(url, str):
        _add(errors, f"{field}.url", "Give an http:// or https:// address.")
    else:
        # The guard of webhook subscriptions, resolving the host: a rule may not point the
        # server at the metadata service or the private network any more than an admin can.
        try:
            target_resolve(url)
        except TargetRefusedError as refused:
            _add(errors, f"{field}.url", refused.message)
    extra = params.get("payload") or {}
    if not isinstance(extra, dict):
        _add(errors, f"{field}.payload", 'Give a JSON object, like {"list": "vip"}.')
    else:
        try:
            validate_no_nul(extra)
        except ValidationError as error:
            _add(errors, f"{field}.payload", error.messages[0])
    return {"url": url, "payload": extra}, errors


def _webhook_run(context: ActionContext) -> dict[str, Any]:
    step, customer = context.step, context.customer
    payload = {
        "event": "automation.step",
        "step_id": step.pk,
        "rule": {"id": context.rule.pk, "name": context.rule.name},
        "customer": {
            "id": customer.pk,
            "email": customer.email,
            "stage": customer.stage.slug,
        },
        "trigger": {
            "type": context.rule.trigger_type,
            "event_key": step.event_key,
            "event": step.event_payload,
        },
        "data": step.params.get("payload") or {},
    }
    # webhook_call runs the guard again (DNS may have changed since the rule was saved, and a
    # rule saved before the guard existed may name any address): a refused target fails the
    # step at once, its reason kept as the step's error.
    delivery, _ = webhook_call(
        url=step.params["url"], payload=payload, idempotency_key=context.idempotency_key
    )
    return {
        "webhook_call_id": delivery.pk,
        "summary": f"Queued a webhook call to {step.params['url']}",
    }


for _spec in (
    ActionSpec(
        type="send_template",
        label="Send an email or SMS template",
        validate=_send_template_validate,
        run=_send_template_run,
        describe=lambda params: f"Send template #{params.get('template')}",
    ),
    ActionSpec(
        type="send_survey",
        label="Send a survey",
        validate=_send_survey_validate,
        run=_send_survey_run,
        describe=lambda params: f"Send survey #{params.get('survey')}",
    ),
    ActionSpec(
        type="create_task",
        label="Create a follow-up task",
        validate=_create_task_validate,
        run=_create_task_run,
        describe=lambda params: f"Create the task '{params.get('title')}'",
    ),
    ActionSpec(
        type="move_stage",
        label="Move to a stage",
        validate=_move_stage_validate,
        run=_move_stage_run,
        describe=lambda params: f"Move to {params.get('stage')}",
    ),
    ActionSpec(
        type="add_tag",
        label="Add a tag",
        validate=_tag_validate,
        run=_add_tag_run,
        describe=lambda params: f"Tag '{params.get('tag')}'",
    ),
    ActionSpec(
        type="remove_tag",
        label="Remove a tag",
        validate=_tag_validate,
        run=_remove_tag_run,
        describe=lambda params: f"Remove the tag '{params.get('tag')}'",
    ),
    ActionSpec(
        type="call_webhook",
        label="Call a webhook",
        validate=_webhook_validate,
        run=_webhook_run,
        describe=lambda params: f"Call {params.get('url')}",
        permitted=can_choose_webhook_targets,
        permission_denied="Only those who may manage webhooks (admins) may make a rule call one.",
    ),
):
    action_register(_spec)


def action_describe(action_type: str, params: dict[str, Any]) -> str:
    """An action in words ("Move to purchase")."""
    spec = ACTIONS.get(action_type)
    return spec.describe(params) if spec else action_type
