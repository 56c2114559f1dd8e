"""Each rule, and their combinations, against the hand-computed sets of conftest's world."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer
from segments.definition import (
    EXAMPLE,
    MAX_DEPTH,
    MAX_RULES,
    DefinitionInvalidError,
    definition_validate,
)
from segments.selectors import definition_customers

pytestmark = pytest.mark.django_db


def matching(definition: Any) -> set[int]:
    return set(definition_customers(definition).values_list("pk", flat=True))


def one(rule: dict[str, Any]) -> dict[str, Any]:
    return {"op": "and", "rules": [rule]}


def days_ago(days: int) -> str:
    return (timezone.localdate() - timedelta(days=days)).isoformat()


RULES: list[tuple[dict[str, Any], str]] = [
    ({"field": "stage", "op": "in", "value": ["awareness"]}, "ab"),
    ({"field": "stage", "op": "not_in", "value": ["awareness", "evaluation"]}, "def"),
    ({"field": "phase", "op": "in", "value": ["engage"]}, "cd"),
    ({"field": "phase", "op": "in", "value": ["delight", "attract"]}, "abef"),
    ({"field": "tags", "op": "has_any", "value": ["VIP"]}, "ace"),
    ({"field": "tags", "op": "has_all", "value": ["vip", "newsletter"]}, "e"),
    ({"field": "tags", "op": "has_none", "value": ["vip"]}, "bdf"),
    ({"field": "attribute", "key": "plan", "op": "eq", "value": "team"}, "ac"),
    ({"field": "attribute", "key": "plan", "op": "ne", "value": "team"}, "bdef"),
    ({"field": "attribute", "key": "plan", "op": "in", "value": ["solo", "enterprise"]}, "bf"),
    ({"field": "attribute", "key": "plan", "op": "exists", "value": True}, "abcf"),
    ({"field": "attribute", "key": "plan", "op": "exists", "value": False}, "de"),
    ({"field": "attribute", "key": "seats", "op": "gt", "value": 5}, "a"),
    ({"field": "attribute", "key": "seats", "op": "lt", "value": 5}, "e"),
    ({"field": "attribute", "key": "seats", "op": "eq", "value": 10}, "a"),
    ({"field": "attribute", "key": "seats", "op": "eq", "value": "10"}, "c"),
    ({"field": "attribute", "key": "plan", "op": "gt", "value": "solo"}, "c" + "a"),
    ({"field": "source", "op": "eq", "value": "referral"}, "ad"),
    ({"field": "source", "op": "in", "value": ["ads", "web"]}, "bce"),
    ({"field": "utm_campaign", "op": "eq", "value": "spring"}, "c"),
    ({"field": "created_at", "op": "within_days", "value": 30}, "cdf"),
    ({"field": "created_at", "op": "older_than_days", "value": 30}, "abe"),
    ({"field": "created_at", "op": "before", "value": days_ago(50)}, "ae"),
    ({"field": "created_at", "op": "after", "value": days_ago(50)}, "bcdf"),
    ({"field": "last_activity_at", "op": "within_days", "value": 7}, "adf"),
    ({"field": "last_activity_at", "op": "older_than_days", "value": 30}, "be"),
    ({"field": "stage_entered_at", "op": "within_days", "value": 7}, "df"),
    ({"field": "survey_category", "op": "in", "value": ["promoter"]}, "ab"),
    ({"field": "survey_category", "op": "in", "value": ["detractor"]}, "cf"),
    ({"field": "survey_category", "op": "in", "value": ["passive"]}, "d"),
    ({"field": "survey_category", "op": "in", "value": ["promoter"], "survey_kind": "csat"}, "d"),
    ({"field": "survey_category", "op": "in", "value": ["detractor"], "survey_kind": "nps"}, "f"),
    ({"field": "purchase_count", "op": "gte", "value": 1}, "acdf"),
    ({"field": "purchase_count", "op": "gte", "value": 2}, "ad"),
    ({"field": "purchase_count", "op": "gte", "value": 0}, "abcdef"),
    ({"field": "purchase_count", "op": "eq", "value": 0}, "be"),
    ({"field": "purchase_count", "op": "eq", "value": 1}, "cf"),
    ({"field": "purchase_count", "op": "eq", "value": 3}, "d"),
    ({"field": "purchase_count", "op": "lte", "value": 1}, "bcef"),
    ({"field": "purchase_total", "op": "gte", "value": 100, "currency": "EUR"}, "af"),
    ({"field": "purchase_total", "op": "lte", "value": "20", "currency": "eur"}, "bcde"),
    ({"field": "purchase_total", "op": "gte", "value": 1000, "currency": "USD"}, "d"),
    ({"field": "purchase_total", "op": "gte", "value": 1000, "currency": "EUR"}, "f"),
    ({"field": "referral_count", "op": "gte", "value": 1}, "ad"),
    ({"field": "referral_count", "op": "gte", "value": 2}, "a"),
    ({"field": "referral_count", "op": "lte", "value": 0}, "bcef"),
    ({"field": "referral_count", "op": "lte", "value": 1}, "bcdef"),
    ({"field": "email_consent", "op": "is", "value": True}, "adf"),
    ({"field": "email_consent", "op": "is", "value": False}, "bce"),
    ({"field": "sms_consent", "op": "is", "value": True}, "cd"),
]


@pytest.mark.parametrize(
    ("rule", "expected"), RULES, ids=[f"{r['field']}-{r['op']}-{e}" for r, e in RULES]
)
def test_each_rule_matches_the_hand_computed_set(world, rule, expected) -> None:
    assert matching(one(rule)) == world.ids(*expected)


def test_owner_rules(world) -> None:
    rule = {"field": "owner", "op": "in", "value": [world.rep.pk]}
    assert matching(one(rule)) == world.ids("a", "c", "f")
    rule = {"field": "owner", "op": "in", "value": [world.rep.pk, world.boss.pk]}
    assert matching(one(rule)) == world.ids("a", "c", "d", "f")
    assert matching(one({"field": "owner", "op": "is_empty", "value": True})) == world.ids("b", "e")
    assert matching(one({"field": "owner", "op": "is_empty", "value": False})) == world.ids(
        "a", "c", "d", "f"
    )


def test_and_or_nesting(world) -> None:
    both = {
        "op": "and",
        "rules": [
            {"field": "phase", "op": "in", "value": ["engage"]},
            {"field": "tags", "op": "has_any", "value": ["vip"]},
        ],
    }
    assert matching(both) == world.ids("c")
    either = {
        "op": "or",
        "rules": [
            {"field": "source", "op": "eq", "value": "web"},
            {
                "op": "and",
                "rules": [
                    {"field": "owner", "op": "in", "value": [world.rep.pk]},
                    {"field": "purchase_count", "op": "gte", "value": 2},
                ],
            },
        ],
    }
    assert matching(either) == world.ids("a", "e")
    # The module's own example: engage AND vip AND (plan=team OR 2+ purchases) -> c.
    assert matching(EXAMPLE) == world.ids("c")
    deep = {"op": "or", "rules": [{"op": "and", "rules": [{"op": "or", "rules": [both]}]}]}
    assert matching(deep) == world.ids("c")


def test_empty_groups(world) -> None:
    assert matching({"op": "and", "rules": []}) == world.ids(*"abcdef")
    assert matching({"op": "or", "rules": []}) == set()
    assert matching({"op": "and", "rules": [{"op": "or", "rules": []}]}) == set()


def test_one_query_whatever_the_number_of_rules(world) -> None:
    every_kind = [
        rule
        for rule, _ in RULES
        if rule["field"] not in ("stage",)  # stage slugs are checked against the table
    ]
    small = one(RULES[2][0])
    big = {"op": "or", "rules": [{"op": "and", "rules": every_kind[:24]}, *every_kind[24:48]]}
    counts = []
    for definition in (small, big):
        queryset = definition_customers(definition)  # validation may read stages/users
        with CaptureQueriesContext(connection) as queries:
            list(queryset)
        counts.append(len(queries))
    assert counts == [1, 1]


ERRORS: list[tuple[Any, dict[str, list[str]] | set[str]]] = [
    ({"op": "xor", "rules": []}, {"definition.op"}),
    ([], {"definition"}),
    ({"op": "and", "rules": {}}, {"definition.rules"}),
    (one({"field": "colour", "op": "eq", "value": 1}), {"definition.rules[0].field"}),
    (one({"field": "stage", "op": "eq", "value": ["awareness"]}), {"definition.rules[0].op"}),
    (one({"field": "stage", "op": "in", "value": ["nowhere"]}), {"definition.rules[0].value"}),
    (one({"field": "stage", "op": "in"}), {"definition.rules[0].value"}),
    (one({"field": "phase", "op": "in", "value": ["funnel"]}), {"definition.rules[0].value"}),
    (one({"field": "tags", "op": "has_any", "value": "vip"}), {"definition.rules[0].value"}),
    (one({"field": "attribute", "op": "eq", "value": 1}), {"definition.rules[0].key"}),
    (
        one({"field": "attribute", "key": "p", "op": "gt", "value": [1]}),
        {"definition.rules[0].value"},
    ),
    (one({"field": "owner", "op": "in", "value": [999999]}), {"definition.rules[0].value"}),
    (
        one({"field": "created_at", "op": "before", "value": "last tuesday"}),
        {"definition.rules[0].value"},
    ),
    (
        one({"field": "created_at", "op": "within_days", "value": -1}),
        {"definition.rules[0].value"},
    ),
    (
        one({"field": "survey_category", "op": "in", "value": ["fan"], "survey_kind": "x"}),
        {"definition.rules[0].value", "definition.rules[0].survey_kind"},
    ),
    (one({"field": "purchase_total", "op": "gte", "value": 10}), {"definition.rules[0].currency"}),
    (
        one({"field": "purchase_total", "op": "gte", "value": "lots", "currency": "EURO"}),
        {"definition.rules[0].value", "definition.rules[0].currency"},
    ),
    (one({"field": "purchase_count", "op": "gte", "value": True}), {"definition.rules[0].value"}),
    (one({"field": "email_consent", "op": "is", "value": "yes"}), {"definition.rules[0].value"}),
    (
        one({"field": "source", "op": "eq", "value": "web", "colour": 1}),
        {"definition.rules[0]"},
    ),
    (
        {
            "op": "and",
            "rules": [
                {"field": "source", "op": "eq", "value": "web"},
                {"op": "or", "rules": [{"field": "tags", "op": "has_any", "value": []}]},
                {"field": "referral_count", "op": "gte", "value": "two"},
            ],
        },
        {"definition.rules[1].rules[0].value", "definition.rules[2].value"},
    ),
]


@pytest.mark.parametrize(("definition", "paths"), ERRORS)
def test_validation_names_each_path(world, definition, paths) -> None:
    with pytest.raises(DefinitionInvalidError) as caught:
        definition_validate(definition)
    assert set(caught.value.errors) == paths
    assert all(caught.value.errors[path] for path in paths)


def test_depth_and_rule_limits(db) -> None:
    rule = {"field": "source", "op": "eq", "value": "web"}
    node: dict[str, Any] = {"op": "and", "rules": [rule]}
    for _ in range(MAX_DEPTH - 1):
        node = {"op": "and", "rules": [node]}
    definition_validate(node)  # exactly at the limit
    with pytest.raises(DefinitionInvalidError) as caught:
        definition_validate({"op": "and", "rules": [node]})
    assert any("nest" in m for ms in caught.value.errors.values() for m in ms)

    definition_validate({"op": "or", "rules": [rule] * MAX_RULES})
    with pytest.raises(DefinitionInvalidError) as caught:
        definition_validate({"op": "or", "rules": [rule] * (MAX_RULES + 1)})
    assert caught.value.errors == {
        f"definition.rules[{MAX_RULES}]": [f"A definition has at most {MAX_RULES} rules."]
    }


def test_attribute_keys_are_data_not_sql(world) -> None:
    nasty = "plan') OR 1=1 --\"$"
    for op, value in (("eq", "x"), ("exists", True), ("gt", 1), ("in", ["x"])):
        rule = {"field": "attribute", "key": nasty, "op": op, "value": value}
        assert matching(one(rule)) == set()
    assert Customer.objects.count() == 6
