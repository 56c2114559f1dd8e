"""The four roles and what each may do: the permission matrix of docs/permissions.md.

Each role is a Django group holding exactly the permissions listed here; `roles_sync` makes
the groups match after every migration. The API (accounts.permissions.RolePermission) and the
dashboard check these permissions, never the group names.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import transaction

ADMIN = "Admin"
MARKETER = "Marketer"
SALES_REP = "Sales rep"
SUPPORT = "Support"
ROLES = (ADMIN, MARKETER, SALES_REP, SUPPORT)

# permission (app_label.codename) -> the roles that hold it, with a plain description.
PERMISSION_MATRIX: dict[str, tuple[str, frozenset[str]]] = {
    "customers.view_customer": (
        "See customers and their details",
        frozenset(ROLES),
    ),
    "customers.add_customer": (
        "Create customers",
        frozenset({ADMIN, MARKETER, SALES_REP}),
    ),
    "customers.change_customer": (
        "Edit customers' details (contact data, owner, tags, attributes, consent)",
        frozenset(ROLES),
    ),
    "customers.delete_customer": (
        "Delete customers (with their history)",
        frozenset({ADMIN}),
    ),
    "customers.move_customer": (
        "Move a customer to another stage",
        frozenset(ROLES),
    ),
    "customers.export_customer": (
        "Export the customer list, with its filters, as CSV",
        frozenset({ADMIN, MARKETER}),
    ),
    "stages.view_stage": (
        "See the stages",
        frozenset(ROLES),
    ),
    "stages.view_stagetransition": (
        "See customers' stage history",
        frozenset(ROLES),
    ),
    "stages.manage_stage": (
        "Add, rename, reorder, archive and delete stages",
        frozenset({ADMIN}),
    ),
    "stages.add_stage": ("Add stages in the admin site", frozenset({ADMIN})),
    "stages.change_stage": ("Change stages in the admin site", frozenset({ADMIN})),
    "stages.delete_stage": ("Delete unused stages in the admin site", frozenset({ADMIN})),
    "interactions.view_interaction": ("See interactions", frozenset(ROLES)),
    "interactions.add_interaction": (
        "Log interactions (calls, emails, meetings, notes, support cases…)",
        frozenset(ROLES),
    ),
    "interactions.change_interaction": (
        "Edit and close the interactions one logged",
        frozenset(ROLES),
    ),
    "interactions.delete_interaction": ("Delete the interactions one logged", frozenset(ROLES)),
    "interactions.change_any_interaction": (
        "Edit and delete interactions others logged",
        frozenset({ADMIN}),
    ),
    "interactions.close_any_case": (
        "Close any support case, whoever logged it",
        frozenset({ADMIN, SUPPORT}),
    ),
    "interactions.view_task": ("See follow-up tasks", frozenset(ROLES)),
    "interactions.add_task": ("Create follow-up tasks", frozenset(ROLES)),
    "interactions.change_task": (
        "Edit, complete and cancel tasks assigned to or created by oneself",
        frozenset(ROLES),
    ),
    "interactions.change_any_task": (
        "Edit, complete and cancel anyone's tasks",
        frozenset({ADMIN}),
    ),
    "interactions.view_purchase": ("See purchases and lifetime value", frozenset(ROLES)),
    "interactions.add_purchase": ("Record purchases", frozenset({ADMIN, SALES_REP})),
    "interactions.change_purchase": ("Correct purchases", frozenset({ADMIN})),
    "interactions.delete_purchase": ("Delete purchases", frozenset({ADMIN})),
    "customers.view_referral": ("See who referred whom", frozenset(ROLES)),
    "messaging.view_outboundmessage": ("See the outbox: every message sent", frozenset(ROLES)),
    "messaging.change_outboundmessage": (
        "Retry a message that failed",
        frozenset({ADMIN, SUPPORT, MARKETER}),
    ),
    "messaging.view_messagetemplate": (
        "See message templates and preview them for a customer",
        frozenset(ROLES),
    ),
    "messaging.add_messagetemplate": ("Create message templates", frozenset({ADMIN, MARKETER})),
    "messaging.change_messagetemplate": (
        "Edit message templates; send a test of one to oneself",
        frozenset({ADMIN, MARKETER}),
    ),
    "messaging.delete_messagetemplate": (
        "Delete message templates no automation rule sends",
        frozenset({ADMIN, MARKETER}),
    ),
    # --- surveys: entries below ---
    "surveys.view_survey": ("See surveys and their scores (NPS, CSAT, CES)", frozenset(ROLES)),
    "surveys.add_survey": ("Create surveys in the admin site", frozenset({ADMIN, SUPPORT})),
    "surveys.change_survey": (
        "Edit surveys' questions, labels and expiry in the admin site",
        frozenset({ADMIN, SUPPORT}),
    ),
    "surveys.view_invitation": ("See who was sent a survey, and when", frozenset(ROLES)),
    "surveys.add_invitation": (
        "Send a survey to one customer",
        frozenset({ADMIN, SUPPORT, SALES_REP}),
    ),
    "surveys.view_response": ("See survey answers and comments", frozenset(ROLES)),
    "surveys.view_surveybatch": ("See bulk survey sends and their progress", frozenset(ROLES)),
    "surveys.add_surveybatch": (
        "Send a survey in bulk to a filtered set of customers",
        frozenset({ADMIN, SUPPORT, MARKETER}),
    ),
    # --- automation: entries below ---
    "automation.view_rule": (
        "See automation rules and how many customers each acted on",
        frozenset(ROLES),
    ),
    "automation.add_rule": ("Create automation rules", frozenset({ADMIN, MARKETER})),
    "automation.change_rule": (
        "Edit, pause and resume automation rules",
        frozenset({ADMIN, MARKETER}),
    ),
    "automation.delete_rule": (
        "Delete automation rules that have never acted",
        frozenset({ADMIN, MARKETER}),
    ),
    "automation.view_step": (
        "See automation steps with their results and errors",
        frozenset(ROLES),
    ),
    "automation.change_step": ("Retry a failed automation step", frozenset({ADMIN, MARKETER})),
    # --- segments: entries below ---
    "segments.view_segment": (
        "See segments, their counts and customers; preview a definition",
        frozenset(ROLES),
    ),
    "segments.add_segment": ("Create segments and static lists", frozenset({ADMIN, MARKETER})),
    "segments.change_segment": (
        "Edit segments, add and remove static list members, freeze a segment",
        frozenset({ADMIN, MARKETER}),
    ),
    "segments.delete_segment": ("Delete segments", frozenset({ADMIN, MARKETER})),
    "segments.export_segment": (
        "Export a segment's customers as CSV",
        frozenset({ADMIN, MARKETER}),
    ),
    # --- consent and lead forms: entries below ---
    "consent.view_consentevent": (
        "See customers' consent and its history (when, how, from where)",
        frozenset(ROLES),
    ),
    "consent.add_consentevent": (
        "Record a customer's consent or its withdrawal",
        frozenset(ROLES),
    ),
    "consent.view_suppression": ("See the suppression list", frozenset(ROLES)),
    "consent.add_suppression": (
        "Add addresses to the suppression list",
        frozenset({ADMIN, MARKETER, SUPPORT}),
    ),
    "consent.delete_suppression": (
        "Remove addresses from the suppression list",
        frozenset({ADMIN}),
    ),
    "leadforms.view_leadform": ("See lead forms and their embed code", frozenset(ROLES)),
    "leadforms.add_leadform": ("Create lead forms", frozenset({ADMIN, MARKETER})),
    "leadforms.change_leadform": (
        "Edit, activate and deactivate lead forms",
        frozenset({ADMIN, MARKETER}),
    ),
    "leadforms.delete_leadform": (
        "Delete lead forms nobody has submitted",
        frozenset({ADMIN, MARKETER}),
    ),
    "leadforms.view_submission": ("See form submissions and a form's results", frozenset(ROLES)),
    "leadforms.add_submission": (
        "Submit a lead form through the API (server-side integrations)",
        frozenset({ADMIN, MARKETER}),
    ),
    # --- campaigns: entries below ---
    "campaigns.view_campaign": (
        "See campaigns, their progress, results, conversions and costs",
        frozenset(ROLES),
    ),
    "campaigns.add_campaign": ("Create draft campaigns", frozenset({ADMIN, MARKETER})),
    "campaigns.change_campaign": (
        "Edit draft campaigns and their variants; send a test to oneself",
        frozenset({ADMIN, MARKETER}),
    ),
    "campaigns.delete_campaign": ("Delete draft campaigns", frozenset({ADMIN, MARKETER})),
    "campaigns.send_campaign": (
        "Schedule, send, pause, resume and cancel campaigns",
        frozenset({ADMIN, MARKETER}),
    ),
    # --- analytics: entries below ---
    "analytics.view_flywheel": (
        "See the flywheel numbers: counts, flow, conversion, velocity, force and friction, "
        "survey trends, loop completion, lifetime value by segment, campaign performance",
        frozenset(ROLES),
    ),
    "analytics.view_costs": (
        "See acquisition cost per new customer beside retention cost per retained customer",
        frozenset({ADMIN, MARKETER}),
    ),
    # --- webhooks: entries below ---
    "webhooks.view_subscription": ("See webhook subscriptions", frozenset({ADMIN})),
    "webhooks.add_subscription": ("Create webhook subscriptions", frozenset({ADMIN})),
    "webhooks.change_subscription": (
        "Edit webhook subscriptions, see and rotate their secrets",
        frozenset({ADMIN}),
    ),
    "webhooks.delete_subscription": ("Delete webhook subscriptions", frozenset({ADMIN})),
    "webhooks.view_delivery": ("See the webhook delivery log", frozenset({ADMIN})),
    "webhooks.change_delivery": (
        "Retry failed webhook deliveries and send test events",
        frozenset({ADMIN}),
    ),
    "webhooks.view_deliveryattempt": (
        "See each attempt of a webhook delivery",
        frozenset({ADMIN}),
    ),
    "auth.view_user": ("See users", frozenset({ADMIN})),
    "auth.add_user": ("Create users", frozenset({ADMIN})),
    "auth.change_user": ("Edit users and their roles", frozenset({ADMIN})),
    "auth.delete_user": ("Delete users", frozenset({ADMIN})),
    "auth.view_group": ("See roles", frozenset({ADMIN})),
    # Everyone lists and revokes their own tokens through the API; these are the admin site's.
    "accounts.view_apitoken": (
        "See everyone's API tokens in the admin site",
        frozenset({ADMIN}),
    ),
    "accounts.add_apitoken": (
        "Issue an API token for a user in the admin site",
        frozenset({ADMIN}),
    ),
    "accounts.delete_apitoken": (
        "Revoke anyone's API tokens in the admin site",
        frozenset({ADMIN}),
    ),
    "axes.view_accessattempt": ("See failed sign-ins and lockouts", frozenset({ADMIN})),
    "axes.delete_accessattempt": (
        "Unlock a locked-out account or address (forget its failed sign-ins)",
        frozenset({ADMIN}),
    ),
}


def role_permissions(role: str) -> set[str]:
    """The permission names the matrix grants to `role`."""
    return {perm for perm, (_, roles) in PERMISSION_MATRIX.items() if role in roles}


@transaction.atomic
def roles_sync() -> None:
    """Create the four groups and give each exactly the permissions of the matrix."""
    by_name = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type")
    }
    missing = sorted(set(PERMISSION_MATRIX) - set(by_name))
    if missing:
        raise LookupError(f"Permissions named in the role matrix do not exist: {missing}")
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([by_name[perm] for perm in role_permissions(role)])


def sync_roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    """post_migrate receiver: sync once, after the last app's permissions have been created.

    post_migrate is sent once per app with models, in INSTALLED_APPS order, and each app's
    permissions are created by its own send; only at the last one do all of them exist.
    """
    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if sender.label != with_models[-1].label:
        return
    roles_sync()
