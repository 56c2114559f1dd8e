"""Message template endpoints: the library (CRUD with filters), a preview personalised for a
customer, and a test send to oneself. Each view validates input, calls one service and
serializes the result; `required_permissions` names the permission of the role matrix.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.request import request_user
from common.api.schema import error_responses
from customers.models import Customer
from messaging.api.serializers import (
    TemplateCreateInputSerializer,
    TemplateCustomerInputSerializer,
    TemplateInputSerializer,
    TemplateOutputSerializer,
    TemplateRenderedSerializer,
    TemplateTestSendOutputSerializer,
    sms_length_data,
)
from messaging.filters import TemplateFilter
from messaging.models import MessageTemplate
from messaging.selectors import template_list
from messaging.services import (
    template_create,
    template_delete,
    template_preview,
    template_test_send,
    template_update,
)

_TEMPLATE_400 = {
    400: OpenApiResponse(
        response=OpenApiTypes.OBJECT,
        description="Bad input. Each offending field is a key with every problem found in it: "
        "an unknown field in a placeholder, an unbalanced stage or phase block, a missing "
        "subject or text, a subject or HTML on an SMS, a name already taken.",
        examples=[
            OpenApiExample(
                "Unknown field",
                value={
                    "body_text": [
                        "Unknown field in {{ frist_name }}: use one of the fields listed, or "
                        "attributes.<key> for a custom attribute."
                    ]
                },
                status_codes=["400"],
            ),
            OpenApiExample(
                "Unbalanced block",
                value={"body_html": ["[[stage:advocacy]] is never closed: add [[/stage]]."]},
                status_codes=["400"],
            ),
        ],
    )
}
ORDERING = ["name", "created_at", "updated_at", "id"]


def _template(pk: int) -> MessageTemplate:
    return get_object_or_404(template_list(), pk=pk)


def _customer(data: Any) -> Customer:
    serializer = TemplateCustomerInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    customer_id = serializer.validated_data["customer"]
    customer = Customer.objects.select_related("stage", "owner").filter(pk=customer_id).first()
    if customer is None:
        raise ValidationError({"customer": [f"Unknown customer {customer_id}."]})
    return customer


@extend_schema_view(
    get=extend_schema(
        operation_id="templates_list",
        responses={200: TemplateOutputSerializer(many=True), **error_responses(400, 401, 403)},
        description="Templates by name. `q` searches the name, subject and text.",
    )
)
class TemplateListCreateApi(generics.ListAPIView):
    """List message templates (by name, filtered by channel, kind and `q`) or create one."""

    serializer_class = TemplateOutputSerializer
    filterset_class = TemplateFilter
    ordering_fields = ORDERING
    ordering = ["name"]
    required_permissions = {
        "GET": "messaging.view_messagetemplate",
        "POST": "messaging.add_messagetemplate",
    }

    def get_queryset(self) -> Any:
        return template_list()

    @extend_schema(
        operation_id="templates_create",
        request=TemplateCreateInputSerializer,
        responses={201: TemplateOutputSerializer, **_TEMPLATE_400, **error_responses(401, 403)},
        description="Create a template. An email needs a subject and a text body (HTML is "
        "optional); an SMS has a text only. Placeholders must name known fields "
        "(first_name, owner_name, stage, referral_link…, or attributes.<key>).",
    )
    def post(self, request: Request) -> Response:
        serializer = TemplateCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        template = template_create(**serializer.validated_data)
        return Response(TemplateOutputSerializer(template).data, status=status.HTTP_201_CREATED)


class TemplateDetailApi(APIView):
    """Read, change or delete one template."""

    required_permissions = {
        "GET": "messaging.view_messagetemplate",
        "PATCH": "messaging.change_messagetemplate",
        "DELETE": "messaging.delete_messagetemplate",
    }

    @extend_schema(
        operation_id="templates_retrieve",
        responses={200: TemplateOutputSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(TemplateOutputSerializer(_template(pk)).data)

    @extend_schema(
        operation_id="templates_partial_update",
        request=TemplateInputSerializer,
        responses={
            200: TemplateOutputSerializer,
            **_TEMPLATE_400,
            **error_responses(401, 403, 404),
        },
        description="Change some fields; the template is validated whole. Campaigns started "
        "from it keep their own copy of the texts.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        template = _template(pk)
        serializer = TemplateInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        template = template_update(template=template, data=dict(serializer.validated_data))
        return Response(TemplateOutputSerializer(template).data)

    @extend_schema(
        operation_id="templates_destroy",
        responses={204: None, **error_responses(400, 401, 403, 404)},
        description="Delete a template. One that an automation rule sends (or a scheduled "
        "step will send) is a 400 on `template` naming the rules.",
    )
    def delete(self, request: Request, pk: int) -> Response:
        template_delete(template=_template(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TemplatePreviewApi(APIView):
    required_permissions = {
        "POST": ["messaging.view_messagetemplate", "customers.view_customer"],
    }

    @extend_schema(
        operation_id="templates_preview",
        request=TemplateCustomerInputSerializer,
        responses={200: TemplateRenderedSerializer, **error_responses(400, 401, 403, 404)},
        description="The template personalised for the customer, as they would receive it "
        "(before the unsubscribe footer of marketing email). Values are HTML-escaped in "
        "`body_html`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        template = _template(pk)
        rendered = template_preview(template=template, customer=_customer(request.data))
        data = {
            "subject": rendered.subject,
            "body_text": rendered.body_text,
            "body_html": rendered.body_html,
            "sms": sms_length_data(template.channel, rendered.body_text),
        }
        return Response(TemplateRenderedSerializer(data).data)


class TemplateTestSendApi(APIView):
    required_permissions = {
        "POST": ["messaging.change_messagetemplate", "customers.view_customer"],
    }

    @extend_schema(
        operation_id="templates_test_send",
        request=TemplateCustomerInputSerializer,
        responses={202: TemplateTestSendOutputSerializer, **error_responses(400, 401, 403, 404)},
        description="Email the template, personalised for the customer, to the caller's own "
        "address with “[Test]” before the subject (an SMS template's text comes by email). "
        "It goes through the outbox as a transactional message. A user without an email "
        "address gets a 400 on `to`.",
    )
    def post(self, request: Request, pk: int) -> Response:
        template = _template(pk)
        customer = _customer(request.data)
        user = request_user(request)
        message = template_test_send(template=template, customer=customer, to=user.email)
        data = {"message": message.pk, "to": message.to, "subject": message.subject}
        return Response(
            TemplateTestSendOutputSerializer(data).data, status=status.HTTP_202_ACCEPTED
        )
