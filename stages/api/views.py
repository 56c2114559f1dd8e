"""Stage configuration and customer transition endpoints."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.pagination import CursorPagination
from common.api.request import request_user
from common.api.schema import error_responses
from customers.selectors import customer_queryset
from stages.api.serializers import (
    StageCreateInputSerializer,
    StageOutputSerializer,
    StageReorderInputSerializer,
    StageUpdateInputSerializer,
    TransitionInputSerializer,
    TransitionOutputSerializer,
)
from stages.filters import TransitionFilter
from stages.models import ActorKind, Stage, StageTransition
from stages.selectors import stage_list, transition_list
from stages.services import (
    customer_move_stage,
    stage_create,
    stage_delete,
    stage_reorder,
    stage_update,
)


class StageListCreateApi(APIView):
    """All stages in wheel order, with their phase; admins add stages."""

    required_permissions = {"GET": "stages.view_stage", "POST": "stages.manage_stage"}

    @extend_schema(
        operation_id="stages_list",
        responses={200: StageOutputSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response(StageOutputSerializer(stage_list(), many=True).data)

    @extend_schema(
        operation_id="stages_create",
        request=StageCreateInputSerializer,
        responses={201: StageOutputSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        serializer = StageCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stage = stage_create(**serializer.validated_data)
        return Response(StageOutputSerializer(stage).data, status=status.HTTP_201_CREATED)


class StageDetailApi(APIView):
    """Rename, re-phase, archive or delete one stage (by slug)."""

    required_permissions = {
        "GET": "stages.view_stage",
        "PATCH": "stages.manage_stage",
        "DELETE": "stages.manage_stage",
    }

    @extend_schema(
        operation_id="stages_retrieve",
        responses={200: StageOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        return Response(StageOutputSerializer(get_object_or_404(Stage, slug=slug)).data)

    @extend_schema(
        operation_id="stages_partial_update",
        request=StageUpdateInputSerializer,
        responses={200: StageOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, slug: str) -> Response:
        stage = get_object_or_404(Stage, slug=slug)
        serializer = StageUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stage = stage_update(stage=stage, **serializer.validated_data)
        return Response(StageOutputSerializer(stage).data)

    @extend_schema(
        operation_id="stages_destroy",
        responses={204: None, **error_responses(400, 401, 403, 404)},
        description="Delete a stage that holds no customers and appears in no history; "
        "otherwise 400 (archive it instead).",
    )
    def delete(self, request: Request, slug: str) -> Response:
        stage_delete(stage=get_object_or_404(Stage, slug=slug))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StageReorderApi(APIView):
    """Set the order of all stages at once."""

    required_permissions = {"POST": "stages.manage_stage"}

    @extend_schema(
        operation_id="stages_reorder",
        request=StageReorderInputSerializer,
        responses={200: StageOutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        serializer = StageReorderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stages = stage_reorder(slugs=serializer.validated_data["slugs"])
        return Response(StageOutputSerializer(stages, many=True).data)


class TransitionPagination(CursorPagination):
    ordering = ("occurred_at", "id")


class CustomerTransitionListCreateApi(generics.GenericAPIView):
    """A customer's stage history (oldest first), and moving the customer."""

    serializer_class = TransitionOutputSerializer
    pagination_class = TransitionPagination
    # Filters only: the history is in the order it happened, which the cursor relies on.
    filter_backends = [DjangoFilterBackend]
    filterset_class = TransitionFilter
    required_permissions = {
        "GET": "stages.view_stagetransition",
        "POST": "customers.move_customer",
    }

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL kwargs
            return StageTransition.objects.none()
        customer = get_object_or_404(customer_queryset(), pk=self.kwargs["pk"])
        return transition_list(customer_id=customer.pk)

    @extend_schema(
        operation_id="customers_transitions_list",
        responses={
            200: TransitionOutputSerializer(many=True),
            **error_responses(400, 401, 403, 404),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(TransitionOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="customers_transitions_create",
        request=TransitionInputSerializer,
        responses={201: TransitionOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Move the customer to `to_stage`. A move to the current stage or to an "
        "archived stage is a 400 on `to_stage`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        customer = get_object_or_404(customer_queryset(), pk=pk)
        serializer = TransitionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transition = customer_move_stage(
            customer=customer,
            to_stage=serializer.validated_data["to_stage"],
            reason=serializer.validated_data["reason"],
            actor_kind=ActorKind.API,
            actor_user=request_user(request),
        )
        return Response(TransitionOutputSerializer(transition).data, status=status.HTTP_201_CREATED)
