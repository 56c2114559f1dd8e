"""Who may do what through the API: every role against every operation.

The expected status comes from the table of docs/permissions.md (tests/permissions_doc.py),
not from the code's matrix: each operation names the permission it needs, and a role the
page grants that permission to gets the operation's 2xx, any other role a 403 that leaves
the data as it was. A wrong grant in `accounts.roles`, or an endpoint that checks the wrong
permission, fails them.

Interactions and tasks also have row rules: the operations above act on the caller's own
records; the same changes to another user's records need the matrix's "any" permission too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.roles import SALES_REP
from customers.models import Customer
from flywheel_crm import api_urls
from interactions.models import Interaction, Purchase, Task
from interactions.services import interaction_log, task_create
from stages.models import Stage, StageTransition
from surveys.models import Survey, SurveyBatch
from tests.factories import StageFactory
from tests.permissions_doc import DOCUMENTED_ROLES as ROLES
from tests.permissions_doc import documented_may
from webhooks.models import Delivery, Subscription

pytestmark = pytest.mark.django_db

PUBLIC_ROUTES = {"auth-token"}
# Every signed-in user manages their own API tokens, whatever their role: no permission of the
# matrix applies (tests/accounts/test_api_tokens.py covers them, and that nobody reaches
# another user's tokens).
OWN_TOKEN_ROUTES = {"auth-token-list", "auth-token-detail", "auth-logout", "auth-logout-all"}
_emails = count()


@dataclass(frozen=True)
class World:
    """What the operations act on: a customer in awareness and a stage nobody uses; the
    acting user's own interaction, open support case and task; a purchase; and another
    user's interaction, support case and task (for the row rules)."""

    customer: Customer
    spare: Stage
    interaction: Interaction
    case: Interaction
    task: Task
    purchase: Purchase
    their_interaction: Interaction
    their_case: Interaction
    their_task: Task


@dataclass(frozen=True)
class Operation:
    route: str
    method: str
    permission: str
    success: int
    kwargs: Callable[[World], dict[str, Any]] = field(default=lambda world: {})
    body: Callable[[World], Any] = field(default=lambda world: None)

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}"

    def call(self, client: APIClient, world: World) -> Any:
        url = reverse(f"api:{self.route}", kwargs=self.kwargs(world))
        return getattr(client, self.method.lower())(url, self.body(world))


def customer_id(world: World) -> dict[str, Any]:
    return {"pk": world.customer.pk}


def spare_slug(world: World) -> dict[str, Any]:
    return {"slug": world.spare.slug}


def new_customer(world: World) -> dict[str, Any]:
    return {"email": f"new{next(_emails)}@example.com"}


def reversed_stages(world: World) -> dict[str, Any]:
    return {"slugs": list(Stage.objects.order_by("-position").values_list("slug", flat=True))}


def pk_of(name: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"pk": getattr(world, name).pk}


def new_interaction(world: World) -> dict[str, Any]:
    return {"customer": world.customer.pk, "kind": "call", "summary": "Called"}


def new_task(world: World) -> dict[str, Any]:
    due = timezone.now() + timedelta(days=1)
    return {"customer": world.customer.pk, "title": "Call back", "due_at": due.isoformat()}


def new_purchase(world: World) -> dict[str, Any]:
    return {"customer": world.customer.pk, "amount": "10.00", "currency": "EUR"}


