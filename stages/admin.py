"""Admin for stages (configured through the stage services) and the read-only history."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from common.admin import ReadOnlyAdmin
from common.exceptions import ApplicationError
from stages.models import Stage, StageTransition
from stages.services import stage_create, stage_delete, stage_update


class StageAdminForm(forms.ModelForm):
    """A stage's fields, refusing on the field what `stage_update` would refuse.

    Archiving the last live stage would leave new customers nowhere to enter.
    """

    class Meta:
        model = Stage
        fields = ["slug", "name", "phase", "position", "description", "is_archived"]

    def clean_is_archived(self) -> bool:
        archived: bool = self.cleaned_data["is_archived"]
        if archived and self.instance.pk and not self.instance.is_archived:
            others = Stage.objects.filter(is_archived=False).exclude(pk=self.instance.pk)
            if not others.exists():
                raise ValidationError("The last live stage cannot be archived.")
        return archived


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    form = StageAdminForm
    list_display = ["name", "slug", "phase", "position", "is_archived"]
    list_editable = ["position", "is_archived"]
    list_filter = ["phase", "is_archived"]
    ordering = ["position", "id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Stage | None = None) -> Any:
        return ["slug"] if obj else []

    def save_model(self, request: HttpRequest, obj: Stage, form: Any, change: bool) -> None:
        if not change:
            created = stage_create(
                slug=obj.slug,
                name=obj.name,
                phase=obj.phase,
                position=obj.position,
                description=obj.description,
            )
            obj.pk = created.pk
            return
        # The service checks against the stored row (e.g. "is this the last live stage?").
        stored = Stage.objects.get(pk=obj.pk)
        stored.position = obj.position  # ordering has no service of its own for one stage
        try:
            stage_update(
                stage=stored,
                name=obj.name,
                description=obj.description,
                phase=obj.phase,
                is_archived=obj.is_archived,
            )
        except ApplicationError as error:
            # Only reachable when several rows of the list are archived at once.
            self.message_user(request, f"{obj.name}: {error.message}", level=messages.ERROR)

    def delete_model(self, request: HttpRequest, obj: Stage) -> None:
        try:
            stage_delete(stage=obj)
        except ApplicationError as error:
            self.message_user(request, error.message, level=messages.ERROR)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for stage in queryset:
            self.delete_model(request, stage)


@admin.register(StageTransition)
class StageTransitionAdmin(ReadOnlyAdmin):
    """History is append-only: it can be read here, never edited."""

    list_display = ["occurred_at", "customer", "from_stage", "to_stage", "direction", "actor_kind"]
    list_filter = ["direction", "actor_kind", "to_stage"]
    list_select_related = ["customer", "from_stage", "to_stage"]
    raw_id_fields = ["customer", "actor_user"]
    date_hierarchy = "occurred_at"
