"""Rules are validated whole, and every error names the field path at fault."""

from __future__ import annotations

from typing import Any

import pytest

from automation.models import Rule
from automation.services import RuleInvalidError, rule_create, rule_update
from messaging.models import MessageTemplate

pytestmark = pytest.mark.django_db


def errors_of(**kwargs: Any) -> dict[str, list[str]]:
    kwargs.setdefault("name", "R")
    kwargs.setdefault("trigger_type", "stage_entered")
    kwargs.setdefault("trigger_config", {"stage": "purchase"})
    kwargs.setdefault("actions", [{"type": "add_tag", "params": {"tag": "x"}}])
    with pytest.raises(RuleInvalidError) as raised:
        rule_create(**kwargs)
    assert not Rule.objects.exists()
    return raised.value.as_dict()


def test_an_unknown_stage_in_an_action_is_named_by_its_path() -> None:
    errors = errors_of(
        actions=[
            {"type": "add_tag", "params": {"tag": "ok"}},
            {"type": "move_stage", "params": {"stage": "x"}},
        ]
    )

    assert errors == {"actions[1].params.stage": ["Unknown stage 'x'."]}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": " "}, "name"),
        ({"trigger_type": "moon_phase"}, "trigger_type"),
        ({"trigger_config": {}}, "trigger_config.stage"),
        ({"trigger_config": {"stage": "nowhere"}}, "trigger_config.stage"),
        ({"trigger_config": {"stage": "purchase", "colour": "red"}}, "trigger_config.colour"),
        ({"trigger_type": "stage_idle", "trigger_config": {"stage": "purchase"}}, None),
        (
            {"trigger_type": "stage_idle", "trigger_config": {"stage": "purchase", "days": 0}},
            "trigger_config.days",
        ),
        (
            {"trigger_type": "purchase_recorded", "trigger_config": {"purchases": "some"}},
            "trigger_config.purchases",
        ),
        (
            {"trigger_type": "support_case_closed", "trigger_config": {"outcome": "meh"}},
            "trigger_config.outcome",
        ),
        (
            {"trigger_type": "survey_answered", "trigger_config": {"survey_kind": "vibes"}},
            "trigger_config.survey_kind",
        ),
        (
            {
                "trigger_type": "survey_answered",
                "trigger_config": {"survey_kind": "csat", "score_min": 0},
            },
            "trigger_config.score_min",
        ),
        (
            {
                "trigger_type": "survey_answered",
                "trigger_config": {"survey_kind": "nps", "score_min": 9, "score_max": 3},
            },
            "trigger_config.score_max",
        ),
        ({"conditions": {"stages": ["nowhere"]}}, "conditions.stages[0]"),
        ({"conditions": {"phases": ["space"]}}, "conditions.phases[0]"),
        ({"conditions": {"tags_all": "vip"}}, "conditions.tags_all"),
        ({"conditions": {"attributes": ["plan"]}}, "conditions.attributes"),
        ({"conditions": {"owner": 999999}}, "conditions.owner"),
        ({"conditions": {"owner": "someone"}}, "conditions.owner"),
        ({"conditions": {"mood": "happy"}}, "conditions.mood"),
        ({"conditions": ["stages"]}, "conditions"),
        ({"delay_minutes": -1}, "delay_minutes"),
        ({"actions": []}, "actions"),
        ({"actions": "add_tag"}, "actions"),
        ({"actions": [{"type": "teleport"}]}, "actions[0].type"),
        ({"actions": [{"type": "add_tag", "params": {}}]}, "actions[0].params.tag"),
        ({"actions": [{"type": "add_tag", "params": {"tag": "a", "x": 1}}]}, "actions[0].params.x"),
        ({"actions": [{"type": "send_template", "params": {"template": 999}}]}, None),
        ({"actions": [{"type": "create_task", "params": {"title": ""}}]}, None),
        (
            {"actions": [{"type": "create_task", "params": {"title": "t", "due_in_hours": -2}}]},
            "actions[0].params.due_in_hours",
        ),
        ({"actions": [{"type": "call_webhook", "params": {"url": "ftp://x"}}]}, None),
        ({"actions": [{"type": "remove_tag", "params": {"tag": "x" * 51}}]}, None),
        ({"trigger_config": {"stage": "purchase\x00"}}, "trigger_config"),
    ],
)
def test_each_bad_part_is_refused_on_its_field(kwargs: dict[str, Any], field: str | None) -> None:
    errors = errors_of(**kwargs)

    if field is not None:
        assert field in errors, errors
        assert all(isinstance(message, str) and message for message in errors[field])