def edit(field_name: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {field_name: "Edited"}


def close_case(world: World) -> dict[str, Any]:
    return {"outcome": "resolved"}


WEBHOOK_URL = "https://93.184.216.34/hook"  # a public address: no DNS, passes the guard


def webhook_subscription(world: World) -> dict[str, Any]:
    """A subscription made for the operation (webhooks are not part of the world)."""
    subscription = Subscription.objects.create(
        name="Hook", url=WEBHOOK_URL, events=["customer.created"]
    )
    return {"pk": subscription.pk}


def failed_webhook_delivery(world: World) -> dict[str, Any]:
    subscription = Subscription.objects.get(pk=webhook_subscription(world)["pk"])
    delivery = Delivery.objects.create(
        subscription=subscription,
        event="customer.created",
        idempotency_key=f"customer.created:{world.customer.pk}",
        state="failed",
    )
    return {"pk": delivery.pk}


def new_webhook_subscription(world: World) -> dict[str, Any]:
    return {"name": "Hook", "url": WEBHOOK_URL, "events": ["customer.created"]}


OPERATIONS = [
    Operation("customer-list", "GET", "customers.view_customer", 200),
    Operation("customer-detail", "GET", "customers.view_customer", 200, customer_id),
    Operation("customer-list", "POST", "customers.add_customer", 201, body=new_customer),
    Operation(
        "customer-detail",
        "PATCH",
        "customers.change_customer",
        200,
        customer_id,
        lambda world: {"company": "Changed"},
    ),
    Operation(
        "customer-detail",
        "PUT",
        "customers.change_customer",
        200,
        customer_id,
        lambda world: {"email": world.customer.email, "company": "Replaced"},
    ),
    Operation("customer-detail", "DELETE", "customers.delete_customer", 204, customer_id),
    Operation(
        "customer-transitions",
        "POST",
        "customers.move_customer",
        201,
        customer_id,
        lambda world: {"to_stage": "evaluation"},
    ),
    Operation("customer-transitions", "GET", "stages.view_stagetransition", 200, customer_id),
    Operation("stage-list", "GET", "stages.view_stage", 200),
    Operation("stage-detail", "GET", "stages.view_stage", 200, spare_slug),
    Operation(
        "stage-list",
        "POST",
        "stages.manage_stage",
        201,
        body=lambda world: {"slug": "onboarding", "name": "Onboarding", "phase": "delight"},
    ),
    Operation(
        "stage-detail",
        "PATCH",
        "stages.manage_stage",
        200,
        spare_slug,
        lambda world: {"name": "Renamed", "is_archived": True},
    ),
    Operation("stage-reorder", "POST", "stages.manage_stage", 200, body=reversed_stages),
    Operation("stage-detail", "DELETE", "stages.manage_stage", 204, spare_slug),
    Operation("customer-timeline", "GET", "customers.view_customer", 200, customer_id),
    Operation("interaction-list", "GET", "interactions.view_interaction", 200),
    Operation(
        "interaction-list", "POST", "interactions.add_interaction", 201, body=new_interaction
    ),
    Operation(
        "interaction-detail", "GET", "interactions.view_interaction", 200, pk_of("interaction")
    ),
    Operation(
        "interaction-detail",
        "PATCH",
        "interactions.change_interaction",
        200,
        pk_of("interaction"),
        edit("summary"),
    ),
    Operation(
        "interaction-detail",
        "DELETE",
        "interactions.delete_interaction",
        204,
        pk_of("interaction"),
    ),
    Operation(
        "interaction-close",
        "POST",
        "interactions.change_interaction",
        200,
        pk_of("case"),
        close_case,
    ),
    Operation(
        "interaction-batch",
        "POST",
        "interactions.add_interaction",
        200,
        body=lambda world: {"items": [new_interaction(world)]},
    ),
    Operation("task-list", "GET", "interactions.view_task", 200),
    Operation("task-list", "POST", "interactions.add_task", 201, body=new_task),
    Operation("task-detail", "GET", "interactions.view_task", 200, pk_of("task")),
    Operation(
        "task-detail", "PATCH", "interactions.change_task", 200, pk_of("task"), edit("title")
    ),
    Operation("task-complete", "POST", "interactions.change_task", 200, pk_of("task")),
    Operation("task-cancel", "POST", "interactions.change_task", 200, pk_of("task")),
    Operation("purchase-list", "GET", "interactions.view_purchase", 200),
    Operation("purchase-list", "POST", "interactions.add_purchase", 201, body=new_purchase),
    Operation("purchase-detail", "GET", "interactions.view_purchase", 200, pk_of("purchase")),
    Operation("purchase-detail", "DELETE", "interactions.delete_purchase", 204, pk_of("purchase")),
    Operation(
        "purchase-batch",
        "POST",
        "interactions.add_purchase",
        200,
        body=lambda world: {"items": [new_purchase(world)]},
    ),
    Operation("webhook-subscription-list", "GET", "webhooks.view_subscription", 200),
    Operation(
        "webhook-subscription-list",
        "POST",
        "webhooks.add_subscription",
        201,
        body=new_webhook_subscription,
    ),
    Operation(
        "webhook-subscription-detail",
        "GET",
        "webhooks.view_subscription",
        200,
        webhook_subscription,
    ),
    Operation(
        "webhook-subscription-detail",
        "PATCH",
        "webhooks.change_subscription",
        200,
        webhook_subscription,
        lambda world: {"is_active": False},
    ),
    Operation(
        "webhook-subscription-detail",
        "DELETE",
        "webhooks.delete_subscription",
        204,
        webhook_subscription,
    ),
    Operation("webhook-delivery-list", "GET", "webhooks.view_delivery", 200),
    Operation(
        "webhook-delivery-detail", "GET", "webhooks.view_delivery", 200, failed_webhook_delivery
    ),
    Operation(
        "webhook-delivery-retry", "POST", "webhooks.change_delivery", 200, failed_webhook_delivery
    ),
]


# --- surveys: operations below ---
def survey_pk(world: World) -> dict[str, Any]:
    survey, _ = Survey.objects.get_or_create(
        name="Permissions NPS", defaults={"kind": "nps", "question": "Would you recommend us?"}
    )
    return {"pk": survey.pk}


def survey_batch_pk(world: World) -> dict[str, Any]:
    batch, _ = SurveyBatch.objects.get_or_create(survey_id=survey_pk(world)["pk"])
    return {"pk": batch.pk}


OPERATIONS += [
    Operation("survey-list", "GET", "surveys.view_survey", 200),
    Operation(
        "survey-invitations",
        "POST",
        "surveys.add_invitation",
        201,
        survey_pk,
        lambda world: {"customer": world.customer.pk},
    ),
    Operation(
        "survey-batches",
        "POST",
        "surveys.add_surveybatch",
        202,
        survey_pk,
        lambda world: {"filters": {"q": "nobody-matches-this"}},
    ),
    Operation("survey-batch-detail", "GET", "surveys.view_surveybatch", 200, survey_batch_pk),
    Operation("survey-invitation-list", "GET", "surveys.view_invitation", 200),
    Operation("survey-response-list", "GET", "surveys.view_response", 200),
]
# --- surveys: operations above ---


# --- automation: operations below ---
def automation_rule(world: World) -> dict[str, Any]:
    """A rule made for the operation (automation is not part of the world)."""
    from automation.services import rule_create

    rule = rule_create(name="Tag buyers", trigger_type="stage_entered", **NEW_RULE_PARTS)
    return {"pk": rule.pk}


def failed_automation_step(world: World) -> dict[str, Any]:
    from automation.models import Step

    rule_id = automation_rule(world)["pk"]
    step = Step.objects.create(
        rule_id=rule_id,
        customer=world.customer,
        action_index=0,
        action_type="add_tag",
        params={"tag": "buyer"},
        event_key="transition:0",
        idempotency_key=f"permissions:{rule_id}",
        due_at=timezone.now(),
        state="failed",
        last_error="Boom",
    )
    return {"pk": step.pk}


NEW_RULE_PARTS: dict[str, Any] = {
    "trigger_config": {"stage": "purchase"},
    "actions": [{"type": "add_tag", "params": {"tag": "buyer"}}],
}


OPERATIONS += [
    Operation("automation-rule-list", "GET", "automation.view_rule", 200),
    Operation(
        "automation-rule-list",
        "POST",
        "automation.add_rule",
        201,
        body=lambda world: {"name": "New", "trigger_type": "stage_entered", **NEW_RULE_PARTS},
    ),
    Operation("automation-rule-detail", "GET", "automation.view_rule", 200, automation_rule),
    Operation(
        "automation-rule-detail",
        "PATCH",
        "automation.change_rule",
        200,
        automation_rule,
        edit("name"),
    ),
    Operation("automation-rule-detail", "DELETE", "automation.delete_rule", 204, automation_rule),
    Operation("automation-rule-pause", "POST", "automation.change_rule", 200, automation_rule),
    Operation("automation-rule-resume", "POST", "automation.change_rule", 200, automation_rule),
    Operation("automation-step-list", "GET", "automation.view_step", 200),
    Operation("automation-step-detail", "GET", "automation.view_step", 200, failed_automation_step),
    Operation(
        "automation-step-retry", "POST", "automation.change_step", 200, failed_automation_step
    ),
]
# --- automation: operations above ---


# --- consent and lead forms: operations below ---
def suppression_pk(world: World) -> dict[str, Any]:
    from consent.models import Suppression

    entry, _ = Suppression.objects.get_or_create(
        channel="email", address="gone@example.com", defaults={"reason": "manual"}
    )
    return {"pk": entry.pk}


def leadform_slug(world: World) -> dict[str, Any]:
    from leadforms.models import LeadForm

    form, _ = LeadForm.objects.get_or_create(slug="permissions-form", defaults={"name": "Form"})
    return {"slug": form.slug}


OPERATIONS += [
    Operation(
        "customer-consent",
        "GET",
        "consent.view_consentevent",
        200,
        customer_id,
    ),
    Operation(
        "customer-consent",
        "POST",
        "consent.add_consentevent",
        201,
        customer_id,
        lambda world: {"channel": "email", "granted": True},
    ),
    Operation("suppression-list", "GET", "consent.view_suppression", 200),
    Operation(
        "suppression-list",
        "POST",
        "consent.add_suppression",
        201,
        body=lambda world: {"channel": "email", "address": "New@Example.com"},
    ),
    Operation("suppression-detail", "GET", "consent.view_suppression", 200, suppression_pk),
    Operation("suppression-detail", "DELETE", "consent.delete_suppression", 204, suppression_pk),
    Operation("leadform-list", "GET", "leadforms.view_leadform", 200),
    Operation(
        "leadform-list",
        "POST",
        "leadforms.add_leadform",
        201,
        body=lambda world: {"name": "Newsletter", "slug": "newsletter"},
    ),
    Operation("leadform-detail", "GET", "leadforms.view_leadform", 200, leadform_slug),
    Operation(
        "leadform-detail",
        "PATCH",
        "leadforms.change_leadform",
        200,
        leadform_slug,
        edit("name"),
    ),
    Operation("leadform-detail", "DELETE", "leadforms.delete_leadform", 204, leadform_slug),
    Operation("leadform-submissions", "GET", "leadforms.view_submission", 200, leadform_slug),
    Operation("leadform-stats", "GET", "leadforms.view_submission", 200, leadform_slug),
    Operation(
        "leadform-submissions",
        "POST",
        "leadforms.add_submission",
        201,
        leadform_slug,
        lambda world: {"data": {"email": world.customer.email}},
    ),
]
# --- consent and lead forms: operations above ---


# --- segments: operations below ---
def segment_pk(world: World) -> dict[str, Any]:
    """A dynamic segment made for the operation (segments are not part of the world)."""
    from segments.models import Segment

    segment, _ = Segment.objects.get_or_create(
        name="Permissions VIPs",
        defaults={"kind": "dynamic", "definition": SEGMENT_DEFINITION},
    )
    return {"pk": segment.pk}


def static_list_pk(world: World) -> dict[str, Any]:
    from segments.models import Segment

    segment, _ = Segment.objects.get_or_create(name="Permissions list", defaults={"kind": "static"})
    return {"pk": segment.pk}


SEGMENT_DEFINITION: dict[str, Any] = {
    "op": "and",
    "rules": [{"field": "tags", "op": "has_any", "value": ["vip"]}],
}


OPERATIONS += [
    Operation("segment-list", "GET", "segments.view_segment", 200),
    Operation(
        "segment-list",
        "POST",
        "segments.add_segment",
        201,
        body=lambda world: {"name": "New segment", "definition": SEGMENT_DEFINITION},
    ),
    Operation(
        "segment-preview",
        "POST",
        "segments.view_segment",
        200,
        body=lambda world: {"definition": SEGMENT_DEFINITION},
    ),
    Operation("segment-detail", "GET", "segments.view_segment", 200, segment_pk),
    Operation("segment-detail", "PATCH", "segments.change_segment", 200, segment_pk, edit("name")),
    Operation("segment-detail", "DELETE", "segments.delete_segment", 204, segment_pk),
    Operation("segment-customers", "GET", "segments.view_segment", 200, segment_pk),
    Operation("segment-count", "GET", "segments.view_segment", 200, segment_pk),
    Operation("segment-export", "GET", "segments.export_segment", 200, segment_pk),
    Operation(
        "segment-members-add",
        "POST",
        "segments.change_segment",
        200,
        static_list_pk,
        lambda world: {"customer_ids": [world.customer.pk]},
    ),
    Operation(
        "segment-members-remove",
        "POST",
        "segments.change_segment",
        200,
        static_list_pk,
        lambda world: {"customer_ids": [world.customer.pk]},
    ),
    Operation(
        "segment-freeze",
        "POST",
        "segments.add_segment",
        201,
        segment_pk,
        lambda world: {"name": "Frozen VIPs"},
    ),
]
# --- segments: operations above ---


# --- campaigns: operations below ---
def draft_campaign(world: World) -> dict[str, Any]:
    """A draft made for the operation (campaigns are not part of the world)."""
    from campaigns.services import campaign_create

    campaign = campaign_create(
        name="Permissions",
        customer_ids=[world.customer.pk],
        variants=[{"name": "A", "split": 100, "subject": "Hi", "body_text": "Hello"}],
    )
    return {"pk": campaign.pk}


def sending_campaign(world: World) -> dict[str, Any]:
    from campaigns.models import Campaign

    kwargs = draft_campaign(world)
    Campaign.objects.filter(pk=kwargs["pk"]).update(state="sending", started_at=timezone.now())
    return kwargs


def paused_campaign(world: World) -> dict[str, Any]:
    from campaigns.models import Campaign

    kwargs = sending_campaign(world)
    Campaign.objects.filter(pk=kwargs["pk"]).update(state="paused")
    return kwargs


def new_campaign(world: World) -> dict[str, Any]:
    return {
        "name": "New",
        "customer_ids": [world.customer.pk],
        "variants": [{"name": "A", "split": 100, "subject": "Hi", "body_text": "Hello"}],
    }


OPERATIONS += [
    Operation("campaign-list", "GET", "campaigns.view_campaign", 200),
    Operation("campaign-list", "POST", "campaigns.add_campaign", 201, body=new_campaign),
    Operation("campaign-detail", "GET", "campaigns.view_campaign", 200, draft_campaign),
    Operation(
        "campaign-detail", "PATCH", "campaigns.change_campaign", 200, draft_campaign, edit("name")
    ),
    Operation("campaign-detail", "DELETE", "campaigns.delete_campaign", 204, draft_campaign),
    Operation(
        "campaign-schedule",
        "POST",
        "campaigns.send_campaign",
        200,
        draft_campaign,
        lambda world: {"scheduled_at": (timezone.now() + timedelta(days=1)).isoformat()},
    ),
    Operation("campaign-send-now", "POST", "campaigns.send_campaign", 200, draft_campaign),
    Operation("campaign-pause", "POST", "campaigns.send_campaign", 200, sending_campaign),
    Operation("campaign-resume", "POST", "campaigns.send_campaign", 200, paused_campaign),
    Operation("campaign-cancel", "POST", "campaigns.send_campaign", 200, draft_campaign),
    Operation("campaign-stats", "GET", "campaigns.view_campaign", 200, draft_campaign),
    Operation(
        "campaign-preview",
        "GET",
        "campaigns.view_campaign",
        200,
        draft_campaign,
        lambda world: {"customer": world.customer.pk},
    ),
]
# --- campaigns: operations above ---


# --- message templates: operations below ---
def message_template(world: World) -> dict[str, Any]:
    """A template made for the operation (templates are not part of the world)."""
    from messaging.services import template_create

    template = template_create(
        name=f"Permissions {next(_emails)}", subject="Hi {{ first_name }}", body_text="Hello"
    )
    return {"pk": template.pk}


OPERATIONS += [
    Operation("template-list", "GET", "messaging.view_messagetemplate", 200),
    Operation(
        "template-list",
        "POST",
        "messaging.add_messagetemplate",
        201,
        body=lambda world: {"name": "New", "subject": "Hi", "body_text": "Hello"},
    ),
    Operation("template-detail", "GET", "messaging.view_messagetemplate", 200, message_template),
    Operation(
        "template-detail",
        "PATCH",
        "messaging.change_messagetemplate",
        200,
        message_template,
        edit("name"),
    ),
    Operation(
        "template-detail", "DELETE", "messaging.delete_messagetemplate", 204, message_template
    ),
    Operation(
        "template-preview",
        "POST",
        "messaging.view_messagetemplate",
        200,
        message_template,
        lambda world: {"customer": world.customer.pk},
    ),
    Operation(
        "template-test-send",
        "POST",
        "messaging.change_messagetemplate",
        202,
        message_template,
        lambda world: {"customer": world.customer.pk},
    ),
]
# --- message templates: operations above ---

# --- analytics: operations below ---
OPERATIONS += [
    Operation(f"analytics-{name}", "GET", "analytics.view_flywheel", 200)
    for name in (
        "stage-counts",
        "phase-counts",
        "transitions",
        "phase-conversion",
        "velocity",
        "force-friction",
        "momentum",
        "surveys",
        "loop-completion",
        "lifetime-value",
        "campaigns",
    )
]
OPERATIONS += [Operation("analytics-costs", "GET", "analytics.view_costs", 200)]
# --- analytics: operations above ---
by_operation = pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.id)


