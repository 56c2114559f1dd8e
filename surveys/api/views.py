"""Survey endpoints: the surveys, sending (to one customer or in bulk), a bulk send's
progress, and the invitation and answer lists. Each view validates input, calls one service,
serializes the result; `required_permissions` names the permission of the role matrix.
"""

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
from surveys.api.serializers import (
    BatchCreateInputSerializer,
    BatchOutputSerializer,
    InvitationCreateInputSerializer,
    InvitationOutputSerializer,
    ResponseOutputSerializer,
    SurveyOutputSerializer,
)
from surveys.filters import InvitationFilter, ResponseFilter
from surveys.models import InvitationSource, Survey
from surveys.selectors import (
    batch_queryset,
    invitation_queryset,
    response_queryset,
    survey_queryset,
    survey_score,
)
from surveys.services import survey_invite_or_get, survey_send_bulk


def _survey(pk: int) -> Survey:
    return get_object_or_404(Survey, pk=pk)


class SurveyListApi(APIView):
    """Every survey with its scale, sends, answers and score so far."""

    required_permissions = {"GET": "surveys.view_survey"}

    @extend_schema(
        operation_id="surveys_list",
        responses={200: SurveyOutputSerializer(many=True), **error_responses(401, 403)},
        description="The surveys (a handful: not paginated). `summary` is the survey's own "
        "NPS, CSAT or CES over all its answers (docs/metrics.md).",
    )
    def get(self, request: Request) -> Response:
        surveys = list(survey_queryset())
        summaries = {survey.pk: survey_score(kind=survey.kind, survey=survey) for survey in surveys}
        serializer = SurveyOutputSerializer(surveys, many=True, context={"summaries": summaries})
        return Response(serializer.data)


class SurveyInvitationCreateApi(APIView):
    """Send a survey to one customer."""

    required_permissions = {"POST": "surveys.add_invitation"}

    @extend_schema(
        operation_id="surveys_invitations_create",
        request=InvitationCreateInputSerializer,
        responses={
            201: InvitationOutputSerializer,
            200: OpenApiResponse(
                InvitationOutputSerializer,
                description="The invitation made earlier with the same `idempotency_key`.",
            ),
            **error_responses(400, 401, 403, 404),
        },
        description="Invite the customer and queue the email with their personal link. The "
        "invitation's `state` is `sent` (the email is in the outbox) or `skipped` with the "
        "`reason`. An inactive survey is a 400 on `survey`; an `idempotency_key` already "
        "used for another survey or customer is a 400 on `idempotency_key`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        survey = _survey(pk)
        serializer = InvitationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = data.get("idempotency_key")
        customer = data["customer"]
        # Created or not is the service's answer, decided by whose insert won the key's
        # unique index: of concurrent requests with one key, exactly one says 201.
        invitation, created = survey_invite_or_get(
            survey=survey,
            customer=customer,
            source=InvitationSource.API,
            sent_by=request_user(request),
            idempotency_key=f"api:{key}" if key else None,
        )
        invitation = invitation_queryset().get(pk=invitation.pk)
        return Response(
            InvitationOutputSerializer(invitation).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SurveyBatchCreateApi(APIView):
    """Send a survey in bulk to the customers matching filters (or to a list of ids)."""

    required_permissions = {"POST": "surveys.add_surveybatch"}

    @extend_schema(
        operation_id="surveys_batches_create",
        request=BatchCreateInputSerializer,
        responses={202: BatchOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Records the bulk send and returns at once (202); a worker sends it in "
        "chunks. Follow its progress at /surveys/batches/{id}/. Each customer is invited "
        "once per bulk send; one who still holds an open invitation to the survey is "
        "recorded as skipped with the reason. Give one audience: `filters` (`{}` for every "
        "customer), `customer_ids` or `segment` (a saved segment's id). The audience is fixed "
        "now: `total` customers, as of `audience_fixed_at`; customers who join the segment or "
        "match the filters later are not invited, those who leave still are. An unknown or "
        "invalid filter is a 400 on `filters`; an unknown segment, a segment whose rules no "
        "longer validate, or a segment with another audience, a 400 on `segment`; no "
        "audience at all a 400 on `non_field_errors`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        survey = _survey(pk)
        serializer = BatchCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        batch = survey_send_bulk(
            survey=survey,
            sent_by=request_user(request),
            filters=data.get("filters"),
            customer_ids=data.get("customer_ids"),
            segment=data.get("segment"),
        )
        return Response(BatchOutputSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


class SurveyBatchDetailApi(APIView):
    """A bulk send's progress and counts."""

    required_permissions = {"GET": "surveys.view_surveybatch"}

    @extend_schema(
        operation_id="surveys_batches_retrieve",
        responses={200: BatchOutputSerializer, **error_responses(401, 403, 404)},
        description="`state` goes queued → sending → done (or failed, with `error`). "
        "`processed` of `total` customers are done: `sent` + `skipped` + `failed`.",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(BatchOutputSerializer(get_object_or_404(batch_queryset(), pk=pk)).data)


@extend_schema_view(
    get=extend_schema(
        operation_id="surveys_invitations_list",
        responses={200: InvitationOutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class InvitationListApi(generics.ListAPIView):
    """Invitations, newest first, filtered by customer, survey, state, source or bulk send."""

    serializer_class = InvitationOutputSerializer
    filterset_class = InvitationFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at"]
    required_permissions = {"GET": "surveys.view_invitation"}

    def get_queryset(self) -> Any:
        return invitation_queryset()


@extend_schema_view(
    get=extend_schema(
        operation_id="surveys_responses_list",
        responses={200: ResponseOutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class ResponseListApi(generics.ListAPIView):
    """Answers, newest first, filtered by customer, survey, kind, category and period."""

    serializer_class = ResponseOutputSerializer
    filterset_class = ResponseFilter
    ordering_fields = ["answered_at", "score", "id"]
    ordering = ["-answered_at"]
    required_permissions = {"GET": "surveys.view_response"}

    def get_queryset(self) -> Any:
        return response_queryset()
