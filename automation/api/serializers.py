"""Input and output serializers for automation rules and steps.

The JSON parts of a rule (trigger_config, conditions, actions) are validated by the service
(automation.services.rule_validate), so that the API and the dashboard refuse the same
things with the same messages; errors name the path at fault, flat: `actions[1].params.stage`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.serializers import user_ref
from automation.actions import action_describe
from automation.models import Rule, Step, StepState
from automation.services import MAX_DELAY_MINUTES
from automation.triggers import TRIGGERS, trigger_describe


def _pattern(values: list[str], description: str) -> dict[str, Any]:
    return {"type": "string", "pattern": f"^({'|'.join(values)})$", "description": description}


@extend_schema_field(
    _pattern(
        list(TRIGGERS),
        "stage_entered {stage}; stage_idle {stage, days}; purchase_recorded {purchases: "
        "any|first|repeat}; support_case_closed {outcome?}; survey_answered {survey_kind: "
        "nps|csat|ces, score_min?, score_max?}; form_submitted {form?}.",
    )
)
class TriggerTypeField(serializers.ChoiceField):
    """Documented by a pattern, not an enum: the schema names enums after their field."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=list(TRIGGERS), **kwargs)


@extend_schema_field(_pattern(StepState.values, "Where the step stands."))
class StepStateField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=StepState.choices, **kwargs)


_ACTIONS_HELP = (
    'A list of {"type": ..., "params": {...}}, run in order. Types and params: '
    "send_template {template: id or name}; send_survey {survey: id}; create_task {title, "
    "due_in_hours=24, assignee?: user id (default: the customer's owner), notes?}; "
    "move_stage {stage: slug}; add_tag {tag}; remove_tag {tag}; call_webhook {url, payload?} "
    "(needs the permission to create webhook subscriptions; the URL must be public)."
)
_CONDITIONS_HELP = (
    "All must hold: stages [slug], phases [attract|engage|delight], tags_all [tag], "
    "tags_any [tag], tags_none [tag], attributes {key: value}, owner: user id | none | any, "
    "segment: a saved segment's id (the customer is in it at that moment)."
)


class RuleUpdateInputSerializer(serializers.Serializer):
    """What may change on a rule (all optional). Changing `trigger_type` needs a new
    `trigger_config`. `is_active` false pauses the rule (its pending steps are cancelled)."""

    name = serializers.CharField(max_length=200, required=False)
    is_active = serializers.BooleanField(required=False)
    trigger_type = TriggerTypeField(required=False)
    trigger_config = serializers.JSONField(required=False, help_text="Depends on trigger_type.")
    conditions = serializers.JSONField(required=False, help_text=_CONDITIONS_HELP)
    delay_minutes = serializers.IntegerField(
        min_value=0,
        max_value=MAX_DELAY_MINUTES,
        required=False,
        help_text="How long after the trigger the first action is due.",
    )
    actions = serializers.JSONField(required=False, help_text=_ACTIONS_HELP)


class RuleCreateInputSerializer(RuleUpdateInputSerializer):
    name = serializers.CharField(max_length=200)
    is_active = serializers.BooleanField(required=False, default=True)
    trigger_type = TriggerTypeField()
    trigger_config = serializers.JSONField(
        required=False, default=dict, help_text="Depends on trigger_type."
    )
    conditions = serializers.JSONField(required=False, default=dict, help_text=_CONDITIONS_HELP)
    delay_minutes = serializers.IntegerField(
        min_value=0, max_value=MAX_DELAY_MINUTES, required=False, default=0
    )
    actions = serializers.JSONField(help_text=_ACTIONS_HELP)


class RuleOutputSerializer(serializers.ModelSerializer):
    trigger_type = TriggerTypeField(read_only=True)
    trigger_summary = serializers.SerializerMethodField()
    customers_acted_on = serializers.SerializerMethodField()

    created_by = user_ref()

    class Meta:
        model = Rule
        fields = [
            "id",
            "name",
            "is_active",
            "trigger_type",
            "trigger_config",
            "trigger_summary",
            "conditions",
            "delay_minutes",
            "actions",
            "customers_acted_on",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_trigger_summary(self, rule: Rule) -> str:
        return trigger_describe(rule.trigger_type, rule.trigger_config)

    def get_customers_acted_on(self, rule: Rule) -> int:
        """Distinct customers with a done step of this rule."""
        count = getattr(rule, "customers_acted_on", None)
        if count is None:
            from automation.selectors import rule_customers_acted_on

            count = rule_customers_acted_on(rule=rule)
        return int(count)


class StepOutputSerializer(serializers.ModelSerializer):
    state = StepStateField(read_only=True)
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    action_summary = serializers.SerializerMethodField()
    result = serializers.JSONField(
        read_only=True,
        help_text="What the action did (`summary`, and ids such as `task_id`, "
        "`message_id`, `transition_id`), or why the step was skipped or cancelled (`reason`).",
    )

    class Meta:
        model = Step
        fields = [
            "id",
            "rule",
            "rule_name",
            "customer",
            "action_index",
            "action_type",
            "action_summary",
            "params",
            "event_key",
            "state",
            "due_at",
            "attempts",
            "last_error",
            "result",
            "started_at",
            "finished_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_action_summary(self, step: Step) -> str:
        return action_describe(step.action_type, step.params)