# The same changes aimed at another user's records: they need, on top of the operation's
# permission, the "any" permission of the row rules (interactions.permissions).
ANY_INTERACTION = "interactions.change_any_interaction"
ANY_TASK = "interactions.change_any_task"
CLOSE_ANY_CASE = "interactions.close_any_case"
ROW_RULE_OPERATIONS = [
    (
        Operation(
            "interaction-detail",
            "PATCH",
            "interactions.change_interaction",
            200,
            pk_of("their_interaction"),
            edit("summary"),
        ),
        ANY_INTERACTION,
    ),
    (
        Operation(
            "interaction-detail",
            "DELETE",
            "interactions.delete_interaction",
            204,
            pk_of("their_interaction"),
        ),
        ANY_INTERACTION,
    ),
    (
        Operation(
            "interaction-close",
            "POST",
            "interactions.change_interaction",
            200,
            pk_of("their_case"),
            close_case,
        ),
        # docs/permissions.md: closing a case whoever logged it is its own permission.
        CLOSE_ANY_CASE,
    ),
    (
        Operation(
            "task-detail",
            "PATCH",
            "interactions.change_task",
            200,
            pk_of("their_task"),
            edit("title"),
        ),
        ANY_TASK,
    ),
    (
        Operation("task-complete", "POST", "interactions.change_task", 200, pk_of("their_task")),
        ANY_TASK,
    ),
    (
        Operation("task-cancel", "POST", "interactions.change_task", 200, pk_of("their_task")),
        ANY_TASK,
    ),
]