@pytest.mark.parametrize(
    ("action", "field"),
    [
        ({"type": "send_template", "params": {"template": 999}}, "actions[0].params.template"),
        ({"type": "create_task", "params": {"title": ""}}, "actions[0].params.title"),
        ({"type": "call_webhook", "params": {"url": "ftp://x"}}, "actions[0].params.url"),
        ({"type": "remove_tag", "params": {"tag": "x" * 51}}, "actions[0].params.tag"),
        ({"type": "move_stage", "params": {"stage": "spare"}}, "actions[0].params.stage"),
        ({"type": "create_task", "params": {"title": "t", "assignee": 0}}, None),
    ],
)
def test_action_params_are_checked_per_type(
    action: dict[str, Any], field: str | None, stages: Any
) -> None:
    from stages.services import stage_create, stage_update

    spare = stage_create(slug="spare", name="Spare", phase="engage")
    stage_update(stage=spare, is_archived=True)

    errors = errors_of(actions=[action])

    assert (field or "actions[0].params.assignee") in errors


def test_several_errors_are_reported_together() -> None:
    errors = errors_of(
        name="",
        trigger_config={"stage": "nowhere"},
        actions=[{"type": "move_stage", "params": {"stage": "x"}}, {"type": "nope"}],
    )

    assert set(errors) == {
        "name",
        "trigger_config.stage",
        "actions[0].params.stage",
        "actions[1].type",
    }


def test_a_valid_rule_is_stored_cleaned(stages: Any) -> None:
    template = MessageTemplate.objects.create(name="Welcome", subject="Hi", body_text="Hello")

    rule = rule_create(
        name="  Welcome buyers ",
        trigger_type="stage_entered",
        trigger_config={"stage": "purchase"},
        conditions={"tags_all": [" VIP "], "stages": ["purchase"], "tags_none": []},
        delay_minutes="15",  # type: ignore[arg-type]
        actions=[
            {"type": "send_template", "params": {"template": "Welcome"}},
            {"type": "add_tag", "params": {"tag": " Buyer "}},
        ],
    )

    assert rule.name == "Welcome buyers"
    assert rule.conditions == {"tags_all": ["vip"], "stages": ["purchase"]}
    assert rule.delay_minutes == 15
    assert rule.actions == [
        {"type": "send_template", "params": {"template": template.pk}},
        {"type": "add_tag", "params": {"tag": "buyer"}},
    ]


def test_survey_ranges_default_to_the_whole_scale() -> None:
    rule = rule_create(
        name="Detractors",
        trigger_type="survey_answered",
        trigger_config={"survey_kind": "nps", "score_max": 6},
        actions=[{"type": "add_tag", "params": {"tag": "detractor"}}],
    )

    assert rule.trigger_config == {"survey_kind": "nps", "score_min": 0, "score_max": 6}


def test_an_update_is_validated_whole_and_leaves_the_rule_alone_when_refused(make_rule) -> None:
    rule = make_rule()

    with pytest.raises(RuleInvalidError) as raised:
        rule_update(rule=rule, data={"trigger_type": "stage_idle"})

    assert set(raised.value.as_dict()) == {"trigger_config.stage", "trigger_config.days"}
    rule.refresh_from_db()
    assert rule.trigger_type == "stage_entered"
