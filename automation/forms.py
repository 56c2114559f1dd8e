"""The dashboard's rule form: trigger and its settings, conditions, delay, actions (JSON).

The form only turns what a person typed into the values `rule_create` / `rule_update` take;
the service validates the rule, and its errors (keyed by path, e.g. `trigger_config.stage`,
`actions[1].params.stage`) are shown on the field that holds that part.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from automation.models import Rule, TriggerType
from automation.triggers import PURCHASE_KINDS, SURVEY_SCALES
from interactions.models import Outcome
from segments.selectors import segment_list
from stages.models import Phase, Stage

ACTIONS_EXAMPLE = """[
  {"type": "send_template", "params": {"template": "Welcome"}},
  {"type": "create_task", "params": {"title": "Call them", "due_in_hours": 24}},
  {"type": "move_stage", "params": {"stage": "evaluation"}},
  {"type": "add_tag", "params": {"tag": "vip"}}
]"""

ACTIONS_HELP = (
    "A JSON list, run in order. Types and their params: "
    "send_template {template: id or name}; send_survey {survey: id}; "
    "create_task {title, due_in_hours (24), assignee (user id; default the customer's owner), "
    "notes}; move_stage {stage: slug}; add_tag {tag}; remove_tag {tag}; "
    "call_webhook {url, payload (an object added to what is sent)}, for admins: it sends "
    "customer data to a public address of your choice."
)

# Where each part of the service's validation errors is shown.
TRIGGER_FIELDS = {
    "stage": "trigger_stage",
    "days": "idle_days",
    "purchases": "purchases",
    "outcome": "case_outcome",
    "survey_kind": "survey_kind",
    "score_min": "score_min",
    "score_max": "score_max",
    "form": "form",
}
CONDITION_FIELDS = {
    "stages": "cond_stages",
    "phases": "cond_phases",
    "tags_all": "tags_all",
    "tags_any": "tags_any",
    "tags_none": "tags_none",
    "attributes": "attributes",
    "owner": "owner",
    "segment": "segment",
}


def _tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",") if tag.strip()]


class RuleForm(forms.Form):
    """A rule as a person builds it. The trigger's settings that do not apply to the chosen
    trigger are ignored."""

    name = forms.CharField(max_length=200)
    is_active = forms.BooleanField(
        required=False, initial=True, label="Active", help_text="A paused rule does nothing."
    )
    trigger_type = forms.ChoiceField(choices=TriggerType.choices, label="When")

    trigger_stage = forms.ChoiceField(
        required=False, label="Stage", help_text="For “Entered a stage” and “Idle N days”."
    )
    idle_days = forms.IntegerField(
        required=False, min_value=1, label="Idle days", help_text="For “Idle N days in a stage”."
    )
    purchases = forms.ChoiceField(
        required=False,
        choices=[(kind, kind.capitalize()) for kind in PURCHASE_KINDS],
        label="Which purchases",
        help_text="For “Purchase recorded”: any, the first one, or repeat ones.",
    )
    case_outcome = forms.ChoiceField(
        required=False,
        choices=[("", "Any outcome"), *Outcome.choices],
        label="Case outcome",
        help_text="For “Support case closed”.",
    )
    survey_kind = forms.ChoiceField(
        required=False,
        choices=[("", "—"), *[(kind, kind.upper()) for kind in SURVEY_SCALES]],
        label="Survey",
        help_text="For “Survey answered”: NPS 0 to 10, CSAT 1 to 5, CES 1 to 7.",
    )
    score_min = forms.IntegerField(required=False, label="Lowest score")
    score_max = forms.IntegerField(required=False, label="Highest score")
    form = forms.CharField(
        required=False,
        max_length=100,
        label="Form",
        help_text="For “Form submitted”: the form's id or slug; empty for any form.",
    )

    cond_stages = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only in these stages",
        help_text="None ticked: any stage.",
    )
    cond_phases = forms.MultipleChoiceField(
        required=False,
        choices=Phase.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Only in these phases",
    )
    tags_all = forms.CharField(
        required=False, label="Has all these tags", help_text="Separated by commas."
    )
    tags_any = forms.CharField(required=False, label="Has one of these tags")
    tags_none = forms.CharField(required=False, label="Has none of these tags")
    attributes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Attributes equal",
        help_text='A JSON object, like {"plan": "pro"}.',
    )
    owner = forms.ChoiceField(required=False, label="Owner")
    segment = forms.ChoiceField(
        required=False,
        label="In segment",
        help_text="The customer is in this saved segment (or on this list) at that moment.",
    )

    delay_minutes = forms.IntegerField(
        min_value=0,
        initial=0,
        label="Delay (minutes)",
        help_text="How long after the trigger the first action is due.",
    )
    actions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "class": "mono", "spellcheck": "false"}),
        initial=ACTIONS_EXAMPLE,
        help_text=ACTIONS_HELP,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stages = [(s.slug, s.name) for s in Stage.objects.order_by("position", "id")]
        self.fields["trigger_stage"].choices = [("", "—"), *stages]  # type: ignore[attr-defined]
        self.fields["cond_stages"].choices = stages  # type: ignore[attr-defined]
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["owner"].choices = [  # type: ignore[attr-defined]
            ("", "Anyone or no one"),
            ("any", "Has an owner"),
            ("none", "Has no owner"),
            *[(str(user.pk), user.get_username()) for user in users],
        ]
        self.fields["segment"].choices = [  # type: ignore[attr-defined]
            ("", "Any customer"),
            *[
                (str(s.pk), s.name if s.is_dynamic else f"{s.name} (static list)")
                for s in segment_list()
            ],
        ]

    @staticmethod
    def initial_for(rule: Rule) -> dict[str, Any]:
        """The form's fields filled from an existing rule."""
        config, conditions = rule.trigger_config, rule.conditions
        owner = conditions.get("owner")
        return {
            "name": rule.name,
            "is_active": rule.is_active,
            "trigger_type": rule.trigger_type,
            "trigger_stage": config.get("stage", ""),
            "idle_days": config.get("days"),
            "purchases": config.get("purchases", "any"),
            "case_outcome": config.get("outcome", ""),
            "survey_kind": config.get("survey_kind", ""),
            "score_min": config.get("score_min"),
            "score_max": config.get("score_max"),
            "form": config.get("form", ""),
            "cond_stages": conditions.get("stages", []),
            "cond_phases": conditions.get("phases", []),
            "tags_all": ", ".join(conditions.get("tags_all", [])),
            "tags_any": ", ".join(conditions.get("tags_any", [])),
            "tags_none": ", ".join(conditions.get("tags_none", [])),
            "attributes": (
                json.dumps(conditions["attributes"], ensure_ascii=False)
                if conditions.get("attributes")
                else ""
            ),
            "owner": "" if owner is None else str(owner),
            "segment": str(conditions.get("segment") or ""),
            "delay_minutes": rule.delay_minutes,
            "actions": json.dumps(rule.actions, indent=2, ensure_ascii=False),
        }

    def clean_attributes(self) -> dict[str, Any]:
        text = self.cleaned_data["attributes"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"This is not valid JSON ({exc}).") from exc
        if not isinstance(value, dict):
            raise ValidationError('Give a JSON object, like {"plan": "pro"}.')
        return value

    def clean_actions(self) -> list[Any]:
        try:
            value = json.loads(self.cleaned_data["actions"])
        except ValueError as exc:
            raise ValidationError(f"This is not valid JSON ({exc}).") from exc
        if not isinstance(value, list):
            raise ValidationError('Give a JSON list, like [{"type": "add_tag", ...}].')
        return value

    def rule_data(self) -> dict[str, Any]:
        """The cleaned form as the keyword arguments of rule_create / rule_update."""
        data = self.cleaned_data
        trigger = data["trigger_type"]
        config: dict[str, Any] = {}
        if trigger in (TriggerType.STAGE_ENTERED, TriggerType.STAGE_IDLE):
            config["stage"] = data["trigger_stage"]
        if trigger == TriggerType.STAGE_IDLE:
            config["days"] = data["idle_days"]
        if trigger == TriggerType.PURCHASE_RECORDED:
            config["purchases"] = data["purchases"] or "any"
        if trigger == TriggerType.SUPPORT_CASE_CLOSED and data["case_outcome"]:
            config["outcome"] = data["case_outcome"]
        if trigger == TriggerType.SURVEY_ANSWERED:
            config["survey_kind"] = data["survey_kind"]
            for key in ("score_min", "score_max"):
                if data[key] is not None:
                    config[key] = data[key]
        if trigger == TriggerType.FORM_SUBMITTED and data["form"].strip():
            config["form"] = data["form"].strip()
        conditions: dict[str, Any] = {
            "stages": data["cond_stages"],
            "phases": data["cond_phases"],
            "tags_all": _tags(data["tags_all"]),
            "tags_any": _tags(data["tags_any"]),
            "tags_none": _tags(data["tags_none"]),
            "attributes": data["attributes"],
        }
        owner = data["owner"]
        if owner:
            conditions["owner"] = int(owner) if owner.isdigit() else owner
        if data["segment"]:
            conditions["segment"] = int(data["segment"])
        return {
            "name": data["name"],
            "is_active": data["is_active"],
            "trigger_type": trigger,
            "trigger_config": config,
            "conditions": {key: value for key, value in conditions.items() if value},
            "delay_minutes": data["delay_minutes"],
            "actions": data["actions"],
        }

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Show the service's errors (keyed by path) on the fields that hold those parts."""
        for path, messages in errors.items():
            field, label = self._field_for(path)
            for message in messages:
                self.add_error(field, f"{label}: {message}" if label else message)

    def _field_for(self, path: str) -> tuple[str | None, str]:
        head, _, rest = path.partition(".")
        key = rest.split(".")[0].split("[")[0]
        if head == "trigger_config":
            return TRIGGER_FIELDS.get(key, "trigger_type"), ""
        if head == "conditions":
            field = CONDITION_FIELDS.get(key)
            return field, "" if field else path
        if path.startswith("actions"):
            return "actions", "" if path == "actions" else _action_label(path)
        return (path if path in self.fields else None), ""


def _action_label(path: str) -> str:
    """`actions[1].params.stage` → `Action 2, stage`."""
    index = path.split("[", 1)[1].split("]", 1)[0]
    label = f"Action {int(index) + 1}" if index.isdigit() else "Actions"
    tail = path.split("]", 1)[1].lstrip(".")
    tail = tail.removeprefix("params.")
    return f"{label}, {tail}" if tail else label
