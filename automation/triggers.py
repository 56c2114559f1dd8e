"""What starts a rule: each trigger type, its configuration, and the events that fire it.

Event-driven triggers subscribe to the domain events (common.events) in AppConfig.ready;
each delivery, after the emitting transaction committed, becomes steps for the matching
active rules (automation.services.steps_create_for_event). "Idle N days in a stage" has no
event: the hourly idle sweep (automation.services.steps_create_for_idle) finds those
customers. "Form submitted" is wired to `form.submitted`, which lead capture will emit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from automation.models import TriggerType
from common.events import subscribe
from interactions.models import Outcome
from leadforms.events import EVENT_FORM_SUBMITTED
from stages.models import Stage

Errors = dict[str, list[str]]

EVENT_STAGE_CHANGED = "customer.stage_changed"
EVENT_PURCHASE_RECORDED = "purchase.recorded"
EVENT_CASE_CLOSED = "support_case.closed"
EVENT_SURVEY_ANSWERED = "survey.answered"

MAX_IDLE_DAYS = 3650
# The score scale of each survey kind (surveys: NPS 0-10, CSAT 1-5, CES 1-7).
SURVEY_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
PURCHASE_KINDS = ("any", "first", "repeat")


@dataclass(frozen=True)
class TriggerSpec:
    """One trigger type: the event that fires it (None: found by a sweep), how its config is
    validated, whether an event matches a config, the event's key, and a summary in words."""

    type: str
    event: str | None
    validate: Callable[[dict[str, Any], str], tuple[dict[str, Any], Errors]]
    matches: Callable[[dict[str, Any], dict[str, Any]], bool]
    event_key: Callable[[dict[str, Any]], str]
    describe: Callable[[dict[str, Any]], str]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _unknown_keys(config: dict[str, Any], allowed: tuple[str, ...], field: str) -> Errors:
    errors: Errors = {}
    for key in config:
        if key not in allowed:
            _add(errors, f"{field}.{key}", f"Unknown setting '{key}'; use {', '.join(allowed)}.")
    return errors


def _stage_setting(config: dict[str, Any], field: str, errors: Errors) -> str | None:
    slug = config.get("stage")
    if not isinstance(slug, str) or not slug:
        _add(errors, f"{field}.stage", "Choose a stage.")
        return None
    if not Stage.objects.filter(slug=slug).exists():
        _add(errors, f"{field}.stage", f"Unknown stage '{slug}'.")
    return slug


def _int_setting(
    config: dict[str, Any], key: str, field: str, errors: Errors, *, low: int, high: int
) -> int | None:
    value = config.get(key)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        _add(errors, f"{field}.{key}", f"Give a whole number from {low} to {high}.")
        return None
    if not low <= value <= high:
        _add(errors, f"{field}.{key}", f"Give a whole number from {low} to {high}.")
        return None
    return value


# --- entered a stage --------------------------------------------------------------------------


def _stage_entered_validate(config: dict[str, Any], field: str) -> tuple[dict, Errors]:
    errors = _unknown_keys(config, ("stage",), field)
    slug = _stage_setting(config, field, errors)
    return {"stage": slug}, errors


# --- idle N days in a stage ---------------------------------------------------------------------


def _stage_idle_validate(config: dict[str, Any], field: str) -> tuple[dict, Errors]:
    errors = _unknown_keys(config, ("stage", "days"), field)
    slug = _stage_setting(config, field, errors)
    days = _int_setting(config, "days", field, errors, low=1, high=MAX_IDLE_DAYS)
    return {"stage": slug, "days": days}, errors


def idle_event_key(*, stage_slug: str, stage_entered_at: Any) -> str:
    """One key per stay in a stage: a customer is acted on once per stay, however long."""
    return f"idle:{stage_slug}:{stage_entered_at.isoformat()}"


# --- purchase recorded --------------------------------------------------------------------------


def _purchase_validate(config: dict[str, Any], field: str) -> tuple[dict, Errors]:
    errors = _unknown_keys(config, ("purchases",), field)
    which = config.get("purchases") or "any"
    if which not in PURCHASE_KINDS:
        _add(errors, f"{field}.purchases", f"Use one of {', '.join(PURCHASE_KINDS)}.")
    return {"purchases": which}, errors


def _purchase_matches(config: dict[str, Any], payload: dict[str, Any]) -> bool:
    which = config.get("purchases", "any")
    return which == "any" or (which == "repeat") == bool(payload.get("repeat"))


# --- support case closed ------------------------------------------------------------------------


def _case_validate(config: dict[str, Any], field: str) -> tuple[dict, Errors]:
    errors = _unknown_keys(config, ("outcome",), field)
    outcome = config.get("outcome") or ""
    if outcome and outcome not in Outcome.values:
        _add(errors, f"{field}.outcome", f"Unknown outcome '{outcome}'.")
    return ({"outcome": outcome} if outcome else {}), errors


# --- survey answered ----------------------------------------------------------------------------


