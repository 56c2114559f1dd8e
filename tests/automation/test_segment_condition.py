"""The `segment` condition: a rule acts on the customers in a saved segment at that moment,
and a segment a rule uses cannot be deleted from under it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from automation.conditions import conditions_describe, conditions_hold, conditions_q
from automation.models import Rule, Step, StepState
from automation.services import RuleInvalidError, rule_update, steps_create_for_idle
from customers.models import Customer
from segments.models import Segment
from segments.services import (
    SegmentInUseError,
    segment_create,
    segment_delete,
    segment_members_add,
    segment_members_remove,
)
from stages.models import ActorKind
from stages.services import customer_move_stage

pytestmark = pytest.mark.django_db

VIP = {"op": "and", "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}]}


@pytest.fixture
def vips() -> Segment:
    return segment_create(name="VIPs", definition=VIP)


def move(emit: Any, customer: Customer, stages: dict, slug: str) -> None:
    emit(customer_move_stage, customer=customer, to_stage=stages[slug], actor_kind=ActorKind.USER)


def test_a_rule_acts_only_on_customers_in_the_segment(
    make_rule, vips, customer_factory, stages, emit
) -> None:
    rule = make_rule(conditions={"segment": vips.pk})
    vip, other = customer_factory(tags=["vip"]), customer_factory(tags=["newsletter"])

    move(emit, vip, stages, "purchase")
    move(emit, other, stages, "purchase")

    assert set(Step.objects.filter(rule=rule).values_list("customer_id", flat=True)) == {vip.pk}


def test_a_static_list_is_its_members_at_that_moment(make_rule, customer_factory) -> None:
    listed = segment_create(name="Pilot accounts", kind="static")
    ann, bob = customer_factory(), customer_factory()
    segment_members_add(segment=listed, customer_ids=[ann.pk])
    conditions = make_rule(conditions={"segment": listed.pk}).conditions

    assert conditions_hold(conditions=conditions, customer_id=ann.pk)
    assert not conditions_hold(conditions=conditions, customer_id=bob.pk)

    segment_members_remove(segment=listed, customer_ids=[ann.pk])
    segment_members_add(segment=listed, customer_ids=[bob.pk])

    assert not conditions_hold(conditions=conditions, customer_id=ann.pk)
    assert conditions_hold(conditions=conditions, customer_id=bob.pk)


def test_the_segment_is_anded_with_the_other_conditions_in_one_query(
    vips, customer_factory, django_assert_num_queries
) -> None:
    in_both = customer_factory(tags=["vip"], stage="purchase")
    customer_factory(tags=["vip"], stage="awareness")
    customer_factory(tags=[], stage="purchase")
    q = conditions_q({"segment": vips.pk, "stages": ["purchase"]})

    with django_assert_num_queries(1):
        matching = list(Customer.objects.filter(q).values_list("pk", flat=True))

    assert matching == [in_both.pk]


def test_a_customer_who_left_the_segment_before_the_action_is_due_is_skipped(
    make_rule, vips, customer_factory, stages, emit, run
) -> None:
    make_rule(conditions={"segment": vips.pk}, delay_minutes=60)
    customer = customer_factory(tags=["vip"])
    move(emit, customer, stages, "purchase")
    Customer.objects.filter(pk=customer.pk).update(tags=[])

    [step] = run(now=timezone.now() + timedelta(minutes=61))

    assert step.state == StepState.SKIPPED
    assert step.result["reason"] == "The conditions no longer hold (in segment “VIPs”)."


def test_the_idle_sweep_takes_the_segment_into_account(make_rule, vips, customer_factory):
    make_rule(
        trigger_type="stage_idle",
        trigger_config={"stage": "evaluation", "days": 3},
        conditions={"segment": vips.pk},
    )
    vip = customer_factory(tags=["vip"], stage="evaluation")
    customer_factory(stage="evaluation")
    Customer.objects.update(stage_entered_at=timezone.now() - timedelta(days=5))

    assert steps_create_for_idle() == 1
    assert list(Step.objects.values_list("customer_id", flat=True)) == [vip.pk]


@pytest.mark.parametrize(
    ("segment", "message"),
    [(999999, "There is no segment 999999."), ("vips", "Give a segment's id."), (True, None)],
)
def test_an_unknown_segment_is_refused_on_conditions_segment(make_rule, segment, message):
    with pytest.raises(RuleInvalidError) as caught:
        make_rule(conditions={"segment": segment})

    assert list(caught.value.errors) == ["conditions.segment"]
    if message:
        assert caught.value.errors["conditions.segment"] == [message]
    assert not Rule.objects.exists()


def test_the_conditions_in_words_name_the_segment(vips) -> None:
    assert conditions_describe({"segment": vips.pk, "phases": ["engage"]}) == (
        "phase is engage; in segment “VIPs”"
    )


def test_a_segment_a_rule_uses_cannot_be_deleted_until_the_rule_lets_go(make_rule, vips):
    rule = make_rule(name="Thank VIP buyers", conditions={"segment": vips.pk})
    make_rule(name="Paused one", conditions={"segment": vips.pk}, is_active=False)

    with pytest.raises(SegmentInUseError) as caught:
        segment_delete(segment=vips)

    assert caught.value.field == "segment"
    assert "“Thank VIP buyers”" in caught.value.message
    assert "“Paused one”" in caught.value.message
    assert Segment.objects.filter(pk=vips.pk).exists()

    rule_update(rule=rule, data={"conditions": {}})
    Rule.objects.filter(name="Paused one").delete()
    segment_delete(segment=vips)

    assert not Segment.objects.filter(pk=vips.pk).exists()


def test_a_segment_a_campaign_targets_cannot_be_deleted(vips) -> None:
    from campaigns.services import campaign_create

    campaign_create(
        name="Spring VIPs",
        segment=vips,
        variants=[{"name": "A", "split": 100, "subject": "Hi", "body_text": "Hello"}],
    )

    with pytest.raises(SegmentInUseError, match="campaigns: “Spring VIPs”"):
        segment_delete(segment=vips)
    assert Segment.objects.filter(pk=vips.pk).exists()


# --- the API -------------------------------------------------------------------------------

RULE: dict[str, Any] = {
    "name": "Thank VIP buyers",
    "trigger_type": "stage_entered",
    "trigger_config": {"stage": "purchase"},
    "actions": [{"type": "add_tag", "params": {"tag": "buyer"}}],
}


def test_the_api_takes_a_segment_condition(api_as, marketer, vips) -> None:
    api = api_as(marketer)

    response = api.post(
        reverse("api:automation-rule-list"), {**RULE, "conditions": {"segment": vips.pk}}, "json"
    )
    bad = api.post(
        reverse("api:automation-rule-list"), {**RULE, "conditions": {"segment": 999999}}, "json"
    )

    assert response.status_code == 201, response.data
    assert response.data["conditions"] == {"segment": vips.pk}
    assert bad.status_code == 400
    assert bad.data == {"conditions.segment": ["There is no segment 999999."]}
    assert Rule.objects.count() == 1


def test_deleting_a_used_segment_over_the_api_is_a_400_naming_the_rules(
    api_as, marketer, make_rule, vips
) -> None:
    make_rule(name="Thank VIP buyers", conditions={"segment": vips.pk})

    response = api_as(marketer).delete(reverse("api:segment-detail", args=[vips.pk]))

    assert response.status_code == 400
    assert list(response.data) == ["segment"]
    assert "“Thank VIP buyers”" in response.data["segment"][0]
    assert Segment.objects.filter(pk=vips.pk).exists()


# --- the dashboard -------------------------------------------------------------------------

FORM = {
    "name": "Thank VIP buyers",
    "is_active": "on",
    "trigger_type": "stage_entered",
    "trigger_stage": "purchase",
    "purchases": "any",
    "delay_minutes": "0",
    "actions": '[{"type": "add_tag", "params": {"tag": "buyer"}}]',
}


def test_the_rule_form_offers_the_segments(client, marketer, vips) -> None:
    static = segment_create(name="Pilot accounts", kind="static")
    client.force_login(marketer)

    page = client.get(reverse("automation:rule_create"))
    response = client.post(reverse("automation:rule_create"), {**FORM, "segment": str(vips.pk)})

    html = page.content.decode()
    assert f'<option value="{vips.pk}">VIPs</option>' in html
    assert f'<option value="{static.pk}">Pilot accounts (static list)</option>' in html
    assert response.status_code == 302
    rule = Rule.objects.get()
    assert rule.conditions == {"segment": vips.pk}
    edit = client.get(reverse("automation:rule_update", args=[rule.pk]))
    assert edit.context["form"].initial["segment"] == str(vips.pk)
    detail = client.get(reverse("automation:rule_detail", args=[rule.pk]))
    assert "in segment “VIPs”" in detail.content.decode()


def test_a_segment_deleted_meanwhile_is_a_form_error(client, marketer, vips) -> None:
    client.force_login(marketer)
    pk = vips.pk
    vips.delete()

    response = client.post(reverse("automation:rule_create"), {**FORM, "segment": str(pk)})

    assert response.status_code == 400
    assert "segment" in response.context["form"].errors
    assert not Rule.objects.exists()


def test_the_dashboard_refuses_to_delete_a_used_segment_and_says_why(
    client, marketer, make_rule, vips
) -> None:
    make_rule(name="Thank VIP buyers", conditions={"segment": vips.pk})
    client.force_login(marketer)

    detail = client.get(reverse("segments:detail", args=[vips.pk]))
    response = client.post(reverse("segments:delete", args=[vips.pk]), follow=True)

    assert "In use by automation rules: “Thank VIP buyers”." in detail.content.decode()

    assert response.redirect_chain == [(reverse("segments:detail", args=[vips.pk]), 302)]
    assert "is in use (automation rules: “Thank VIP buyers”)" in response.content.decode()
    assert Segment.objects.filter(pk=vips.pk).exists()
