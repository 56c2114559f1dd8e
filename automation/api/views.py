"""Automation endpoints: rules (CRUD, pause, resume) and their steps (list, read, retry).

Each view validates input, calls one service, serializes the result. A rule's JSON parts are
validated by the service; a 400 names each offending path as a flat key, e.g.
`{"actions[1].params.stage": ["Unknown stage 'x'."]}`.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from automation.api.serializers import (
    RuleCreateInputSerializer,
    RuleOutputSerializer,
    RuleUpdateInputSerializer,
    StepOutputSerializer,
)
from automation.filters import RuleFilter, StepFilter
from automation.models import Step
from automation.selectors import rule_list, step_list
from automation.services import (
    rule_create,
    rule_delete,
    rule_pause,
    rule_resume,
    rule_update,
    step_retry,
)
from common.api.request import request_user
from common.api.schema import error_responses

_RULE_400 = {
    400: OpenApiResponse(
        response=OpenApiTypes.OBJECT,
        description="Bad input. Each offending field is a key, with a list of messages; "
        "errors inside the JSON parts name their path flat: `trigger_config.stage`, "
        "`conditions.stages[0]`, `actions[1].type`, `actions[1].params.stage`.",
        examples=[
            OpenApiExample(
                "Unknown stage in an action",
                value={"actions[1].params.stage": ["Unknown stage 'x'."]},
                status_codes=["400"],
            ),
            OpenApiExample(
                "Several errors",
                value={
                    "trigger_config.days": ["Give a whole number from 1 to 3650."],
                    "conditions.tags_all": ["Give a list of strings."],
                },
                status_codes=["400"],
            ),
        ],
    )
}


RULE_ORDERING = ["name", "created_at", "updated_at", "id"]
STEP_ORDERING = ["created_at", "due_at", "finished_at", "id"]


def _ordering_parameter(fields: list[str], default: str) -> OpenApiParameter:
    return OpenApiParameter(
        "ordering",
        str,
        description=f"One of {', '.join(fields)}; prefix '-' to reverse. Default {default}.",
    )


def _rule(pk: int) -> Any:
    return get_object_or_404(rule_list(), pk=pk)


@extend_schema_view(
    get=extend_schema(
        operation_id="automation_rules_list",
        parameters=[_ordering_parameter(RULE_ORDERING, "name")],
        responses={200: RuleOutputSerializer(many=True), **error_responses(400, 401, 403)},
        description="Rules by name, each with `customers_acted_on`: how many distinct "
        "customers it has a done step for.",
    )
)
class RuleListCreateApi(generics.ListAPIView):
    """List automation rules (with customers acted on) or create one."""

    serializer_class = RuleOutputSerializer
    filterset_class = RuleFilter
    ordering_fields = RULE_ORDERING
    ordering = ["name"]
    required_permissions = {"GET": "automation.view_rule", "POST": "automation.add_rule"}

    def get_queryset(self) -> Any:
        return rule_list()

    @extend_schema(
        operation_id="automation_rules_create",
        request=RuleCreateInputSerializer,
        responses={201: RuleOutputSerializer, **_RULE_400, **error_responses(401, 403)},
        description="Create a rule: trigger + conditions + delay + actions (docs/automation.md). "
        "A `call_webhook` action needs the permission to create webhook subscriptions (a 403 "
        "naming the action otherwise), and its URL must pass the webhooks' address guard: "
        '`{"actions[0].params.url": ["Private and loopback addresses are refused."]}`.',
    )
    def post(self, request: Request) -> Response:
        serializer = RuleCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule = rule_create(created_by=request_user(request), **serializer.validated_data)
        return Response(RuleOutputSerializer(_rule(rule.pk)).data, status=status.HTTP_201_CREATED)


class RuleDetailApi(APIView):
    """Read, change or delete one rule."""

    required_permissions = {
        "GET": "automation.view_rule",
        "PATCH": "automation.change_rule",
        "DELETE": "automation.delete_rule",
    }

    @extend_schema(
        operation_id="automation_rules_retrieve",
        responses={200: RuleOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(RuleOutputSerializer(_rule(pk)).data)

    @extend_schema(
        operation_id="automation_rules_partial_update",
        request=RuleUpdateInputSerializer,
        responses={200: RuleOutputSerializer, **_RULE_400, **error_responses(401, 403, 404)},
        description="Change a rule; the result is validated whole. Steps already scheduled "
        "keep the actions they were created with. Any change to a rule with a `call_webhook` "
        "action needs the permission to create webhook subscriptions (403 otherwise).",
    )
    def patch(self, request: Request, pk: int) -> Response:
        rule = _rule(pk)
        serializer = RuleUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rule_update(rule=rule, data=dict(serializer.validated_data), actor=request_user(request))
        return Response(RuleOutputSerializer(_rule(pk)).data)

    @extend_schema(
        operation_id="automation_rules_destroy",
        responses={204: None, **error_responses(400, 401, 403, 404)},
        description="Delete a rule that has never scheduled a step; one that has is part of "
        "customers' history: a 400 on `rule` (pause it instead).",
    )
    def delete(self, request: Request, pk: int) -> Response:
        rule_delete(rule=_rule(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RulePauseApi(APIView):
    """Pause a rule: no new steps; its pending steps are cancelled."""

    required_permissions = {"POST": "automation.change_rule"}

    @extend_schema(
        operation_id="automation_rules_pause",
        request=None,
        responses={200: RuleOutputSerializer, **error_responses(401, 403, 404)},
        description="Pause the rule. Its pending steps are cancelled, with that reason; a step "
        "already running finishes. Pausing a paused rule changes nothing.",
    )
    def post(self, request: Request, pk: int) -> Response:
        rule_pause(rule=_rule(pk))
        return Response(RuleOutputSerializer(_rule(pk)).data)


class RuleResumeApi(APIView):
    """Resume a paused rule: it acts on events from now on."""

    required_permissions = {"POST": "automation.change_rule"}

    @extend_schema(
        operation_id="automation_rules_resume",
        request=None,
        responses={200: RuleOutputSerializer, **error_responses(401, 403, 404)},
        description="Resume the rule. Steps cancelled by the pause stay cancelled.",
    )
    def post(self, request: Request, pk: int) -> Response:
        rule_resume(rule=_rule(pk))
        return Response(RuleOutputSerializer(_rule(pk)).data)


@extend_schema_view(
    get=extend_schema(
        operation_id="automation_steps_list",
        parameters=[_ordering_parameter(STEP_ORDERING, "-created_at")],
        responses={200: StepOutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class StepListApi(generics.ListAPIView):
    """Automation steps newest first, filtered by rule, customer and state."""

    serializer_class = StepOutputSerializer
    filterset_class = StepFilter
    ordering_fields = STEP_ORDERING
    ordering = ["-created_at"]
    required_permissions = {"GET": "automation.view_step"}

    def get_queryset(self) -> Any:
        return step_list()


class StepDetailApi(APIView):
    """Read one automation step: its state, result or error."""

    required_permissions = {"GET": "automation.view_step"}

    @extend_schema(
        operation_id="automation_steps_retrieve",
        responses={200: StepOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(StepOutputSerializer(get_object_or_404(step_list(), pk=pk)).data)


class StepRetryApi(APIView):
    """Retry a failed step (the dashboard's Retry button)."""

    required_permissions = {"POST": "automation.change_step"}

    @extend_schema(
        operation_id="automation_steps_retry",
        request=None,
        responses={200: StepOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Make a failed step pending again, with a fresh set of attempts; the "
        "rule's later actions that its failure cancelled wait for it again. A step that is "
        "not failed is a 400 on `state`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        step = step_retry(step=get_object_or_404(Step, pk=pk))
        return Response(StepOutputSerializer(get_object_or_404(step_list(), pk=step.pk)).data)