@pytest.fixture
def actor(request: pytest.FixtureRequest, make_user: Callable[..., User]) -> Any:
    """The user the requests come from: the test's `role`, or a user without one. The
    world's own records are theirs, so the row rules let them through."""
    role = request.getfixturevalue("role") if "role" in request.fixturenames else None
    return make_user(role, username=(role or "no-role").lower().replace(" ", "-"))


@pytest.fixture
def world(customer_factory, make_user, actor) -> World:
    customer = customer_factory()
    other = make_user(SALES_REP, username="other-rep")

    def records(user: User) -> tuple[Interaction, Interaction, Task]:
        return (
            interaction_log(customer=customer, kind="call", summary="Call", logged_by=user),
            interaction_log(customer=customer, kind="support_case", summary="Bug", logged_by=user),
            task_create(
                customer=customer,
                title="Follow up",
                due_at=timezone.now() + timedelta(days=2),
                assignee=user,
                created_by=user,
            ),
        )

    interaction, case, task = records(actor)
    their_interaction, their_case, their_task = records(other)
    purchase = Purchase.objects.create(
        customer=customer, amount=Decimal("5.00"), currency="EUR", occurred_at=timezone.now()
    )
    return World(
        customer=customer,
        spare=StageFactory.create(slug="spare"),
        interaction=interaction,
        case=case,
        task=task,
        purchase=purchase,
        their_interaction=their_interaction,
        their_case=their_case,
        their_task=their_task,
    )


