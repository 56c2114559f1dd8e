"""Consent endpoints: a customer's consent (state, history, record a change) and the
suppression list. Each view validates, calls one service, serializes the result."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.request import request_user
from common.api.schema import error_responses
from consent.api.serializers import (
    ConsentRecordInputSerializer,
    CustomerConsentOutputSerializer,
    SuppressionSerializer,
)
from consent.filters import SuppressionFilter
from consent.models import Suppression
from consent.selectors import consent_current, consent_history, suppression_queryset
from consent.services import consent_record, suppression_add, suppression_remove
from customers.models import Customer

HISTORY_LIMIT = 200


def _consent_payload(customer: Customer) -> dict[str, Any]:
    return {
        "customer": customer.pk,
        "channels": [
            {
                "channel": row.channel,
                "granted": row.granted,
                "changed_at": row.changed_at,
                "suppressed": row.suppression is not None,
                "suppression_reason": row.suppression.reason if row.suppression else "",
                "marketing_allowed": row.marketing_allowed,
            }
            for row in consent_current(customer=customer)
        ],
        "history": list(consent_history(customer=customer)[:HISTORY_LIMIT]),
    }


class CustomerConsentApi(APIView):
    """A customer's consent per channel with its history; POST records a change."""

    required_permissions = {
        "GET": ["customers.view_customer", "consent.view_consentevent"],
        "POST": ["customers.view_customer", "consent.add_consentevent"],
    }

    @extend_schema(
        operation_id="customers_consent_retrieve",
        responses={200: CustomerConsentOutputSerializer, **error_responses(401, 403, 404)},
        description="Current consent per channel (and whether marketing may go out now: "
        "consent and no suppression), with the newest 200 history entries.",
    )
    def get(self, request: Request, pk: int) -> Response:
        customer = get_object_or_404(Customer, pk=pk)
        return Response(CustomerConsentOutputSerializer(_consent_payload(customer)).data)

    @extend_schema(
        operation_id="customers_consent_create",
        request=ConsentRecordInputSerializer,
        responses={201: CustomerConsentOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Grant or withdraw consent on a channel; written to the history with "
        "the method (api, import or form), source, ip and user agent given.",
    )
    def post(self, request: Request, pk: int) -> Response:
        customer = get_object_or_404(Customer, pk=pk)
        serializer = ConsentRecordInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        consent_record(
            customer=customer, recorded_by=request_user(request), **serializer.validated_data
        )
        customer.refresh_from_db()
        return Response(
            CustomerConsentOutputSerializer(_consent_payload(customer)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="suppressions_list",
        responses={200: SuppressionSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class SuppressionListCreateApi(generics.ListAPIView):
    """The suppression list, newest first; POST adds an address."""

    serializer_class = SuppressionSerializer
    filterset_class = SuppressionFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at"]
    required_permissions = {"GET": "consent.view_suppression", "POST": "consent.add_suppression"}

    def get_queryset(self) -> Any:
        return suppression_queryset()

    @extend_schema(
        operation_id="suppressions_create",
        request=SuppressionSerializer,
        responses={
            201: SuppressionSerializer,
            200: OpenApiResponse(
                SuppressionSerializer, description="The address was already suppressed."
            ),
            **error_responses(400, 401, 403),
        },
        description="The address is normalised (lower-case email; phone as + and digits).",
    )
    def post(self, request: Request) -> Response:
        serializer = SuppressionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry, created = suppression_add(
            **serializer.validated_data, created_by=request_user(request)
        )
        return Response(
            SuppressionSerializer(entry).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SuppressionDetailApi(APIView):
    required_permissions = {
        "GET": "consent.view_suppression",
        "DELETE": "consent.delete_suppression",
    }

    @extend_schema(
        operation_id="suppressions_retrieve",
        responses={200: SuppressionSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(SuppressionSerializer(get_object_or_404(Suppression, pk=pk)).data)

    @extend_schema(
        operation_id="suppressions_destroy",
        responses={204: None, **error_responses(401, 403, 404)},
        description="Lift the suppression. Marketing still needs the customer's consent.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        suppression_remove(suppression=get_object_or_404(Suppression, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
