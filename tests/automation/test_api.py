"""The automation API: rules (CRUD, pause, resume) and steps (list, filters, retry)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from automation.models import Rule, Step, StepState
from automation.services import steps_create_for_event

pytestmark = pytest.mark.django_db

RULE: dict[str, Any] = {
    "name": "Welcome buyers",
    "trigger_type": "stage_entered",
    "trigger_config": {"stage": "purchase"},
    "conditions": {"tags_none": ["churned"]},
    "delay_minutes": 10,
    "actions": [
        {"type": "add_tag", "params": {"tag": "buyer"}},
        {"type": "create_task", "params": {"title": "Say thanks", "due_in_hours": 24}},
    ],
}


@pytest.fixture
def marketer_api(api_as, marketer) -> Any:
    return api_as(marketer)


def trigger(customer, transition_id: int = 1) -> None:
    steps_create_for_event(
        event="customer.stage_changed",
        payload={
            "transition_id": transition_id,
            "customer_id": customer.pk,
            "to_stage": "purchase",
        },
    )


def test_a_marketer_creates_a_rule(marketer_api, marketer) -> None:
    response = marketer_api.post(reverse("api:automation-rule-list"), RULE)

    assert response.status_code == 201, response.data
    body = response.data
    assert body["name"] == "Welcome buyers"
    assert body["is_active"] is True
    assert body["trigger_summary"] == "Entered the stage purchase"
    assert body["customers_acted_on"] == 0
    # People are shown as {id, username, name}; inputs take the id.
    assert body["created_by"] == {"id": marketer.pk, "username": "marketer", "name": ""}
    assert body["actions"][1]["params"] == {
        "title": "Say thanks",
        "due_in_hours": 24,
        "assignee": None,
        "notes": "",
    }


def test_errors_name_the_path_at_fault(marketer_api) -> None:
    bad = {
        **RULE,
        "trigger_config": {"stage": "nowhere"},
        "actions": [RULE["actions"][0], {"type": "move_stage", "params": {"stage": "x"}}],
    }

    response = marketer_api.post(reverse("api:automation-rule-list"), bad)

    assert response.status_code == 400
    assert response.data == {
        "trigger_config.stage": ["Unknown stage 'nowhere'."],
        "actions[1].params.stage": ["Unknown stage 'x'."],
    }
    assert not Rule.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"trigger_type": "moon"}, "trigger_type"),
        ({"delay_minutes": -5}, "delay_minutes"),
        ({"actions": None}, "actions"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_top_level_fields_are_400_on_the_field(marketer_api, change, field) -> None:
    response = marketer_api.post(reverse("api:automation-rule-list"), {**RULE, **change})

    assert response.status_code == 400
    assert field in response.data


def test_a_rule_is_read_changed_and_paused(marketer_api, make_rule, customer_factory) -> None:
    rule = make_rule(delay_minutes=60)
    trigger(customer_factory(stage="purchase"))
    url = reverse("api:automation-rule-detail", kwargs={"pk": rule.pk})

    assert marketer_api.get(url).data["id"] == rule.pk
    changed = marketer_api.patch(url, {"name": "Renamed", "delay_minutes": 5})
    assert changed.status_code == 200, changed.data
    assert (changed.data["name"], changed.data["delay_minutes"]) == ("Renamed", 5)

    refused = marketer_api.patch(url, {"actions": [{"type": "move_stage", "params": {}}]})
    assert refused.status_code == 400
    assert "actions[0].params.stage" in refused.data

    paused = marketer_api.patch(url, {"is_active": False})
    assert paused.data["is_active"] is False
    assert Step.objects.get().state == StepState.CANCELLED


def test_pause_and_resume(marketer_api, make_rule) -> None:
    rule = make_rule()

    paused = marketer_api.post(reverse("api:automation-rule-pause", kwargs={"pk": rule.pk}))
    resumed = marketer_api.post(reverse("api:automation-rule-resume", kwargs={"pk": rule.pk}))

    assert (paused.status_code, paused.data["is_active"]) == (200, False)
    assert (resumed.status_code, resumed.data["is_active"]) == (200, True)


def test_only_a_rule_that_never_acted_can_be_deleted(
    marketer_api, make_rule, customer_factory
) -> None:
    unused, used = make_rule(name="Unused"), make_rule(name="Used")
    trigger(customer_factory(stage="purchase"))
    Step.objects.exclude(rule=used).delete()

    gone = marketer_api.delete(reverse("api:automation-rule-detail", kwargs={"pk": unused.pk}))
    kept = marketer_api.delete(reverse("api:automation-rule-detail", kwargs={"pk": used.pk}))

    assert gone.status_code == 204
    assert kept.status_code == 400
    assert "rule" in kept.data
    assert list(Rule.objects.values_list("name", flat=True)) == ["Used"]


def test_steps_are_listed_and_filtered(api_as, sales_rep, make_rule, customer_factory) -> None:
    first, second = make_rule(name="A"), make_rule(name="B", trigger_config={"stage": "advocacy"})
    ann, bob = customer_factory(stage="purchase"), customer_factory(stage="purchase")
    trigger(ann, 1)
    trigger(bob, 2)
    Step.objects.filter(customer=bob).update(state=StepState.FAILED, last_error="Boom")
    api = api_as(sales_rep)  # everyone sees steps
    url = reverse("api:automation-step-list")

    everything = api.get(url)
    by_customer = api.get(url, {"customer": ann.pk})
    failed = api.get(url, {"state": "failed", "rule": first.pk})
    other_rule = api.get(url, {"rule": second.pk})
    bad = api.get(url, {"state": "exploded"})

    assert everything.status_code == 200
    assert len(everything.data["results"]) == 2
    assert [s["customer"] for s in by_customer.data["results"]] == [ann.pk]
    [row] = failed.data["results"]
    assert (row["customer"], row["last_error"], row["rule_name"]) == (bob.pk, "Boom", "A")
    assert other_rule.data["results"] == []
    assert bad.status_code == 400
    assert "state" in bad.data
    detail = api.get(reverse("api:automation-step-detail", kwargs={"pk": row["id"]}))
    assert detail.data["action_summary"] == "Tag 'buyer'"


def test_retry_a_failed_step(marketer_api, make_rule, customer_factory) -> None:
    make_rule()
    trigger(customer_factory(stage="purchase"))
    step = Step.objects.get()
    url = reverse("api:automation-step-retry", kwargs={"pk": step.pk})

    not_failed = marketer_api.post(url)
    Step.objects.filter(pk=step.pk).update(state=StepState.FAILED, attempts=7, last_error="x")
    retried = marketer_api.post(url)

    assert not_failed.status_code == 400
    assert "state" in not_failed.data
    assert retried.status_code == 200
    assert (retried.data["state"], retried.data["attempts"]) == ("pending", 0)


def test_a_sales_rep_sees_rules_but_may_not_build_them(api_as, sales_rep, make_rule) -> None:
    rule = make_rule()
    api = api_as(sales_rep)

    listed = api.get(reverse("api:automation-rule-list"))
    created = api.post(reverse("api:automation-rule-list"), RULE)
    paused = api.post(reverse("api:automation-rule-pause", kwargs={"pk": rule.pk}))

    assert listed.status_code == 200
    assert [r["name"] for r in listed.data["results"]] == ["Rule"]
    assert (created.status_code, paused.status_code) == (403, 403)
    rule.refresh_from_db()
    assert rule.is_active
