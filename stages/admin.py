"""Admin for stages (configured through the stage services) and the read-only history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from common.exceptions import ApplicationError
from stages.models import Stage, StageTransition
from stages.services import stage_delete


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "phase", "position", "is_archived"]
    list_editable = ["position", "is_archived"]
    list_filter = ["phase", "is_archived"]
    ordering = ["position", "id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Stage | None = None) -> Any:
        return ["slug"] if obj else []

    def delete_model(self, request: HttpRequest, obj: Stage) -> None:
        try:
            stage_delete(stage=obj)
        except ApplicationError as error:
            self.message_user(request, error.message, level=messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for stage in queryset:
            self.delete_model(request, stage)


@admin.register(StageTransition)
class StageTransitionAdmin(admin.ModelAdmin):
    """History is append-only: it can be read here, never edited."""

    list_display = ["occurred_at", "customer", "from_stage", "to_stage", "direction", "actor_kind"]
    list_filter = ["direction", "actor_kind", "to_stage"]
    list_select_related = ["customer", "from_stage", "to_stage"]
    raw_id_fields = ["customer", "actor_user"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
