"""The automation pages: rules list, the rule form, a rule's steps, failed steps, retry."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.roles import ROLES
from automation.models import Rule, Step, StepState
from automation.services import steps_create_for_event

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Thank buyers",
    "is_active": "on",
    "trigger_type": "stage_entered",
    "trigger_stage": "purchase",
    "purchases": "any",
    "tags_none": "churned, Unsubscribed",
    "delay_minutes": "0",
    "actions": '[{"type": "create_task", "params": {"title": "Say thanks"}}]',
}


def trigger(customer, transition_id: int = 1) -> None:
    steps_create_for_event(
        event="customer.stage_changed",
        payload={
            "transition_id": transition_id,
            "customer_id": customer.pk,
            "to_stage": "purchase",
        },
    )


def test_everyone_sees_the_rules_and_how_many_customers_each_acted_on(
    client, role_users, make_rule, customer_factory, run
) -> None:
    rule = make_rule(name="Tag <buyers>")
    trigger(customer_factory(stage="purchase"))
    run()
    for role in ROLES:
        client.force_login(role_users[role])

        page = client.get(reverse("automation:rules"))
        detail = client.get(reverse("automation:rule_detail", args=[rule.pk]))

        assert page.status_code == detail.status_code == 200
        assert b"Tag &lt;buyers&gt;" in page.content
        assert b'data-label="Customers acted on">1<' in page.content
        assert b"Tagged &#x27;buyer&#x27;" in detail.content
        manages = role in ("Admin", "Marketer")
        assert (b">Pause<" in page.content) == manages
        assert (b"New rule" in page.content) == manages


def test_a_user_without_a_role_may_not(client, make_user) -> None:
    client.force_login(make_user(None, username="nobody"))

    assert client.get(reverse("automation:rules")).status_code == 403


def test_a_marketer_builds_a_rule(client, marketer) -> None:
    client.force_login(marketer)
    assert client.get(reverse("automation:rule_create")).status_code == 200

    response = client.post(reverse("automation:rule_create"), FORM)

    rule = Rule.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("automation:rule_detail", args=[rule.pk])
    assert rule.trigger_config == {"stage": "purchase"}
    assert rule.conditions == {"tags_none": ["churned", "unsubscribed"]}
    assert rule.actions[0]["params"]["title"] == "Say thanks"
    assert rule.created_by == marketer


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"trigger_stage": ""}, "trigger_stage", "Choose a stage."),
        (
            {"actions": '[{"type": "move_stage", "params": {"stage": "x"}}]'},
            "actions",
            "Action 1, stage: Unknown stage &#x27;x&#x27;.",
        ),
        ({"actions": "[{"}, "actions", "This is not valid JSON"),
        ({"trigger_type": "stage_idle"}, "idle_days", "Give a whole number from 1 to 3650."),
        ({"attributes": "[1]"}, "attributes", "Give a JSON object"),
    ],
)
def test_errors_show_on_the_field_that_holds_them(client, marketer, change, field, message):
    client.force_login(marketer)

    response = client.post(reverse("automation:rule_create"), {**FORM, **change})

    assert response.status_code == 400
    assert message.encode() in response.content
    assert field in response.context["form"].errors, response.context["form"].errors
    assert not Rule.objects.exists()


def test_a_marketer_edits_and_pauses_a_rule(client, marketer, make_rule) -> None:
    rule = make_rule(conditions={"attributes": {"plan": "pro"}, "owner": "any"})
    client.force_login(marketer)

    form = client.get(reverse("automation:rule_update", args=[rule.pk]))
    assert form.status_code == 200
    assert form.context["form"].initial["attributes"] == '{"plan": "pro"}'
    saved = client.post(
        reverse("automation:rule_update", args=[rule.pk]), {**FORM, "name": "Renamed"}
    )
    paused = client.post(reverse("automation:rule_pause", args=[rule.pk]))

    assert saved.status_code == paused.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.is_active) == ("Renamed", False)
    client.post(reverse("automation:rule_resume", args=[rule.pk]))
    rule.refresh_from_db()
    assert rule.is_active


def test_a_sales_rep_may_not_change_rules(client, sales_rep, make_rule) -> None:
    rule = make_rule()
    client.force_login(sales_rep)

    assert client.get(reverse("automation:rule_create")).status_code == 403
    assert client.post(reverse("automation:rule_pause", args=[rule.pk])).status_code == 403
    assert client.post(reverse("automation:rule_create"), FORM).status_code == 403
    rule.refresh_from_db()
    assert rule.is_active


def test_failed_steps_show_their_error_and_retry(
    client, marketer, support, make_rule, customer_factory, published
) -> None:
    make_rule(name="Tagger")
    trigger(customer_factory(stage="purchase"))
    step = Step.objects.get()
    Step.objects.filter(pk=step.pk).update(state=StepState.FAILED, last_error="SMTP <down>")

    client.force_login(support)
    seen = client.get(reverse("automation:failed_steps"))
    assert b"SMTP &lt;down&gt;" in seen.content
    assert b"step_retry" not in seen.content
    assert b"/retry/" not in seen.content
    assert client.post(reverse("automation:step_retry", args=[step.pk])).status_code == 403

    client.force_login(marketer)
    page = client.get(reverse("automation:failed_steps"))
    assert f"/automation/steps/{step.pk}/retry/".encode() in page.content
    response = client.post(reverse("automation:step_retry", args=[step.pk]))

    assert response.status_code == 302
    step.refresh_from_db()
    assert step.state == StepState.PENDING


def test_a_rule_that_never_acted_can_be_deleted(client, marketer, make_rule) -> None:
    rule = make_rule()
    client.force_login(marketer)

    assert (
        b"Delete this rule" in client.get(reverse("automation:rule_detail", args=[rule.pk])).content
    )
    response = client.post(reverse("automation:rule_delete", args=[rule.pk]))

    assert response.status_code == 302
    assert not Rule.objects.exists()
