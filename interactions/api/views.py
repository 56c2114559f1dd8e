"""Interaction, task and purchase endpoints, and the batch endpoints for integrations.

Each view validates input, calls one service, serializes the result. The role matrix decides
who may call an endpoint at all (`required_permissions`); the row rules of
`interactions.permissions` decide whose records they may change (a 403 otherwise).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.schema import error_responses
from common.exceptions import ApplicationError
from interactions.api.serializers import (
    MAX_BATCH_ITEMS,
    BatchEnvelopeSerializer,
    BatchResultSerializer,
    InteractionBatchInputSerializer,
    InteractionCreateInputSerializer,
    InteractionOutputSerializer,
    InteractionUpdateInputSerializer,
    PurchaseBatchInputSerializer,
    PurchaseCreateInputSerializer,
    PurchaseOutputSerializer,
    SupportCaseCloseInputSerializer,
    TaskCreateInputSerializer,
    TaskOutputSerializer,
    TaskUpdateInputSerializer,
)
from interactions.filters import InteractionFilter, PurchaseFilter, TaskFilter
from interactions.models import CreatorKind, Interaction, Purchase, Task
from interactions.permissions import (
    can_change_interaction,
    can_change_task,
    can_close_case,
    can_delete_interaction,
)
from interactions.selectors import interaction_queryset, purchase_queryset, task_queryset
from interactions.services import (
    interaction_delete,
    interaction_log,
    interaction_update,
    purchase_delete,
    purchase_record,
    support_case_close,
    task_cancel,
    task_complete,
    task_create,
    task_update,
)
from stages.models import ActorKind

if TYPE_CHECKING:
    from django.contrib.auth.models import User

INTERACTION_ORDERING = ["occurred_at", "created_at", "id"]
TASK_ORDERING = ["due_at", "created_at", "id"]
PURCHASE_ORDERING = ["occurred_at", "amount", "created_at", "id"]

NOT_YOUR_INTERACTION = "You may change only the interactions you logged."
NOT_YOUR_TASK = "You may change only the tasks assigned to you or created by you."
NOT_YOUR_CASE = "You may close only the support cases you logged."


def _ordering_parameter(fields: list[str], default: str) -> OpenApiParameter:
    return OpenApiParameter(
        "ordering",
        str,
        description=f"One of {', '.join(fields)}; prefix '-' to reverse. Default {default}.",
    )


def _actor(request: Request) -> User:
    """The requesting user: RolePermission has already refused anonymous requests."""
    return cast("User", request.user)


def _interaction(pk: int) -> Interaction:
    return get_object_or_404(interaction_queryset(), pk=pk)


def _task(pk: int) -> Task:
    return get_object_or_404(task_queryset(), pk=pk)


def _task_changeable(request: Request, pk: int) -> Task:
    task = _task(pk)
    if not can_change_task(request.user, task):
        raise PermissionDenied(NOT_YOUR_TASK)
    return task


def _interaction_changeable(request: Request, pk: int) -> Interaction:
    interaction = _interaction(pk)
    if not can_change_interaction(request.user, interaction):
        raise PermissionDenied(NOT_YOUR_INTERACTION)
    return interaction


# --- interactions --------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        operation_id="interactions_list",
        parameters=[_ordering_parameter(INTERACTION_ORDERING, "-occurred_at")],
        responses={200: InteractionOutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class InteractionListCreateApi(generics.ListAPIView):
    """List interactions (filtered, ordered, cursor-paginated) or log one."""

    serializer_class = InteractionOutputSerializer
    filterset_class = InteractionFilter
    ordering_fields = INTERACTION_ORDERING
    ordering = ["-occurred_at"]
    required_permissions = {
        "GET": "interactions.view_interaction",
        "POST": "interactions.add_interaction",
    }

    def get_queryset(self) -> Any:
        return interaction_queryset()

    @extend_schema(
        operation_id="interactions_create",
        request=InteractionCreateInputSerializer,
        responses={201: InteractionOutputSerializer, **error_responses(400, 401, 403)},
        description="Log an interaction as the requesting user. Its effect on the wheel "
        "defaults from kind and outcome (docs/metrics.md); a support case opens. The "
        "customer's `last_activity_at` moves forward to `occurred_at`.",
    )
    def post(self, request: Request) -> Response:
        serializer = InteractionCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        interaction = interaction_log(logged_by=_actor(request), **serializer.validated_data)
        return Response(
            InteractionOutputSerializer(interaction).data, status=status.HTTP_201_CREATED
        )


class InteractionDetailApi(APIView):
    """Read one interaction; its author (or an admin) corrects or deletes it."""

    required_permissions = {
        "GET": "interactions.view_interaction",
        "PATCH": "interactions.change_interaction",
        "DELETE": "interactions.delete_interaction",
    }

    @extend_schema(
        operation_id="interactions_retrieve",
        responses={200: InteractionOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(InteractionOutputSerializer(_interaction(pk)).data)

    @extend_schema(
        operation_id="interactions_partial_update",
        request=InteractionUpdateInputSerializer,
        responses={200: InteractionOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Correct an interaction you logged (admins: anyone's; otherwise 403). "
        "A new kind or outcome re-derives the effect unless `effect` is given; an interaction "
        "cannot become or stop being a support case (400 on `kind`).",
    )
    def patch(self, request: Request, pk: int) -> Response:
        interaction = _interaction_changeable(request, pk)
        serializer = InteractionUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        interaction = interaction_update(
            interaction=interaction, data=dict(serializer.validated_data)
        )
        return Response(InteractionOutputSerializer(interaction).data)

    @extend_schema(
        operation_id="interactions_destroy",
        responses={204: None, **error_responses(401, 403, 404)},
        description="Delete an interaction you logged (admins: anyone's; otherwise 403).",
    )
    def delete(self, request: Request, pk: int) -> Response:
        interaction = _interaction(pk)
        if not can_delete_interaction(request.user, interaction):
            raise PermissionDenied(NOT_YOUR_INTERACTION)
        interaction_delete(interaction=interaction)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SupportCaseCloseApi(APIView):
    """Close an open support case."""

    required_permissions = {"POST": "interactions.change_interaction"}

    @extend_schema(
        operation_id="interactions_close",
        request=SupportCaseCloseInputSerializer,
        responses={200: InteractionOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Close a support case, once: one you logged, or anyone's with "
        "`close_any_case` (Support, Admin); otherwise 403. Not a support "
        "case: 400 on `kind`; already closed: 400 on `case_state`. Automations react to "
        "`support_case.closed` (e.g. a CSAT survey).",
    )
    def post(self, request: Request, pk: int) -> Response:
        interaction = _interaction(pk)
        # The same row rule as the dashboard's close button: Support closes any case.
        if not can_close_case(request.user, interaction):
            raise PermissionDenied(NOT_YOUR_CASE)
        serializer = SupportCaseCloseInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = support_case_close(
            interaction=interaction,
            closed_by=_actor(request),
            outcome=serializer.validated_data.get("outcome"),
        )
        return Response(InteractionOutputSerializer(case).data)


# --- tasks -----------------------------------------------------------------------------------


@extend_schema_view(
    get=extend_schema(
        operation_id="tasks_list",
        parameters=[_ordering_parameter(TASK_ORDERING, "due_at")],
        responses={200: TaskOutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class TaskListCreateApi(generics.ListAPIView):
    """List follow-up tasks (filtered, ordered, cursor-paginated) or create one."""

    serializer_class = TaskOutputSerializer
    filterset_class = TaskFilter
    ordering_fields = TASK_ORDERING
    ordering = ["due_at"]
    required_permissions = {"GET": "interactions.view_task", "POST": "interactions.add_task"}

    def get_queryset(self) -> Any:
        return task_queryset()

    @extend_schema(
        operation_id="tasks_create",
        request=TaskCreateInputSerializer,
        responses={201: TaskOutputSerializer, **error_responses(400, 401, 403)},
        description="Owe a customer a follow-up. Without `assignee` it goes to the "
        "customer's owner. The requesting user is recorded as its creator.",
    )
    def post(self, request: Request) -> Response:
        serializer = TaskCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        task = task_create(
            assignee=data.pop("assignee", None),
            created_by=_actor(request),
            created_by_kind=CreatorKind.API,
            **data,
        )
        return Response(TaskOutputSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskDetailApi(APIView):
    """Read one task; its assignee or creator (or an admin) changes it while it is open."""

    required_permissions = {"GET": "interactions.view_task", "PATCH": "interactions.change_task"}

    @extend_schema(
        operation_id="tasks_retrieve",
        responses={200: TaskOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(TaskOutputSerializer(_task(pk)).data)

    @extend_schema(
        operation_id="tasks_partial_update",
        request=TaskUpdateInputSerializer,
        responses={200: TaskOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Change an open task's title, notes, due time or assignee. Only its "
        "assignee or creator may (admins: anyone's; otherwise 403); a done or cancelled "
        "task is a 400 on `state`.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        task = _task_changeable(request, pk)
        serializer = TaskUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = task_update(task=task, data=dict(serializer.validated_data))
        return Response(TaskOutputSerializer(task).data)


class TaskCompleteApi(APIView):
    """Mark an open task done."""

    required_permissions = {"POST": "interactions.change_task"}

    @extend_schema(
        operation_id="tasks_complete",
        request=None,
        responses={200: TaskOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Mark the task done, once: a task that is no longer open is a 400 on "
        "`state`. Completing it counts as activity with the customer.",
    )
    def post(self, request: Request, pk: int) -> Response:
        task = task_complete(task=_task_changeable(request, pk))
        return Response(TaskOutputSerializer(task).data)


class TaskCancelApi(APIView):
    """Cancel an open task: no longer owed, no longer friction."""

    required_permissions = {"POST": "interactions.change_task"}

    @extend_schema(
        operation_id="tasks_cancel",
        request=None,
        responses={200: TaskOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Cancel the task, once: a task that is no longer open is a 400 on `state`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        task = task_cancel(task=_task_changeable(request, pk))
        return Response(TaskOutputSerializer(task).data)


# --- purchases -------------------------------------------------------------------------------

_PURCHASE_IDEMPOTENCY = (
    "A purchase with an `external_id` is recorded once per `source`: sending the same "
    "(source, external_id) again changes nothing and returns the first record (the new "
    "amount, currency and date are ignored). The same `external_id` from another source is "
    "another order; one already recorded for another customer is a 400 on `external_id`."
)


@extend_schema_view(
    get=extend_schema(
        operation_id="purchases_list",
        parameters=[_ordering_parameter(PURCHASE_ORDERING, "-occurred_at")],
        responses={200: PurchaseOutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class PurchaseListCreateApi(generics.ListAPIView):
    """List purchases (filtered, ordered, cursor-paginated) or record one."""

    serializer_class = PurchaseOutputSerializer
    filterset_class = PurchaseFilter
    ordering_fields = PURCHASE_ORDERING
    ordering = ["-occurred_at"]
    required_permissions = {
        "GET": "interactions.view_purchase",
        "POST": "interactions.add_purchase",
    }

    def get_queryset(self) -> Any:
        return purchase_queryset()

    @extend_schema(
        operation_id="purchases_create",
        request=PurchaseCreateInputSerializer,
        responses={
            201: OpenApiResponse(PurchaseOutputSerializer, description="Recorded."),
            200: OpenApiResponse(
                PurchaseOutputSerializer,
                description="This (source, external_id) was already recorded: the first "
                "record, unchanged.",
            ),
            **error_responses(400, 401, 403),
        },
        description="Record a purchase. A customer's first purchase moves them to the "
        "purchase stage; a purchase by a Delight customer starts a new cycle there. "
        "Bad amounts (zero, negative, malformed, more than 2 decimals or 14 digits, NaN, "
        "Infinity) are a 400 on `amount`; an unknown currency a 400 on `currency`. "
        + _PURCHASE_IDEMPOTENCY,
    )
    def post(self, request: Request) -> Response:
        serializer = PurchaseCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        purchase, created = purchase_record(
            recorded_by=_actor(request), actor_kind=ActorKind.API, **serializer.validated_data
        )
        return Response(
            PurchaseOutputSerializer(purchase).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class PurchaseDetailApi(APIView):
    """Read one purchase; an admin deletes one recorded by mistake."""

    required_permissions = {
        "GET": "interactions.view_purchase",
        "DELETE": "interactions.delete_purchase",
    }

    @extend_schema(
        operation_id="purchases_retrieve",
        responses={200: PurchaseOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            PurchaseOutputSerializer(get_object_or_404(purchase_queryset(), pk=pk)).data
        )

    @extend_schema(
        operation_id="purchases_destroy",
        responses={204: None, **error_responses(401, 403, 404)},
        description="Delete a purchase recorded by mistake. Lifetime value follows; stage "
        "moves it caused stay in the history.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        purchase_delete(purchase=get_object_or_404(Purchase, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- batches ---------------------------------------------------------------------------------

_BATCH_SEMANTICS = (
    f"`items` holds 1 to {MAX_BATCH_ITEMS} objects, each shaped like the single-create body; "
    f"anything else (no list, empty, more than {MAX_BATCH_ITEMS}) is a 400 on `items` and "
    "writes nothing. Each item is then validated and written on its own: valid items are "
    "written, invalid ones are reported and written nothing — **only the valid items are "
    "written**. The answer is 200 whatever the mix, with one result per item in order: "
    '`{"index", "status": "created"|"existing"|"error", "id", "errors"}`, where `errors` '
    "has the shape of a 400 body. The valid items commit together, in one transaction, but "
    "an answer that did not arrive (a timeout, a dropped connection) does not say whether "
    "they did. Send it with an `Idempotency-Key` and resend it with the same key: a batch "
    "that was written gets its first answer back instead of being written again."
)


def _batch_write(items: list[Any], write: Callable[[Any], tuple[Any, bool]]) -> dict[str, Any]:
    """Write each item with `write` in its own savepoint; report each one's outcome."""
    results: list[dict[str, Any]] = []
    with transaction.atomic():
        for index, item in enumerate(items):
            try:
                with transaction.atomic():
                    record, created = write(item)
            except serializers.ValidationError as exc:
                results.append(_result(index, "error", errors=exc.detail))
            except ApplicationError as exc:
                results.append(_result(index, "error", errors=exc.as_dict()))
            else:
                results.append(_result(index, "created" if created else "existing", record.pk))
    counts = Counter(result["status"] for result in results)
    return {
        "results": results,
        "created": counts["created"],
        "existing": counts["existing"],
        "errors": counts["error"],
    }