def _survey_validate(config: dict[str, Any], field: str) -> tuple[dict, Errors]:
    errors = _unknown_keys(config, ("survey_kind", "score_min", "score_max"), field)
    kind = config.get("survey_kind")
    if kind not in SURVEY_SCALES:
        _add(errors, f"{field}.survey_kind", f"Use one of {', '.join(SURVEY_SCALES)}.")
        return {}, errors
    low, high = SURVEY_SCALES[kind]
    clean: dict[str, Any] = {"survey_kind": kind, "score_min": low, "score_max": high}
    for key in ("score_min", "score_max"):
        if config.get(key) not in (None, ""):
            value = _int_setting(config, key, field, errors, low=low, high=high)
            if value is not None:
                clean[key] = value
    if clean["score_min"] > clean["score_max"]:
        _add(errors, f"{field}.score_max", "The highest score cannot be below the lowest.")
    return clean, errors


def _survey_matches(config: dict[str, Any], payload: dict[str, Any]) -> bool:
    score = payload.get("score")
    if payload.get("survey_kind") != config.get("survey_kind") or score is None:
        return False
    return config["score_min"] <= score <= config["score_max"]


# --- form submitted -----------------------------------------------------------------------------


def _form_validate(config: dict[str, Any], field: str) -> tuple[dict, Errors]:
    errors = _unknown_keys(config, ("form",), field)
    form = config.get("form")
    if form in (None, ""):
        return {}, errors
    if not isinstance(form, str | int) or isinstance(form, bool):
        _add(errors, f"{field}.form", "Give the form's id or slug, or leave it empty.")
        return {}, errors
    return {"form": str(form)}, errors


def _form_matches(config: dict[str, Any], payload: dict[str, Any]) -> bool:
    wanted = config.get("form")
    if not wanted:
        return True
    return wanted in {str(payload.get("form_id", "")), str(payload.get("form_slug", ""))}


def _form_event_key(payload: dict[str, Any]) -> str:
    if payload.get("submission_id") is not None:
        return f"form_submission:{payload['submission_id']}"
    # Without a submission id, the same payload delivered twice is still one event.
    canonical = json.dumps(payload, sort_keys=True, default=str).encode()
    return f"form_submission:sha1:{hashlib.sha1(canonical, usedforsecurity=False).hexdigest()}"


def _describe_survey(config: dict[str, Any]) -> str:
    kind = str(config.get("survey_kind", "")).upper()
    low, high = config.get("score_min"), config.get("score_max")
    return f"{kind} survey answered with a score from {low} to {high}"


TRIGGERS: dict[str, TriggerSpec] = {
    spec.type: spec
    for spec in (
        TriggerSpec(
            type=TriggerType.STAGE_ENTERED,
            event=EVENT_STAGE_CHANGED,
            validate=_stage_entered_validate,
            matches=lambda config, payload: payload.get("to_stage") == config.get("stage"),
            event_key=lambda payload: f"transition:{payload['transition_id']}",
            describe=lambda config: f"Entered the stage {config.get('stage')}",
        ),
        TriggerSpec(
            type=TriggerType.STAGE_IDLE,
            event=None,
            validate=_stage_idle_validate,
            matches=lambda config, payload: False,
            event_key=lambda payload: str(payload["event_key"]),
            describe=lambda config: (
                f"Idle {config.get('days')} day(s) in the stage {config.get('stage')}"
            ),
        ),
        TriggerSpec(
            type=TriggerType.PURCHASE_RECORDED,
            event=EVENT_PURCHASE_RECORDED,
            validate=_purchase_validate,
            matches=_purchase_matches,
            event_key=lambda payload: f"purchase:{payload['purchase_id']}",
            describe=lambda config: {
                "first": "First purchase recorded",
                "repeat": "Repeat purchase recorded",
            }.get(config.get("purchases", "any"), "Purchase recorded"),
        ),
        TriggerSpec(
            type=TriggerType.SUPPORT_CASE_CLOSED,
            event=EVENT_CASE_CLOSED,
            validate=_case_validate,
            matches=lambda config, payload: (
                not config.get("outcome") or payload.get("outcome") == config["outcome"]
            ),
            event_key=lambda payload: f"case:{payload['interaction_id']}",
            describe=lambda config: (
                "Support case closed" + (f" ({config['outcome']})" if config.get("outcome") else "")
            ),
        ),
        TriggerSpec(
            type=TriggerType.SURVEY_ANSWERED,
            event=EVENT_SURVEY_ANSWERED,
            validate=_survey_validate,
            matches=_survey_matches,
            event_key=lambda payload: f"survey_response:{payload['response_id']}",
            describe=_describe_survey,
        ),
        TriggerSpec(
            type=TriggerType.FORM_SUBMITTED,
            event=EVENT_FORM_SUBMITTED,
            validate=_form_validate,
            matches=_form_matches,
            event_key=_form_event_key,
            describe=lambda config: (
                "Form submitted" + (f" ({config['form']})" if config.get("form") else "")
            ),
        ),
    )
}


def trigger_describe(trigger_type: str, config: dict[str, Any]) -> str:
    """A rule's trigger in words ("Entered the stage purchase")."""
    spec = TRIGGERS.get(trigger_type)
    return spec.describe(config) if spec else trigger_type


def on_event(event: str, payload: dict[str, Any]) -> None:
    """The subscriber of every trigger event: steps for the matching active rules."""
    from automation.services import steps_create_for_event

    steps_create_for_event(event=event, payload=payload)


def triggers_subscribe() -> None:
    """Subscribe to every event a trigger listens to (called from AppConfig.ready)."""
    for spec in TRIGGERS.values():
        if spec.event is not None:
            subscribe(spec.event)(on_event)
