"""A rule's "call a webhook" action is held to the rules of webhook subscriptions.

Only those who may subscribe webhooks (admins) may save a rule that calls one, through the
API or the dashboard, on creation and on every change; the target URL passes the same address
guard when the rule is saved, and again when the action runs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from automation.models import Rule, StepState
from automation.services import steps_create_for_event
from webhooks import guard
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

PUBLIC_URL = "https://hooks.example.net/flywheel"
METADATA_URL = "http://169.254.169.254/latest/meta-data/"


def webhook_action(url: str = PUBLIC_URL) -> dict[str, Any]:
    return {"type": "call_webhook", "params": {"url": url, "payload": {"list": "vip"}}}


def rule_body(*actions: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "Tell the shop",
        "trigger_type": "stage_entered",
        "trigger_config": {"stage": "purchase"},
        "actions": list(actions),
    }


def form_body(*actions: dict[str, Any]) -> dict[str, str]:
    return {
        "name": "Tell the shop",
        "is_active": "on",
        "trigger_type": "stage_entered",
        "trigger_stage": "purchase",
        "purchases": "any",
        "delay_minutes": "0",
        "actions": json.dumps(list(actions)),
    }


@pytest.fixture(autouse=True)
def public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """hooks.example.net resolves to a public address (no DNS lookups from the tests);
    literal addresses resolve to themselves, as the resolver does."""
    real = guard.host_resolve

    def resolve(host: str, port: int) -> list[str]:
        return ["93.184.215.14"] if host == "hooks.example.net" else real(host, port)

    monkeypatch.setattr(guard, "host_resolve", resolve)


# --- who may ---------------------------------------------------------------------------------


def test_a_marketer_may_not_create_a_rule_that_calls_a_webhook_over_the_api(
    api_as, marketer
) -> None:
    response = api_as(marketer).post(
        reverse("api:automation-rule-list"), rule_body(webhook_action()), format="json"
    )

    assert response.status_code == 403, response.data
    assert "actions[0]" in response.data["detail"]
    assert not Rule.objects.exists()


def test_an_admin_creates_a_rule_that_calls_a_public_webhook(api_as, admin_user) -> None:
    response = api_as(admin_user).post(
        reverse("api:automation-rule-list"), rule_body(webhook_action()), format="json"
    )

    assert response.status_code == 201, response.data
    assert response.data["actions"][0]["params"]["url"] == PUBLIC_URL


def test_a_marketer_may_not_add_a_webhook_call_to_a_rule(api_as, marketer, make_rule) -> None:
    rule = make_rule(actions=[{"type": "add_tag", "params": {"tag": "buyer"}}])
    actions = [{"type": "add_tag", "params": {"tag": "buyer"}}, webhook_action()]

    response = api_as(marketer).patch(
        reverse("api:automation-rule-detail", args=[rule.pk]), {"actions": actions}, format="json"
    )

    assert response.status_code == 403, response.data
    assert "actions[1]" in response.data["detail"]
    rule.refresh_from_db()
    assert [action["type"] for action in rule.actions] == ["add_tag"]


def test_a_marketer_may_not_retarget_an_admins_webhook_rule(
    api_as, marketer, admin_user, make_rule
) -> None:
    """Changing the trigger changes whose data the webhook receives."""
    rule = make_rule(actions=[webhook_action()], created_by=admin_user)

    response = api_as(marketer).patch(
        reverse("api:automation-rule-detail", args=[rule.pk]),
        {"trigger_config": {"stage": "awareness"}},
        format="json",
    )

    assert response.status_code == 403, response.data
    rule.refresh_from_db()
    assert rule.trigger_config == {"stage": "purchase"}


def test_other_actions_stay_a_marketers_to_build(api_as, marketer) -> None:
    body = rule_body(
        {"type": "add_tag", "params": {"tag": "buyer"}},
        {"type": "create_task", "params": {"title": "Say thanks"}},
        {"type": "move_stage", "params": {"stage": "purchase"}},
    )

    response = api_as(marketer).post(reverse("api:automation-rule-list"), body, format="json")

    assert response.status_code == 201, response.data


def test_the_dashboard_refuses_a_marketers_webhook_rule_on_the_actions_field(
    client, marketer
) -> None:
    client.force_login(marketer)

    response = client.post(reverse("automation:rule_create"), form_body(webhook_action()))

    assert response.status_code == 403
    assert response.context["form"].errors["actions"] == [
        "Action 1: Only those who may manage webhooks (admins) may make a rule call one."
    ]
    assert not Rule.objects.exists()


def test_the_dashboard_refuses_a_marketers_edit_of_a_webhook_rule(
    client, marketer, admin_user, make_rule
) -> None:
    rule = make_rule(actions=[webhook_action()], created_by=admin_user)
    client.force_login(marketer)

    response = client.post(
        reverse("automation:rule_update", args=[rule.pk]),
        {**form_body(webhook_action()), "name": "Renamed"},
    )

    assert response.status_code == 403
    assert "actions" in response.context["form"].errors
    rule.refresh_from_db()
    assert rule.name == "Rule"


def test_the_dashboard_lets_an_admin_save_a_webhook_rule(client, admin_user) -> None:
    client.force_login(admin_user)

    response = client.post(reverse("automation:rule_create"), form_body(webhook_action()))

    assert response.status_code == 302
    assert Rule.objects.get().actions[0]["params"]["url"] == PUBLIC_URL


# --- where to ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        METADATA_URL,
        "http://127.0.0.1:8000/admin/",
        "http://10.0.0.5:5432/",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_an_admins_rule_may_not_call_a_private_address(api_as, admin_user, url) -> None:
    response = api_as(admin_user).post(
        reverse("api:automation-rule-list"), rule_body(webhook_action(url)), format="json"
    )

    assert response.status_code == 400
    assert response.data == {"actions[0].params.url": [guard.PRIVATE_REFUSED]}
    assert not Rule.objects.exists()


def test_the_guard_runs_when_an_admin_changes_the_url(api_as, admin_user, make_rule) -> None:
    rule = make_rule(actions=[webhook_action()], created_by=admin_user)

    response = api_as(admin_user).patch(
        reverse("api:automation-rule-detail", args=[rule.pk]),
        {"actions": [webhook_action(METADATA_URL)]},
        format="json",
    )

    assert response.status_code == 400
    assert response.data == {"actions[0].params.url": [guard.PRIVATE_REFUSED]}
    rule.refresh_from_db()
    assert rule.actions[0]["params"]["url"] == PUBLIC_URL


def test_the_dashboard_shows_the_refused_address_on_the_actions_field(client, admin_user):
    client.force_login(admin_user)

    response = client.post(
        reverse("automation:rule_create"), form_body(webhook_action(METADATA_URL))
    )

    assert response.status_code == 400
    assert response.context["form"].errors["actions"] == [f"Action 1, url: {guard.PRIVATE_REFUSED}"]


def test_private_targets_are_allowed_where_the_setting_allows_them(
    api_as, admin_user, settings
) -> None:
    settings.FLYWHEEL_WEBHOOKS_ALLOW_PRIVATE_TARGETS = True

    response = api_as(admin_user).post(
        reverse("api:automation-rule-list"),
        rule_body(webhook_action("http://127.0.0.1:9/hook")),
        format="json",
    )

    assert response.status_code == 201, response.data


def test_a_saved_rule_whose_target_turned_private_fails_its_step_with_the_reason(
    make_rule, customer_factory, run, monkeypatch
) -> None:
    """The host resolved to a public address when the rule was saved and to the metadata
    service when the action runs (DNS rebinding, or a rule saved before the guard)."""
    make_rule(actions=[webhook_action()])
    customer = customer_factory(stage="purchase")
    monkeypatch.setattr(guard, "host_resolve", lambda host, port: ["169.254.169.254"])

    steps_create_for_event(
        event="customer.stage_changed",
        payload={"transition_id": 1, "customer_id": customer.pk, "to_stage": "purchase"},
    )
    [step] = run()

    assert step.state == StepState.FAILED
    assert step.last_error == guard.PRIVATE_REFUSED
    assert not Delivery.objects.exists()
