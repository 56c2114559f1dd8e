"""Lead form endpoints: forms (CRUD) and their submissions (list; submit from a server)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.schema import error_responses
from leadforms.api.serializers import (
    LeadFormInputSerializer,
    LeadFormSerializer,
    LeadFormStatsSerializer,
    StatsQuerySerializer,
    SubmissionInputSerializer,
    SubmissionOutputSerializer,
)
from leadforms.filters import LeadFormFilter, SubmissionFilter
from leadforms.models import LeadForm, Submission
from leadforms.selectors import leadform_stats
from leadforms.services import form_create, form_delete, form_submit, form_update


@extend_schema_view(
    get=extend_schema(
        operation_id="forms_list",
        responses={200: LeadFormSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class LeadFormListCreateApi(generics.ListAPIView):
    serializer_class = LeadFormSerializer
    filterset_class = LeadFormFilter
    ordering_fields = ["name", "created_at", "id"]
    ordering = ["name"]
    required_permissions = {"GET": "leadforms.view_leadform", "POST": "leadforms.add_leadform"}
    queryset = LeadForm.objects.all()

    @extend_schema(
        operation_id="forms_create",
        request=LeadFormInputSerializer,
        responses={201: LeadFormSerializer, **error_responses(400, 401, 403)},
        description="Errors in `fields` are keyed by path, e.g. `fields[1].maps_to`.",
    )
    def post(self, request: Request) -> Response:
        serializer = LeadFormInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        form = form_create(**serializer.validated_data)
        return Response(LeadFormSerializer(form).data, status=status.HTTP_201_CREATED)


class LeadFormDetailApi(APIView):
    required_permissions = {
        "GET": "leadforms.view_leadform",
        "PATCH": "leadforms.change_leadform",
        "DELETE": "leadforms.delete_leadform",
    }

    @extend_schema(
        operation_id="forms_retrieve",
        responses={200: LeadFormSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        return Response(LeadFormSerializer(get_object_or_404(LeadForm, slug=slug)).data)

    @extend_schema(
        operation_id="forms_partial_update",
        request=LeadFormInputSerializer(partial=True),
        responses={200: LeadFormSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request: Request, slug: str) -> Response:
        form = get_object_or_404(LeadForm, slug=slug)
        serializer = LeadFormInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        form = form_update(form=form, data=serializer.validated_data)
        return Response(LeadFormSerializer(form).data)

    @extend_schema(
        operation_id="forms_destroy",
        responses={204: None, **error_responses(400, 401, 403, 404)},
        description="Only a form nobody submitted can be deleted; otherwise a 400: "
        "deactivate it instead.",
    )
    def delete(self, request: Request, slug: str) -> Response:
        form_delete(form=get_object_or_404(LeadForm, slug=slug))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(
        operation_id="forms_submissions_list",
        responses={
            200: SubmissionOutputSerializer(many=True),
            **error_responses(400, 401, 403, 404),
        },
    )
)
class LeadFormSubmissionsApi(generics.ListAPIView):
    """A form's submissions, newest first; POST submits it from a server-side integration."""

    serializer_class = SubmissionOutputSerializer
    filterset_class = SubmissionFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at"]
    required_permissions = {
        "GET": "leadforms.view_submission",
        "POST": "leadforms.add_submission",
    }

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL kwargs
            return Submission.objects.none()
        form = get_object_or_404(LeadForm, slug=self.kwargs["slug"])
        return form.submissions.select_related("form")

    @extend_schema(
        operation_id="forms_submissions_create",
        request=SubmissionInputSerializer,
        responses={201: SubmissionOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="The same path as the public form: match the customer by email (an "
        "existing one is only added to, never overwritten) or create them, record consent or "
        "send the confirmation email (docs/consent.md), fire `form.submitted`. Field errors "
        "are keyed by the form's field names.",
    )
    def post(self, request: Request, slug: str) -> Response:
        form = get_object_or_404(LeadForm, slug=slug)
        serializer = SubmissionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = form_submit(form=form, **serializer.validated_data)
        return Response(SubmissionOutputSerializer(submission).data, status=status.HTTP_201_CREATED)


def _day_start(day: date | None, *, after: bool = False) -> datetime | None:
    """Midnight (in the project's time zone) of `day`, or of the day after it (None after the
    last day Python has, 9999-12-31: no bound)."""
    if day is None or (after and day == date.max):
        return None
    if after:
        day += timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time.min))


class LeadFormStatsApi(APIView):
    """How well a form captures customers, over a period."""

    required_permissions = {"GET": "leadforms.view_submission"}

    @extend_schema(
        operation_id="forms_stats",
        parameters=[StatsQuerySerializer],
        responses={200: LeadFormStatsSerializer, **error_responses(400, 401, 403, 404)},
        description="Submissions by state, new and existing customers, consent, the "
        "confirmation rate of double opt-in, how many of the customers it created have left "
        "Attract, and the top UTM sources (docs/metrics.md, Lead forms). Without `start` and "
        "`end`, every submission counts.",
    )
    def get(self, request: Request, slug: str) -> Response:
        form = get_object_or_404(LeadForm, slug=slug)
        query = StatsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data.get("start"), query.validated_data.get("end")
        stats = leadform_stats(form=form, start=_day_start(start), end=_day_start(end, after=True))
        data = {
            **asdict(stats),
            "start": start,
            "end": end,
            "confirmation_rate": stats.confirmation_rate,
            "advance_rate": stats.advance_rate,
        }
        return Response(LeadFormStatsSerializer(data).data)
