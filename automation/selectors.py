"""Reads for automation: rules with how many customers each acted on, and steps."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from automation.models import Rule, Step, StepState


def rule_list(*, is_active: bool | None = None) -> QuerySet[Rule]:
    """Rules by name, each with `customers_acted_on`: distinct customers with a done step."""
    rules = Rule.objects.select_related("created_by").annotate(
        customers_acted_on=Count(
            "steps__customer", filter=Q(steps__state=StepState.DONE), distinct=True
        )
    )
    if is_active is not None:
        rules = rules.filter(is_active=is_active)
    return rules.order_by("name", "id")


def rule_customers_acted_on(*, rule: Rule) -> int:
    """How many customers the rule has acted on (a done step each)."""
    return (
        Step.objects.filter(rule=rule, state=StepState.DONE)
        .values("customer_id")
        .distinct()
        .count()
    )


def step_list(
    *,
    rule_id: int | None = None,
    customer_id: int | None = None,
    state: str | None = None,
) -> QuerySet[Step]:
    """Steps newest first, optionally of one rule, one customer, in one state."""
    steps = Step.objects.select_related("rule", "customer")
    if rule_id is not None:
        steps = steps.filter(rule_id=rule_id)
    if customer_id is not None:
        steps = steps.filter(customer_id=customer_id)
    if state:
        steps = steps.filter(state=state)
    return steps.order_by("-created_at", "-id")


def step_failed_list() -> QuerySet[Step]:
    """Failed steps, most recently failed first: what someone should look at."""
    return (
        Step.objects.select_related("rule", "customer")
        .filter(state=StepState.FAILED)
        .order_by("-finished_at", "-id")
    )


def step_counts_by_state(*, rule: Rule) -> dict[str, int]:
    """How many of the rule's steps are in each state."""
    counts = dict(
        Step.objects.filter(rule=rule)
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    return {state: counts.get(state, 0) for state in StepState.values}


def rules_using_template(*, template_id: int) -> QuerySet[Rule]:
    """Rules with a "send template" action for the template, or a step still waiting to send
    it (a step keeps the parameters it was created with, even after the rule changes)."""
    in_actions = Q(
        actions__contains=[{"type": "send_template", "params": {"template": template_id}}]
    )
    waiting = Q(
        pk__in=Step.objects.filter(
            action_type="send_template",
            params__template=template_id,
            state__in=[StepState.PENDING, StepState.RUNNING],
        ).values("rule_id")
    )
    return Rule.objects.filter(in_actions | waiting).order_by("name", "id")