def snapshot(world: World) -> tuple[Any, ...]:
    """Everything an operation could change."""
    return (
        list(Customer.objects.order_by("pk").values()),
        list(StageTransition.objects.order_by("pk").values()),
        list(Stage.objects.order_by("pk").values()),
        list(Interaction.objects.order_by("pk").values()),
        list(Task.objects.order_by("pk").values()),
        list(Purchase.objects.order_by("pk").values()),
    )


def may(role: str, permission: str) -> bool:
    return documented_may(role, permission)


@pytest.mark.parametrize("role", ROLES)
@by_operation
def test_each_role_may_do_what_docs_permissions_grants(
    api_as: Callable[[User], APIClient],
    role_users: dict[str, User],
    world: World,
    role: str,
    operation: Operation,
) -> None:
    before = snapshot(world)

    response = operation.call(api_as(role_users[role]), world)

    if may(role, operation.permission):
        assert response.status_code == operation.success, response.data
    else:
        assert response.status_code == 403, response.data
        assert snapshot(world) == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("operation", "any_permission"), ROW_RULE_OPERATIONS, ids=lambda v: getattr(v, "id", "")
)
def test_changing_what_another_user_owns_needs_the_any_permission(
    api_as: Callable[[User], APIClient],
    role_users: dict[str, User],
    world: World,
    role: str,
    operation: Operation,
    any_permission: str,
) -> None:
    before = snapshot(world)

    response = operation.call(api_as(role_users[role]), world)

    if may(role, operation.permission) and may(role, any_permission):
        assert response.status_code == operation.success, response.data
    else:
        assert response.status_code == 403, response.data
        assert snapshot(world) == before


