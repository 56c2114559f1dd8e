"""Every automation step shows on the customer's timeline, with its result or error."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string

from automation.models import StepState
from automation.services import steps_create_for_event
from customers.timeline import customer_timeline, timeline_kinds
from messaging.models import MessageTemplate

pytestmark = pytest.mark.django_db


def test_the_timeline_shows_each_step_with_its_result_or_error(make_rule, customer_factory, run):
    template = MessageTemplate.objects.create(name="Gone", body_text="b")
    make_rule(
        name="Welcome buyers",
        actions=[
            {"type": "add_tag", "params": {"tag": "buyer"}},
            {"type": "send_template", "params": {"template": template.pk}},
        ],
    )
    customer = customer_factory(stage="purchase")
    steps_create_for_event(
        event="customer.stage_changed",
        payload={"transition_id": 7, "customer_id": customer.pk, "to_stage": "purchase"},
    )
    template.delete()
    run()

    page = customer_timeline(customer_id=customer.pk, kinds=["automation_step"])

    assert "automation_step" in timeline_kinds()
    shown = {entry.record.action_type: entry.record for entry in page.entries}
    assert shown["add_tag"].state == StepState.DONE
    assert shown["add_tag"].summary == "Tagged 'buyer'"
    assert shown["send_template"].state == StepState.FAILED
    assert "no longer exists" in shown["send_template"].summary
    html = render_to_string("automation/_timeline_step.html", {"step": shown["send_template"]})
    assert "Welcome buyers" in html
    assert "Failed" in html
    assert "no longer exists" in html


def test_the_timeline_merges_steps_with_the_other_records(make_rule, customer_factory, run):
    make_rule()
    customer = customer_factory(stage="purchase")
    steps_create_for_event(
        event="customer.stage_changed",
        payload={"transition_id": 7, "customer_id": customer.pk, "to_stage": "purchase"},
    )
    run()

    kinds = [entry.kind for entry in customer_timeline(customer_id=customer.pk).entries]

    assert kinds[0] == "automation_step"
    assert "transition" in kinds
