"""Segment endpoints: CRUD, preview of a definition, a segment's customers, count and CSV
export, static list members (add, remove) and freeze.

Each view validates input, calls one service or selector, serializes the result. Errors in a
definition are 400s keyed by their path: `{"definition.rules[2].value": ["..."]}`.
"""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.request import request_user
from common.api.schema import error_responses
from common.exceptions import ApplicationError
from customers.exports import EXPORT_COLUMNS, customers_csv_response
from customers.filters import CustomerFilter
from customers.models import Customer
from segments.api.serializers import (
    CountOutputSerializer,
    FreezeInputSerializer,
    MembersAddInputSerializer,
    MembersChangedOutputSerializer,
    MembersRemoveInputSerializer,
    PreviewInputSerializer,
    PreviewOutputSerializer,
    SegmentCreateInputSerializer,
    SegmentCustomerSerializer,
    SegmentOutputSerializer,
    SegmentUpdateInputSerializer,
)
from segments.filters import SegmentFilter
from segments.models import Segment
from segments.selectors import (
    definition_preview,
    segment_count,
    segment_customers,
    segment_list,
)
from segments.services import (
    segment_create,
    segment_delete,
    segment_freeze,
    segment_members_add,
    segment_members_remove,
    segment_update,
)

_DEFINITION_400 = {
    400: OpenApiResponse(
        response=OpenApiTypes.OBJECT,
        description="Bad input. Each offending field is a key with a list of messages; errors "
        "inside a definition name their path flat: `definition.rules[2].value`, "
        "`definition.rules[0].rules[1].op`.",
        examples=[
            OpenApiExample(
                "Unknown stage in a rule",
                value={"definition.rules[2].value": ["Unknown stages: nowhere."]},
                status_codes=["400"],
            ),
        ],
    )
}


def _segment(pk: int) -> Segment:
    return get_object_or_404(segment_list(), pk=pk)