def test_the_row_rules_concern_operations_of_the_table_and_refuse_someone() -> None:
    table = {(op.route, op.method, op.permission) for op in OPERATIONS}
    for operation, _ in ROW_RULE_OPERATIONS:
        assert (operation.route, operation.method, operation.permission) in table
    refused = [
        role
        for role in ROLES
        for operation, any_permission in ROW_RULE_OPERATIONS
        if may(role, operation.permission) and not may(role, any_permission)
    ]
    assert refused


@by_operation
def test_a_user_without_a_role_may_do_nothing(
    api_as: Callable[[User], APIClient],
    make_user: Callable[..., User],
    world: World,
    operation: Operation,
) -> None:
    before = snapshot(world)

    response = operation.call(api_as(make_user(username="no-role")), world)

    assert response.status_code == 403
    assert snapshot(world) == before


@by_operation
def test_anonymous_requests_are_401(world: World, operation: Operation) -> None:
    before = snapshot(world)

    response = operation.call(APIClient(), world)

    assert response.status_code == 401
    assert snapshot(world) == before


def test_the_table_covers_every_api_operation() -> None:
    """A new endpoint or method must be added to OPERATIONS, and so to these checks."""
    routed = set()
    for pattern in api_urls.urlpatterns:
        if pattern.name in PUBLIC_ROUTES | OWN_TOKEN_ROUTES:
            continue
        # as_view() sets view_class on the function; the stubs type it as a bare callable.
        view = pattern.callback.view_class  # type: ignore[attr-defined]
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                routed.add(f"{method.upper()} {pattern.name}")

    assert {op.id for op in OPERATIONS} == routed


