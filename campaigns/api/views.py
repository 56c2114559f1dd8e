"""Campaign endpoints: drafts (CRUD with their variants), the actions of the state machine,
the results and a personalised preview. Each view validates input, calls one service and
serializes the result; `required_permissions` names the permission of the role matrix.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api.serializers import (
    CampaignCreateInputSerializer,
    CampaignInputSerializer,
    CampaignOutputSerializer,
    PreviewSerializer,
    ScheduleInputSerializer,
    StatsSerializer,
)
from campaigns.filters import CampaignFilter
from campaigns.models import Campaign
from campaigns.selectors import campaign_costs, campaign_queryset, campaign_results
from campaigns.services import (
    campaign_cancel,
    campaign_create,
    campaign_delete,
    campaign_pause,
    campaign_preview,
    campaign_resume,
    campaign_schedule,
    campaign_send_now,
    campaign_update,
)
from common.api.request import request_user
from common.api.schema import error_responses
from customers.models import Customer


def _campaign(pk: int) -> Campaign:
    return get_object_or_404(campaign_queryset(), pk=pk)


def _output(pk: int) -> dict[str, Any]:
    return CampaignOutputSerializer(_campaign(pk)).data


@extend_schema_view(
    get=extend_schema(
        operation_id="campaigns_list",
        responses={200: CampaignOutputSerializer(many=True), **error_responses(400, 401, 403)},
    )
)
class CampaignListCreateApi(generics.ListAPIView):
    """List campaigns (newest first) or create a draft."""

    serializer_class = CampaignOutputSerializer
    filterset_class = CampaignFilter
    ordering_fields = ["created_at", "name", "id"]
    ordering = ["-created_at"]
    required_permissions = {"GET": "campaigns.view_campaign", "POST": "campaigns.add_campaign"}

    def get_queryset(self) -> Any:
        return campaign_queryset()

    @extend_schema(
        operation_id="campaigns_create",
        request=CampaignCreateInputSerializer,
        responses={201: CampaignOutputSerializer, **error_responses(400, 401, 403)},
        description="Create a draft: a name, the audience (`segment` or `customer_ids`), the "
        "channel and at least one variant; the variants' `split`s add up to 100. Errors in a "
        "variant are keyed `variants[<i>].<field>`.",
    )
    def post(self, request: Request) -> Response:
        serializer = CampaignCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        campaign = campaign_create(created_by=request_user(request), **data)
        return Response(_output(campaign.pk), status=status.HTTP_201_CREATED)


class CampaignDetailApi(APIView):
    """Read, change (drafts only) or delete (drafts only) one campaign."""

    required_permissions = {
        "GET": "campaigns.view_campaign",
        "PATCH": "campaigns.change_campaign",
        "DELETE": "campaigns.delete_campaign",
    }

    @extend_schema(
        operation_id="campaigns_retrieve",
        responses={200: CampaignOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_output(pk))

    @extend_schema(
        operation_id="campaigns_partial_update",
        request=CampaignInputSerializer,
        responses={200: CampaignOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Change a draft; `variants`, when given, replaces all of them. A campaign "
        "that is no longer a draft is a 400 on `state`.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        campaign = _campaign(pk)
        serializer = CampaignInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        extra: dict[str, Any] = {}
        for name in ("segment", "customer_ids"):
            if name in data:
                extra[name] = data.pop(name)
        variants = data.pop("variants", None)
        campaign_update(campaign=campaign, data=data, variants=variants, **extra)
        return Response(_output(pk))

    @extend_schema(
        operation_id="campaigns_destroy",
        responses={204: None, **error_responses(400, 401, 403, 404)},
        description="Delete a draft. Any other campaign is history: a 400 on `state` (cancel "
        "it instead).",
    )
    def delete(self, request: Request, pk: int) -> Response:
        campaign_delete(campaign=_campaign(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CampaignScheduleApi(APIView):
    required_permissions = {"POST": "campaigns.send_campaign"}

    @extend_schema(
        operation_id="campaigns_schedule",
        request=ScheduleInputSerializer,
        responses={200: CampaignOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Draft → scheduled: sending starts at `scheduled_at` (within a minute). "
        "The recipients are fixed when it starts, not now.",
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = _campaign(pk)
        serializer = ScheduleInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign_schedule(campaign=campaign, at=serializer.validated_data["scheduled_at"])
        return Response(_output(pk))


def _action(service: Any, operation_id: str, description: str) -> type[APIView]:
    class ActionApi(APIView):
        required_permissions = {"POST": "campaigns.send_campaign"}

        @extend_schema(
            operation_id=operation_id,
            request=None,
            responses={200: CampaignOutputSerializer, **error_responses(400, 401, 403, 404)},
            description=description
            + " An action the campaign's state does not allow is a 400 on `state`.",
        )
        def post(self, request: Request, pk: int) -> Response:
            service(campaign=_campaign(pk))
            return Response(_output(pk))

    ActionApi.__name__ = ActionApi.__qualname__ = (
        "".join(part.title() for part in operation_id.split("_")) + "Api"
    )
    ActionApi.__doc__ = description
    return ActionApi


CampaignSendNowApi = _action(
    campaign_send_now,
    "campaigns_send_now",
    "Draft or scheduled → sending, now. The recipients are fixed now: the customers the "
    "audience holds at this moment (`total`, as of `audience_fixed_at`); customers who join "
    "the segment later are not sent to, those who leave it still are. A second call (a "
    "double click) is refused; each customer gets at most one message whatever happens.",
)
CampaignPauseApi = _action(campaign_pause, "campaigns_pause", "Sending or scheduled → paused.")
CampaignResumeApi = _action(
    campaign_resume,
    "campaigns_resume",
    "Paused → sending where it stopped (or scheduled, if it had not started).",
)
CampaignCancelApi = _action(
    campaign_cancel, "campaigns_cancel", "Any campaign not sent → cancelled, for good."
)


class CampaignStatsApi(APIView):
    required_permissions = {"GET": "campaigns.view_campaign"}

    @extend_schema(
        operation_id="campaigns_stats",
        responses={200: StatsSerializer, **error_responses(401, 403, 404)},
        description="Counts and rates per variant and in total, each variant's rate on the A/B "
        "metric with its 95% Wilson interval, the verdict (a winner only with ≥ 100 sends per "
        "variant and p < 0.05), and the costs (docs/metrics.md, Campaigns).",
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = _campaign(pk)
        results = campaign_results(campaign=campaign)

        def counts(c: Any) -> dict[str, Any]:
            data = asdict(c)
            data["rates"] = c.rates
            return data

        verdict = results.verdict
        data = {
            "ab_metric": campaign.ab_metric,
            "total": counts(results.total),
            "variants": [
                {
                    "variant": r.variant.pk,
                    "name": r.variant.name,
                    "split": r.variant.split,
                    "counts": counts(r.counts),
                    "metric_successes": r.metric_successes,
                    "metric_rate": r.metric_rate,
                    "interval_low": r.interval[0],
                    "interval_high": r.interval[1],
                }
                for r in results.variants
            ],
            "verdict": {
                "winner": verdict.winner.pk if verdict and verdict.winner else None,
                "p_value": verdict.p_value if verdict else None,
                "message": verdict.message if verdict else "",
            },
            "costs": asdict(campaign_costs(campaign=campaign)),
        }
        return Response(StatsSerializer(data).data)


class CampaignPreviewApi(APIView):
    required_permissions = {"GET": "campaigns.view_campaign"}

    @extend_schema(
        operation_id="campaigns_preview",
        parameters=[
            OpenApiParameter("customer", int, required=True, description="The customer's id.")
        ],
        responses={200: PreviewSerializer(many=True), **error_responses(400, 401, 403, 404)},
        description="Each variant personalised for the customer, as they would receive it "
        "(before tracking links and the unsubscribe footer are added).",
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = _campaign(pk)
        raw = request.query_params.get("customer", "")
        if not raw.isdigit():
            raise ValidationError({"customer": ["Give the customer's id."]})
        customer = Customer.objects.select_related("stage", "owner").filter(pk=int(raw)).first()
        if customer is None:
            raise ValidationError({"customer": [f"Unknown customer {raw}."]})
        data = []
        for variant in campaign.variants.order_by("pk"):
            rendered = campaign_preview(campaign=campaign, variant=variant, customer=customer)
            data.append({"variant": variant.pk, "name": variant.name, **asdict(rendered)})
        return Response(PreviewSerializer(data, many=True).data)
