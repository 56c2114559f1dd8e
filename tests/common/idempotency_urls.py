"""A write that fails its first attempt, for tests/common/test_idempotency.py: the API's
routes plus /api/v1/flaky/, which records an event and then fails once (with a raised error
or with a 503, as the body asks) before it succeeds."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.models import Event

FLAKY_EVENT = "test.flaky_write"
failures_left = {"count": 0}


class FlakyWriteApi(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request: Request) -> Response:
        event = Event.objects.create(name=FLAKY_EVENT, payload=request.data)
        if failures_left["count"] > 0:
            failures_left["count"] -= 1
            if isinstance(request.data, dict) and request.data.get("fail") == "raise":
                raise RuntimeError("the write failed after it began")
            return Response({"detail": "unavailable"}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"id": event.pk}, status=status.HTTP_201_CREATED)


urlpatterns: list[Any] = [
    path("api/v1/flaky/", FlakyWriteApi.as_view()),
    path("", include("flywheel_crm.urls")),
]
