"""Webhook endpoints: subscriptions (admins), the delivery log, and retrying a delivery.

Each view validates input, calls one service, serializes the result. The secret of a
subscription is returned once, in the answer to its creation.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import WEBHOOK_TARGETS_PERMISSION
from common.api.request import request_user
from common.api.schema import error_responses
from webhooks.api.serializers import (
    DeliveryDetailOutputSerializer,
    DeliveryOutputSerializer,
    SubscriptionCreatedOutputSerializer,
    SubscriptionCreateInputSerializer,
    SubscriptionOutputSerializer,
    SubscriptionUpdateInputSerializer,
)
from webhooks.filters import DeliveryFilter, SubscriptionFilter
from webhooks.models import Delivery, Subscription
from webhooks.selectors import delivery_queryset
from webhooks.services import (
    delivery_retry,
    subscription_create,
    subscription_delete,
    subscription_update,
)

SUBSCRIPTION_ORDERING = ["name", "created_at", "id"]
DELIVERY_ORDERING = ["created_at", "id"]


def _ordering_parameter(fields: list[str], default: str) -> OpenApiParameter:
    return OpenApiParameter(
        "ordering",
        str,
        description=f"One of {', '.join(fields)}; prefix '-' to reverse. Default {default}.",
    )


def _subscription(pk: int) -> Subscription:
    return get_object_or_404(Subscription, pk=pk)


@extend_schema_view(
    get=extend_schema(
        operation_id="webhook_subscriptions_list",
        parameters=[_ordering_parameter(SUBSCRIPTION_ORDERING, "name")],
        responses={200: SubscriptionOutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class SubscriptionListCreateApi(generics.ListAPIView):
    """List webhook subscriptions or create one."""

    serializer_class = SubscriptionOutputSerializer
    filterset_class = SubscriptionFilter
    ordering_fields = SUBSCRIPTION_ORDERING
    ordering = ["name"]
    required_permissions = {
        "GET": "webhooks.view_subscription",
        "POST": WEBHOOK_TARGETS_PERMISSION,
    }

    def get_queryset(self) -> Any:
        return Subscription.objects.select_related("created_by")

    @extend_schema(
        operation_id="webhook_subscriptions_create",
        request=SubscriptionCreateInputSerializer,
        responses={201: SubscriptionCreatedOutputSerializer, **error_responses(400, 401, 403)},
        description="Subscribe a URL to events. The answer carries the signing `secret`, "
        "which no other API answer shows (admins can read it again in the dashboard). The URL "
        "must be http or https without credentials, and its host must resolve to public "
        'addresses only: `{"url": ["Private and loopback addresses are refused."]}`.',
    )
    def post(self, request: Request) -> Response:
        serializer = SubscriptionCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = subscription_create(
            created_by=request_user(request), **serializer.validated_data
        )
        return Response(
            SubscriptionCreatedOutputSerializer(subscription).data,
            status=status.HTTP_201_CREATED,
        )


class SubscriptionDetailApi(APIView):
    """Read, change or delete one webhook subscription."""

    required_permissions = {
        "GET": "webhooks.view_subscription",
        "PATCH": "webhooks.change_subscription",
        "DELETE": "webhooks.delete_subscription",
    }

    @extend_schema(
        operation_id="webhook_subscriptions_retrieve",
        responses={200: SubscriptionOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(SubscriptionOutputSerializer(_subscription(pk)).data)

    @extend_schema(
        operation_id="webhook_subscriptions_partial_update",
        request=SubscriptionUpdateInputSerializer,
        responses={200: SubscriptionOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Change the name, URL (guarded as on creation), events or `is_active`. "
        "Pending deliveries go to the URL as it is when they are sent.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        subscription = _subscription(pk)
        serializer = SubscriptionUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = subscription_update(subscription=subscription, **serializer.validated_data)
        return Response(SubscriptionOutputSerializer(subscription).data)

    @extend_schema(
        operation_id="webhook_subscriptions_destroy",
        responses={204: None, **error_responses(401, 403, 404)},
        description="Delete the subscription and its delivery log; pending deliveries are "
        "not sent. To pause it instead, PATCH `is_active` to false.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        subscription_delete(subscription=_subscription(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(
        operation_id="webhook_deliveries_list",
        parameters=[_ordering_parameter(DELIVERY_ORDERING, "-created_at")],
        responses={200: DeliveryOutputSerializer(many=True), **error_responses(400, 401, 403)},
        description="Filter by `subscription` (id), `state` (pending, delivered, failed) and "
        "`event`. Deliveries of the automation's one-off calls have no subscription.",
    )
)
class DeliveryListApi(generics.ListAPIView):
    """The delivery log, newest first."""

    serializer_class = DeliveryOutputSerializer
    filterset_class = DeliveryFilter
    ordering_fields = DELIVERY_ORDERING
    ordering = ["-created_at"]
    required_permissions = {"GET": "webhooks.view_delivery"}

    def get_queryset(self) -> Any:
        return delivery_queryset()


def _delivery(pk: int) -> Delivery:
    return get_object_or_404(delivery_queryset(), pk=pk)


class DeliveryDetailApi(APIView):
    """One delivery with every attempt."""

    required_permissions = {"GET": "webhooks.view_delivery"}

    @extend_schema(
        operation_id="webhook_deliveries_retrieve",
        responses={200: DeliveryDetailOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        delivery = get_object_or_404(delivery_queryset().prefetch_related("attempt_log"), pk=pk)
        return Response(DeliveryDetailOutputSerializer(delivery).data)


class DeliveryRetryApi(APIView):
    """Queue a failed delivery again."""

    required_permissions = {"POST": "webhooks.change_delivery"}

    @extend_schema(
        operation_id="webhook_deliveries_retry",
        request=None,
        responses={200: DeliveryOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Send a failed delivery again, with a fresh round of retries. Only a "
        "failed delivery can be retried (400 on `state`), and only while its subscription "
        "is active (400 on `subscription`).",
    )
    def post(self, request: Request, pk: int) -> Response:
        delivery = delivery_retry(delivery=_delivery(pk))
        return Response(DeliveryOutputSerializer(delivery).data)