@extend_schema_view(
    get=extend_schema(
        operation_id="segments_list",
        responses={200: SegmentOutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class SegmentListCreateApi(generics.ListAPIView):
    """List segments (by name) or create one."""

    serializer_class = SegmentOutputSerializer
    filterset_class = SegmentFilter
    ordering_fields = ["name", "created_at", "id"]
    ordering = ["name"]
    required_permissions = {"GET": "segments.view_segment", "POST": "segments.add_segment"}

    def get_queryset(self) -> Any:
        return segment_list()

    @extend_schema(
        operation_id="segments_create",
        request=SegmentCreateInputSerializer,
        responses={201: SegmentOutputSerializer, **_DEFINITION_400, **error_responses(401, 403)},
        description="Create a dynamic segment (with a definition) or an empty static list.",
    )
    def post(self, request: Request) -> Response:
        serializer = SegmentCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        segment = segment_create(created_by=request_user(request), **serializer.validated_data)
        return Response(SegmentOutputSerializer(segment).data, status=status.HTTP_201_CREATED)


class SegmentDetailApi(APIView):
    """Read, change or delete one segment."""

    required_permissions = {
        "GET": "segments.view_segment",
        "PATCH": "segments.change_segment",
        "DELETE": "segments.delete_segment",
    }

    @extend_schema(
        operation_id="segments_retrieve",
        responses={200: SegmentOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(SegmentOutputSerializer(_segment(pk)).data)

    @extend_schema(
        operation_id="segments_partial_update",
        request=SegmentUpdateInputSerializer,
        responses={
            200: SegmentOutputSerializer,
            **_DEFINITION_400,
            **error_responses(401, 403, 404),
        },
        description="Change name, description or (dynamic) definition. The kind is fixed.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        segment = _segment(pk)
        serializer = SegmentUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        segment_update(segment=segment, data=dict(serializer.validated_data))
        return Response(SegmentOutputSerializer(_segment(pk)).data)

    @extend_schema(
        operation_id="segments_destroy",
        responses={204: None, **error_responses(400, 401, 403, 404)},
        description="A segment that automation rules' conditions, campaigns or bulk survey "
        "sends in progress use is not deleted: a 400 on `segment` naming them.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        segment_delete(segment=_segment(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SegmentPreviewApi(APIView):
    """Count and first customers of a definition, without saving anything."""

    required_permissions = {"POST": ["segments.view_segment", "customers.view_customer"]}

    @extend_schema(
        operation_id="segments_preview",
        request=PreviewInputSerializer,
        responses={200: PreviewOutputSerializer, **_DEFINITION_400, **error_responses(401, 403)},
        description="How many customers the definition matches now, and the newest 20.",
    )
    def post(self, request: Request) -> Response:
        serializer = PreviewInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        count, first = definition_preview(serializer.validated_data["definition"])
        return Response(PreviewOutputSerializer({"count": count, "results": first}).data)


@extend_schema_view(
    get=extend_schema(
        operation_id="segments_customers",
        responses={
            200: SegmentCustomerSerializer(many=True),
            **error_responses(400, 401, 403, 404),
        },
    )
)
class SegmentCustomersApi(generics.ListAPIView):
    """The segment's customers, newest first, cursor-paginated."""

    serializer_class = SegmentCustomerSerializer
    # The customer list's own filters; newest first, the order the cursor pages in.
    filter_backends = [DjangoFilterBackend]
    filterset_class = CustomerFilter
    required_permissions = {"GET": ["segments.view_segment", "customers.view_customer"]}

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL kwargs
            return Customer.objects.none()
        segment = _segment(self.kwargs["pk"])
        return segment_customers(segment).select_related("stage", "owner")


class SegmentCountApi(APIView):
    required_permissions = {"GET": "segments.view_segment"}

    @extend_schema(
        operation_id="segments_count",
        responses={200: CountOutputSerializer, **error_responses(401, 403, 404)},
        description="How many customers the segment has right now.",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response({"count": segment_count(_segment(pk))})


class SegmentExportApi(APIView):
    """The segment's customers as CSV, streamed: the dashboard export's columns and rules."""

    required_permissions = {
        "GET": ["segments.view_segment", "segments.export_segment", "customers.view_customer"]
    }

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The body is CSV written by hand; an error (401, 403, 404) is JSON whatever the
        # client said it accepts, rather than a 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="segments_export",
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="A header line, then one line per customer in id order: "
                f"{', '.join(EXPORT_COLUMNS)}. Text that a spreadsheet would take for a "
                "formula (starting with = + - @) is prefixed with an apostrophe.",
            ),
            **error_responses(401, 403, 404),
        },
        description="Every customer in the segment now, streamed (no pagination).",
    )
    def get(self, request: Request, pk: int) -> StreamingHttpResponse:
        segment = _segment(pk)
        customers = segment_customers(segment).order_by("pk")
        return customers_csv_response(customers, filename=f"segment-{segment.pk}.csv")


def _changed(segment: Segment, changed: int) -> Response:
    return Response(
        MembersChangedOutputSerializer({"changed": changed, "count": segment_count(segment)}).data
    )


class SegmentMembersAddApi(APIView):
    """Add customers to a static list."""

    required_permissions = {"POST": "segments.change_segment"}

    @extend_schema(
        operation_id="segments_members_add",
        request=MembersAddInputSerializer,
        responses={
            200: MembersChangedOutputSerializer,
            **_DEFINITION_400,
            **error_responses(401, 403, 404),
        },
        description="Give exactly one of `customer_ids`, `definition` (everyone matching it "
        "now) or `segment` (everyone in that segment now). A dynamic segment has no members: "
        "a 400 on `segment`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        segment = _segment(pk)
        serializer = MembersAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "segment" in data:
            source = segment_list().filter(pk=data.pop("segment")).first()
            if source is None:
                raise ApplicationError("No such segment.", field="segment")
            data["source"] = source
        changed = segment_members_add(segment=segment, **data)
        return _changed(segment, changed)


class SegmentMembersRemoveApi(APIView):
    """Take customers off a static list."""

    required_permissions = {"POST": "segments.change_segment"}

    @extend_schema(
        operation_id="segments_members_remove",
        request=MembersRemoveInputSerializer,
        responses={
            200: MembersChangedOutputSerializer,
            **error_responses(400, 401, 403, 404),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        segment = _segment(pk)
        serializer = MembersRemoveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changed = segment_members_remove(
            segment=segment, customer_ids=serializer.validated_data["customer_ids"]
        )
        return _changed(segment, changed)


class SegmentFreezeApi(APIView):
    """Copy a segment's current customers into a new static list."""

    required_permissions = {"POST": ["segments.add_segment", "segments.view_segment"]}

    @extend_schema(
        operation_id="segments_freeze",
        request=FreezeInputSerializer,
        responses={201: SegmentOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request: Request, pk: int) -> Response:
        segment = _segment(pk)
        serializer = FreezeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        frozen = segment_freeze(
            segment=segment, created_by=request_user(request), **serializer.validated_data
        )
        return Response(SegmentOutputSerializer(frozen).data, status=status.HTTP_201_CREATED)
