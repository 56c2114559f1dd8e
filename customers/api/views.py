"""Customer endpoints. Each view validates input, calls one service, serializes the result."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.schema import error_responses
from customers.api.serializers import CustomerInputSerializer, CustomerOutputSerializer
from customers.filters import CustomerFilter
from customers.models import Customer
from customers.selectors import customer_queryset
from customers.services import customer_create, customer_delete, customer_update
from stages.models import ActorKind

ORDERING_FIELDS = [
    "id",
    "created_at",
    "updated_at",
    "last_activity_at",
    "stage_entered_at",
    "email",
    "last_name",
]


class CustomerListCreateApi(generics.ListAPIView):
    """List customers (filtered, ordered, cursor-paginated) or create one."""

    serializer_class = CustomerOutputSerializer
    filterset_class = CustomerFilter
    ordering_fields = ORDERING_FIELDS
    ordering = ["-id"]
    required_permissions = {"GET": "customers.view_customer", "POST": "customers.add_customer"}

    def get_queryset(self) -> Any:
        return customer_queryset()

    @extend_schema(
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
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="customers_create",
        request=CustomerInputSerializer,
        responses={201: CustomerOutputSerializer, **error_responses(400, 401, 403)},
        description="Create a customer. Without `stage` the customer enters `awareness`; "
        "the entry is recorded as the first transition.",
    )
    def post(self, request: Request) -> Response:
        serializer = CustomerInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_create(
            actor_kind=ActorKind.API, actor_user=request.user, **serializer.validated_data
        )
        return Response(
            CustomerOutputSerializer(customer_queryset().get(pk=customer.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class CustomerDetailApi(generics.GenericAPIView):
    """Read, update or delete one customer."""

    serializer_class = CustomerOutputSerializer
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
        responses={200: CustomerOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(CustomerOutputSerializer(self.get_object()).data)

    @extend_schema(
        operation_id="customers_update",
        request=CustomerInputSerializer,
        responses={200: CustomerOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Replace the customer's details; `email` is required, omitted optional "
        "fields keep their values. `stage` may only repeat the current stage: moves go "
        "through POST /customers/{id}/transitions/.",
    )
    def put(self, request: Request, pk: int) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        operation_id="customers_partial_update",
        request=CustomerInputSerializer(partial=True),
        responses={200: CustomerOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Change some of the customer's details.",
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
            customer = customer_update(customer=customer, data=data, actor_user=request.user)
        return Response(CustomerOutputSerializer(customer_queryset().get(pk=customer.pk)).data)