def _result(index: int, status_: str, pk: int | None = None, errors: Any = None) -> dict:
    return {"index": index, "status": status_, "id": pk, "errors": errors}


def _batch_items(request: Request) -> list[Any]:
    envelope = BatchEnvelopeSerializer(data=request.data)
    envelope.is_valid(raise_exception=True)
    return envelope.validated_data["items"]


class InteractionBatchApi(APIView):
    """Log up to 100 interactions in one request (integrations: a help desk, a mailer)."""

    required_permissions = {"POST": "interactions.add_interaction"}

    @extend_schema(
        operation_id="interactions_batch",
        request=InteractionBatchInputSerializer,
        responses={200: BatchResultSerializer, **error_responses(400, 401, 403)},
        description="Log many interactions as the requesting user. " + _BATCH_SEMANTICS,
    )
    def post(self, request: Request) -> Response:
        def write(item: Any) -> tuple[Interaction, bool]:
            serializer = InteractionCreateInputSerializer(data=item)
            serializer.is_valid(raise_exception=True)
            return interaction_log(logged_by=_actor(request), **serializer.validated_data), True

        return Response(BatchResultSerializer(_batch_write(_batch_items(request), write)).data)


class PurchaseBatchApi(APIView):
    """Record up to 100 purchases in one request (integrations: a shop)."""

    required_permissions = {"POST": "interactions.add_purchase"}

    @extend_schema(
        operation_id="purchases_batch",
        request=PurchaseBatchInputSerializer,
        responses={200: BatchResultSerializer, **error_responses(400, 401, 403)},
        description="Record many purchases. "
        + _BATCH_SEMANTICS
        + " An item whose (source, external_id) is already recorded — before, or earlier in "
        "the same batch — is `existing`, with the first record's id. " + _PURCHASE_IDEMPOTENCY,
    )
    def post(self, request: Request) -> Response:
        def write(item: Any) -> tuple[Purchase, bool]:
            serializer = PurchaseCreateInputSerializer(data=item)
            serializer.is_valid(raise_exception=True)
            return purchase_record(
                recorded_by=_actor(request), actor_kind=ActorKind.API, **serializer.validated_data
            )

        return Response(BatchResultSerializer(_batch_write(_batch_items(request), write)).data)
