"""The analytics API: each flywheel number as JSON, or CSV for BI tools and spreadsheets.

Every endpoint reads the same query parameters (validated by its input serializer; a bad
value is a 400 naming the field, in JSON even when CSV was asked for), calls one selector,
and answers `{"start", "end", ..., "results": [rows]}`, or the rows as CSV with
`?format=csv` or `Accept: text/csv`. `required_permissions` names the permission of the
role matrix (accounts.roles): `analytics.view_flywheel` for the wheel's numbers,
`analytics.view_costs` for money spent per customer.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, ClassVar

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.api import serializers as s
from analytics.api.renderers import CSVRenderer
from common.api.schema import error_responses

VIEW_FLYWHEEL = "analytics.view_flywheel"
VIEW_COSTS = "analytics.view_costs"


def _described(name: str, row: type[serializers.Serializer], input_: type) -> dict[int, Any]:
    """The OpenAPI description of a response: the echoed parameters and the rows."""
    fields: dict[str, serializers.Field] = {}
    for field_name, field in input_().fields.items():
        if isinstance(field, serializers.DateField):
            fields[field_name] = serializers.DateField()
        elif isinstance(field, serializers.PrimaryKeyRelatedField):
            fields[field_name] = serializers.IntegerField(allow_null=True)
        else:
            fields[field_name] = serializers.CharField(allow_null=True)
    fields["results"] = row(many=True)
    return {
        200: OpenApiResponse(
            inline_serializer(name=f"Analytics{name}Response", fields=fields),
            description="JSON, or the `results` rows as CSV (`?format=csv`, `Accept: text/csv`).",
        ),
        **error_responses(400, 401, 403),
    }


class AnalyticsApi(APIView):
    """Validate the query, call one selector, answer JSON or CSV."""

    renderer_classes = [JSONRenderer, CSVRenderer]
    required_permissions: ClassVar[dict[str, str]] = {"GET": VIEW_FLYWHEEL}
    input_serializer: ClassVar[type[serializers.Serializer]] = s.FilteredInputSerializer
    row_serializer: ClassVar[type[serializers.Serializer]]
    name: ClassVar[str]

    def compute(self, params: dict[str, Any]) -> list[Any]:
        raise NotImplementedError

    def get(self, request: Request) -> Response:
        serializer = self.input_serializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        params = dict(serializer.validated_data)
        rows = self.compute(params)
        echoed: dict[str, Any] = {}
        for field_name in serializer.fields.keys():  # noqa: SIM118 - a BindingDict
            value = params.get(field_name)
            echoed[field_name] = getattr(value, "pk", value)
        data = {
            **{k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in echoed.items()},
            "results": self.row_serializer([asdict(row) for row in rows], many=True).data,
        }
        response = Response(data)
        if (
            getattr(request, "accepted_renderer", None)
            and request.accepted_renderer.format == "csv"
        ):
            period = "-".join(str(params[k]) for k in ("start", "end") if k in params)
            filename = f"{self.name}-{period}.csv" if period else f"{self.name}.csv"
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        """Errors are JSON whatever was asked for: a CSV of an error would hide it."""
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400 and isinstance(response, Response):
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = "application/json"
            response.renderer_context = self.get_renderer_context()  # type: ignore[attr-defined]
        return response


def _filters(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "start": params["start"],
        "end": params["end"],
        "segment": params.get("segment"),
        "owner": params.get("owner"),
    }


@extend_schema_view(
    get=extend_schema(
        operation_id="analytics_stage_counts",
        parameters=[s.SeriesInputSerializer],
        responses=_described("StageCounts", s.StageCountSerializer, s.SeriesInputSerializer),
    )
)
class StageCountsApi(AnalyticsApi):
    """Customers in each stage at the end of each bucket, with its entries and exits."""

    input_serializer = s.SeriesInputSerializer
    row_serializer = s.StageCountSerializer
    name = "stage-counts"

    def compute(self, params: dict[str, Any]) -> list[Any]:
        return selectors.stage_counts_over_time(
            **_filters(params), granularity=params["granularity"]
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="analytics_phase_counts",
        parameters=[s.SeriesInputSerializer],
        responses=_described("PhaseCounts", s.PhaseCountSerializer, s.SeriesInputSerializer),
    )
)
class PhaseCountsApi(AnalyticsApi):
    """Customers in each phase at the end of each bucket, and moves into and out of it."""

    input_serializer = s.SeriesInputSerializer
    row_serializer = s.PhaseCountSerializer
    name = "phase-counts"

    def compute(self, params: dict[str, Any]) -> list[Any]:
        return selectors.phase_counts_over_time(
            **_filters(params), granularity=params["granularity"]
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="analytics_transitions",
        parameters=[s.FilteredInputSerializer],
        responses=_described(
            "TransitionMatrix", s.TransitionCellSerializer, s.FilteredInputSerializer
        ),
    )
)
class TransitionMatrixApi(AnalyticsApi):
    """Moves of the period from each stage to each other, by direction."""

    row_serializer = s.TransitionCellSerializer
    name = "transitions"

    def compute(self, params: dict[str, Any]) -> list[Any]:
        return selectors.transition_matrix(**_filters(params))


@extend_schema_view(
    get=extend_schema(
        operation_id="analytics_phase_conversion",
        parameters=[s.FilteredInputSerializer],
        responses=_described(
            "PhaseConversions", s.PhaseConversionSerializer, s.FilteredInputSerializer
        ),
    )
)
class PhaseConversionApi(AnalyticsApi):
    """Per phase: the share of its population that moved on during the period."""

    row_serializer = s.PhaseConversionSerializer
    name = "phase-conversion"

    def compute(self, params: dict[str, Any]) -> list[Any]:
        return selectors.phase_conversion(**_filters(params))


@extend_schema_view(
    get=extend_schema(
        operation_id="analytics_velocity",
        parameters=[s.FilteredInputSerializer],
        responses=_described(
            "StageVelocities", s.StageVelocitySerializer, s.FilteredInputSerializer
        ),
    )
)
class VelocityApi(AnalyticsApi):
    """Per stage: median and 90th-percentile time in it, over stays ended in the period."""

    row_serializer = s.StageVelocitySerializer
    name = "velocity"

    def compute(self, params: dict[str, Any]) -> list[Any]:
        return selectors.stage_velocity(**_filters(params))


@extend_schema_view(
    get=extend_schema(
        operation_id="analytics_force_friction",
        parameters=[s.FilteredInputSerializer],
        responses=_described("ForceFriction", s.ForceFrictionSerializer, s.FilteredInputSerializer),
    )
)
class ForceFrictionApi(AnalyticsApi):
    """Per stage and team: the force and friction of the period."""

    row_serializer = s.ForceFrictionSerializer
    name = "force-friction"

    def compute(self, params: dict[str, Any]) -> list[Any]:
        return selectors.force_friction_by_stage(**_filters(params))


@extend_schema_view(
    get=extend_schema(
        operation_id="analytics_momentum",
        parameters=[s.SeriesInputSerializer],
        responses=_described("Momentum", s.MomentumPointSerializer, s.SeriesInputSerializer),
    )
)
class MomentumApi(AnalyticsApi):
    """Force, friction and momentum (force - friction) per bucket."""

    input_serializer = s.SeriesInputSerializer
    row_serializer = s.MomentumPointSerializer
    name = "momentum"

    def compute(self, params: dict[str, Any]) -> list[Any]:
        return selectors.momentum_over_time(**_filters(params), granularity=params["granularity"])


@extend_schema_view(
    get=extend_schema(
        operation_id="analytics_surveys",
        parameters=[s.SurveyTrendInputSerializer],
        responses=_described(
            "SurveyTrends", s.SurveyTrendPointSerializer, s.SurveyTrendInputSerializer
        ),
    )
)
class SurveyTrendsApi(AnalyticsApi):
    """NPS, CSAT and CES (or one `kind`) per bucket."""

    input_serializer = s.SurveyTrendInputSerializer
    row_serializer = s.SurveyTrendPointSerializer
    name = "surveys"

    def compute(self, params: dict[str, Any]) -> list[Any]:
        return selectors.survey_trends(
            **_filters(params), granularity=params["granularity"], kind=params.get("kind")
        )


@extend_schema_view(
    get=extend_schema(
        operation_id="analytics_loop_completion",
        parameters=[s.FilteredInputSerializer],
        responses=_described(
            "LoopCompletion", s.LoopCompletionSerializer, s.FilteredInputSerializer
        ),
    )
)
class LoopCompletionApi(AnalyticsApi):
    """The share of Delight customers of the period who referred someone or bought again."""

    row_serializer = s.LoopCompletionSerializer
    name = "loop-completion"

    def compute(self, params: dict[str, Any]) -> list[Any]:
        return [selectors.loop_completion(**_filters(params))]


@extend_schema_view(
    get=extend_schema(
        operation_id="analytics_lifetime_value",
        parameters=[s.LifetimeValueInputSerializer],
        responses=_described(
            "LifetimeValue", s.SegmentValueSerializer, s.LifetimeValueInputSerializer
        ),
    )
)
class LifetimeValueApi(AnalyticsApi):
    """Lifetime value per segment (or of one `segment`) and currency, now."""

    input_serializer = s.LifetimeValueInputSerializer
    row_serializer = s.SegmentValueSerializer
    name = "lifetime-value"

    def compute(self, params: dict[str, Any]) -> list[Any]:
        return selectors.lifetime_value_by_segment(segment=params.get("segment"))


@extend_schema_view(
    get=extend_schema(
        operation_id="analytics_costs",
        parameters=[s.PeriodInputSerializer],
        responses=_described("Costs", s.CostComparisonSerializer, s.PeriodInputSerializer),
    )
)
class CostsApi(AnalyticsApi):
    """Acquisition cost per new customer beside retention cost per retained customer."""

    input_serializer = s.PeriodInputSerializer
    row_serializer = s.CostComparisonSerializer
    required_permissions = {"GET": VIEW_COSTS}
    name = "costs"

    def compute(self, params: dict[str, Any]) -> list[Any]:
        return selectors.acquisition_vs_retention_cost(start=params["start"], end=params["end"])


@extend_schema_view(
    get=extend_schema(
        operation_id="analytics_campaigns",
        parameters=[s.PeriodInputSerializer],
        responses=_described(
            "CampaignPerformance", s.CampaignPerformanceSerializer, s.PeriodInputSerializer
        ),
    )
)
class CampaignPerformanceApi(AnalyticsApi):
    """The campaigns started in the period with their sent, open, click and conversion numbers."""

    input_serializer = s.PeriodInputSerializer
    row_serializer = s.CampaignPerformanceSerializer
    name = "campaigns"

    def compute(self, params: dict[str, Any]) -> list[Any]:
        return selectors.campaign_performance(start=params["start"], end=params["end"])
