"""Customer endpoints. Each view validates input, calls one service, serializes the result."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from automation.api.serializers import StepOutputSerializer
from common.api.request import request_user
from common.api.schema import error_responses
from consent.models import ConsentMethod
from consent.services import customer_create_with_consent, customer_update_with_consent
from customers.api.serializers import (
    CustomerCreateInputSerializer,
    CustomerDetailOutputSerializer,
    CustomerInputSerializer,
    CustomerOutputSerializer,
    TimelineEntryOutputSerializer,
    TimelineQuerySerializer,
)
from customers.filters import CustomerFilter
from customers.models import Customer
from customers.selectors import customer_queryset
from customers.services import customer_delete
from customers.timeline import customer_timeline
from interactions.api.serializers import (
    InteractionOutputSerializer,
    PurchaseOutputSerializer,
    TaskOutputSerializer,
)
from interactions.models import Task, TaskState
from stages.api.serializers import TransitionOutputSerializer
from stages.models import ActorKind
from surveys.api.serializers import InvitationOutputSerializer, ResponseOutputSerializer

CONSENT_NOTE = (
    "An `email_consent` or `sms_consent` that changes is written to the customer's consent "
    "history (method api, recorded by the caller; GET /customers/{id}/consent/); a flag sent "
    "with the value it has records nothing."
)

ORDERING_FIELDS = [
    "id",
    "created_at",
    "updated_at",
    "last_activity_at",
    "stage_entered_at",
    "email",
    "last_name",
]


def _count_of(queryset: QuerySet[Any], column: str) -> Coalesce:
    """The number of rows of `queryset` whose `column` is the outer customer, as a subquery:
    one query for a whole page, however many customers it holds."""
    counted = (
        queryset.filter(**{column: OuterRef("pk")})
        .order_by()
        .values(column)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _customers() -> QuerySet[Customer]:
    """Customers as the list shows them: with how many customers each one referred."""
    return customer_queryset().annotate(
        referral_count=_count_of(Customer.objects.all(), "referred_by")
    )


def _customer_details() -> QuerySet[Customer]:
    """Customers as the detail shows them: also their open follow-up tasks."""
    return _customers().annotate(
        open_tasks=_count_of(Task.objects.filter(state=TaskState.OPEN), "customer")
    )


@extend_schema_view(
    get=extend_schema(
        operation_id="customers_list",
        parameters=[
            OpenApiParameter(
                "ordering",
                str,
                description="One of " + ", ".join(ORDERING_FIELDS) + "; prefix '-' to reverse.",
            )
        ],
        responses={200: CustomerOutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class CustomerListCreateApi(generics.ListAPIView):
    """List customers (filtered, ordered, cursor-paginated) or create one."""

    serializer_class = CustomerOutputSerializer
    filterset_class = CustomerFilter
    ordering_fields = ORDERING_FIELDS
    ordering = ["-id"]
    required_permissions = {"GET": "customers.view_customer", "POST": "customers.add_customer"}

    def get_queryset(self) -> Any:
        return _customers()

    @extend_schema(
        operation_id="customers_create",
        request=CustomerCreateInputSerializer,
        responses={201: CustomerDetailOutputSerializer, **error_responses(400, 401, 403)},
        description="Create a customer. Without `stage` the customer enters `awareness`; "
        "the entry is recorded as the first transition. `referral_code` (another customer's "
        "code) sets `referred_by`; an unknown code is a 400 on `referral_code`. " + CONSENT_NOTE,
    )
    def post(self, request: Request) -> Response:
        serializer = CustomerCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_create_with_consent(
            consent_method=ConsentMethod.API,
            actor_kind=ActorKind.API,
            actor_user=request_user(request),
            **serializer.validated_data,
        )
        return Response(
            CustomerDetailOutputSerializer(_customer_details().get(pk=customer.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class CustomerDetailApi(generics.GenericAPIView):
    """Read, update or delete one customer."""

    serializer_class = CustomerDetailOutputSerializer
    required_permissions = {
        "GET": "customers.view_customer",
        "HEAD": "customers.view_customer",
        "OPTIONS": "customers.view_customer",
        "PUT": "customers.change_customer",
        "PATCH": "customers.change_customer",
        "DELETE": "customers.delete_customer",
    }

    def get_object(self) -> Customer:
        return get_object_or_404(customer_queryset(), pk=self.kwargs["pk"])

    @extend_schema(
        operation_id="customers_retrieve",
        responses={200: CustomerDetailOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        customer = get_object_or_404(_customer_details(), pk=pk)
        return Response(CustomerDetailOutputSerializer(customer).data)

    @extend_schema(
        operation_id="customers_update",
        request=CustomerInputSerializer,
        responses={200: CustomerDetailOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Replace the customer's details; `email` is required, omitted optional "
        "fields keep their values. `stage` may only repeat the current stage: moves go "
        "through POST /customers/{id}/transitions/. " + CONSENT_NOTE,
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        operation_id="customers_partial_update",
        request=CustomerInputSerializer(partial=True),
        responses={200: CustomerDetailOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Change some of the customer's details. " + CONSENT_NOTE,
    )
    def patch(self, request: Request, pk: int) -> Response:
        return self._update(request, partial=True)

    @extend_schema(
        operation_id="customers_destroy",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request: Request, pk: int) -> Response:
        customer_delete(customer=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _update(self, request: Request, *, partial: bool) -> Response:
        with transaction.atomic():
            customer = self.get_object()
            serializer = CustomerInputSerializer(data=request.data, partial=partial)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
            if data.get("stage") == customer.stage:
                del data["stage"]
            customer = customer_update_with_consent(
                customer=customer,
                data=data,
                consent_method=ConsentMethod.API,
                actor_user=request_user(request),
            )
        return Response(
            CustomerDetailOutputSerializer(_customer_details().get(pk=customer.pk)).data
        )


# Each kind of timeline record: how its data is shown, and who may see it.
TIMELINE_KINDS: dict[str, tuple[type[serializers.Serializer], str]] = {
    "transition": (TransitionOutputSerializer, "stages.view_stagetransition"),
    "interaction": (InteractionOutputSerializer, "interactions.view_interaction"),
    "purchase": (PurchaseOutputSerializer, "interactions.view_purchase"),
    "task": (TaskOutputSerializer, "interactions.view_task"),
    "survey_response": (ResponseOutputSerializer, "surveys.view_response"),
    "survey_invitation": (InvitationOutputSerializer, "surveys.view_invitation"),
    "automation_step": (StepOutputSerializer, "automation.view_step"),
}


class CustomerTimelineApi(APIView):
    """Everything about one customer, newest first, in one cursor-paginated list."""

    required_permissions = {"GET": "customers.view_customer"}

    @extend_schema(
        operation_id="customers_timeline",
        parameters=[
            OpenApiParameter(
                "kinds",
                str,
                description="Comma-separated kinds to include: "
                + ", ".join(TIMELINE_KINDS)
                + ". Default: all. An unknown kind is a 400 on `kinds`.",
            ),
            OpenApiParameter("cursor", str, description="From a previous page's `next`."),
            OpenApiParameter("page_size", int, description="1 to 500, default 50."),
        ],
        responses={
            200: inline_serializer(
                name="TimelinePage",
                fields={
                    "results": TimelineEntryOutputSerializer(many=True),
                    "next": serializers.URLField(
                        allow_null=True, help_text="The next (older) page; null at the end."
                    ),
                },
            ),
            **error_responses(400, 401, 403, 404),
        },
        description="The customer's stage transitions, interactions, purchases and tasks "
        "merged newest first (ties: by kind, then id, descending), each exactly once "
        "however the pages fall. Kinds the user's role may not see are left out.",
    )
    def get(self, request: Request, pk: int) -> Response:
        customer = get_object_or_404(Customer.objects.only("pk"), pk=pk)
        query = TimelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        kinds = list(TIMELINE_KINDS)
        if params.get("kinds"):
            kinds = [kind.strip() for kind in params["kinds"].split(",") if kind.strip()]
            unknown = sorted(set(kinds) - set(TIMELINE_KINDS))
            if unknown:
                raise serializers.ValidationError(
                    {"kinds": [f"Unknown kinds: {', '.join(unknown)}."]}
                )
        visible = [kind for kind in kinds if request.user.has_perm(TIMELINE_KINDS[kind][1])]
        if not visible:
            # customer_timeline reads "no kinds" as "every kind".
            return Response({"results": [], "next": None})
        page = customer_timeline(
            customer_id=customer.pk,
            cursor=params.get("cursor"),
            limit=params["page_size"],
            kinds=visible,
        )
        entries = TimelineEntryOutputSerializer(
            page.entries,
            many=True,
            context={"data_serializers": {k: s for k, (s, _) in TIMELINE_KINDS.items()}},
        )
        next_url = None
        if page.next_cursor:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", page.next_cursor)
        return Response({"results": entries.data, "next": next_url})