def test_the_matrix_refuses_someone_something() -> None:
    """Guards the parametrized test against a matrix in which every check is a 2xx."""
    refusals = [(r, op.id) for r in ROLES for op in OPERATIONS if not may(r, op.permission)]

    assert refusals


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
@pytest.mark.parametrize("route", ["customer-list", "stage-list"])
def test_head_and_options_need_what_get_needs(
    api_as: Callable[[User], APIClient],
    role_users: dict[str, User],
    world: World,
    role: str,
    method: str,
    route: str,
) -> None:
    [get] = [op for op in OPERATIONS if op.route == route and op.method == "GET"]

    response = getattr(api_as(role_users[role]), method.lower())(reverse(f"api:{route}"))

    assert response.status_code == (200 if may(role, get.permission) else 403)


@pytest.mark.parametrize(
    ("route", "method", "kwargs"),
    [
        ("stage-detail", "put", {"slug": "purchase"}),
        ("stage-list", "delete", {}),
        ("stage-reorder", "get", {}),
        ("customer-transitions", "delete", {"pk": 1}),
        ("customer-timeline", "post", {"pk": 1}),
        ("interaction-batch", "get", {}),
        ("interaction-close", "get", {"pk": 1}),
        ("task-detail", "delete", {"pk": 1}),
        ("task-complete", "get", {"pk": 1}),
        ("purchase-detail", "patch", {"pk": 1}),
    ],
)
def test_a_method_an_endpoint_lacks_is_405_not_403(
    api_as: Callable[[User], APIClient],
    admin_user: User,
    route: str,
    method: str,
    kwargs: dict[str, Any],
) -> None:
    response = getattr(api_as(admin_user), method)(reverse(f"api:{route}", kwargs=kwargs))

    assert response.status_code == 405
