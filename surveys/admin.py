"""Admin for surveys. Surveys are edited here; invitations, answers and bulk sends are records
written by `surveys.services` and are shown read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from common.admin import ReadOnlyAdmin
from surveys.models import Invitation, Response, Survey, SurveyBatch


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "question", "is_active", "expiry_days")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "question")

    def get_readonly_fields(self, request: HttpRequest, obj: Survey | None = None) -> Any:
        # Answers are read on the scale they were given on: the kind is fixed once sent.
        if obj is not None and obj.invitations.exists():
            return ("kind",)
        return ()


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("id", "survey", "customer", "state", "source", "created_at", "expires_at")
    list_filter = ("state", "source", "survey")
    list_select_related = ("survey", "customer")
    search_fields = ("customer__email", "idempotency_key")
    raw_id_fields = ("customer", "batch", "message", "sent_by")


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ("id", "survey", "customer", "score", "category", "answered_at")
    list_filter = ("kind", "category", "survey")
    list_select_related = ("survey", "customer")
    search_fields = ("customer__email", "comment")
    raw_id_fields = ("invitation", "customer")


@admin.register(SurveyBatch)
class SurveyBatchAdmin(ReadOnlyAdmin):
    list_display = ("id", "survey", "state", "total", "processed", "sent", "skipped", "failed")
    list_filter = ("state", "survey")
    list_select_related = ("survey",)
