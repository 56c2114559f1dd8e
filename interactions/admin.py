"""Admin for interactions, tasks and purchases. Writes go through `interactions.services`.

The admin forms check what the services would refuse (a date in the future, a weight that
does not fit the effect, an unknown currency, a changed task that is no longer open) so that
the refusal is an error on the field rather than a failed request.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from common.exceptions import ApplicationError
from interactions.currencies import ISO_4217
from interactions.models import Interaction, InteractionKind, Purchase, Task, TaskState
from interactions.services import (
    CLOCK_SKEW,
    INTERACTION_EDITABLE,
    effect_resolve,
    interaction_log,
    interaction_update,
    purchase_record,
    support_case_close,
    task_cancel,
    task_complete,
    task_create,
    task_update,
)

TASK_EDITABLE = ("title", "notes", "due_at", "assignee")


def _actor(request: HttpRequest) -> User | None:
    """The admin user making the change (the admin site requires a login)."""
    return request.user if isinstance(request.user, User) else None


def _not_in_future(value: Any) -> None:
    if value is not None and value > timezone.now() + CLOCK_SKEW:
        raise ValidationError("This cannot be dated in the future.")


def _as_validation_error(error: ApplicationError) -> ValidationError:
    return ValidationError({error.field: error.message})


# --- interactions ------------------------------------------------------------------------------


class InteractionAdminForm(forms.ModelForm):
    """An interaction; an empty effect and weight take the default of kind and outcome."""

    class Meta:
        model = Interaction
        fields = [
            "customer",
            "kind",
            "direction",
            "channel",
            "occurred_at",
            "duration_seconds",
            "summary",
            "outcome",
            "effect",
            "weight",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("effect", "weight"):
            if name in self.fields:
                self.fields[name].required = False
                self.fields[name].help_text = "Empty: the default for the kind and outcome."

    def clean_occurred_at(self) -> Any:
        occurred_at = self.cleaned_data["occurred_at"]
        _not_in_future(occurred_at)
        return occurred_at

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        kind, outcome = data.get("kind"), data.get("outcome")
        if not kind or not outcome:
            return data
        stored = self.instance if self.instance.pk else None
        if stored is not None and (kind == InteractionKind.SUPPORT_CASE) != (
            stored.kind == InteractionKind.SUPPORT_CASE
        ):
            self.add_error(
                "kind", "An interaction cannot become or stop being a support case; log a new one."
            )
            return data
        # What the service will use: as given, re-derived, or as stored (interaction_update).
        effect, weight = data.get("effect") or None, data.get("weight")
        if stored is not None:
            changed = set(self.changed_data)
            rederive = bool({"kind", "outcome"} & changed)
            if "effect" not in changed:
                effect = None if rederive else stored.effect
            if "weight" not in changed:
                weight = None
                if not rederive and "effect" not in changed:
                    weight = stored.weight
        try:
            effect_resolve(kind=kind, outcome=outcome, effect=effect, weight=weight)
        except ApplicationError as error:
            raise _as_validation_error(error) from error
        return data


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    form = InteractionAdminForm
    list_display = [
        "occurred_at",
        "customer",
        "kind",
        "outcome",
        "effect",
        "weight",
        "case_state",
        "logged_by",
    ]
    list_filter = ["kind", "outcome", "effect", "case_state", "channel", "direction"]
    list_select_related = ["customer", "logged_by"]
    search_fields = ["summary", "customer__email", "customer__last_name"]
    raw_id_fields = ["customer"]
    date_hierarchy = "occurred_at"
    actions = ["close_cases"]
    derived_fields = ["logged_by", "case_state", "closed_at", "created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Interaction | None = None) -> Any:
        return ["customer", *self.derived_fields] if obj else self.derived_fields

    def save_model(self, request: HttpRequest, obj: Interaction, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            changed = [name for name in form.changed_data if name in INTERACTION_EDITABLE]
            if changed:
                updates = {name: data[name] for name in changed}
                if "effect" in updates:
                    updates["effect"] = updates["effect"] or None
                updated = interaction_update(
                    interaction=Interaction.objects.get(pk=obj.pk), data=updates
                )
                obj.effect, obj.weight = updated.effect, updated.weight
            return
        created = interaction_log(
            customer=data["customer"],
            kind=data["kind"],
            summary=data["summary"],
            logged_by=_actor(request),
            occurred_at=data["occurred_at"],
            direction=data["direction"],
            channel=data["channel"],
            duration_seconds=data["duration_seconds"],
            outcome=data["outcome"],
            effect=data["effect"] or None,
            weight=data["weight"],
        )
        obj.pk = created.pk

    @admin.action(description="Close the selected support cases")
    def close_cases(self, request: HttpRequest, queryset: QuerySet[Interaction]) -> None:
        closed = 0
        for case in queryset:
            try:
                support_case_close(interaction=case, closed_by=_actor(request))
            except ApplicationError as error:
                self.message_user(request, f"{case}: {error.message}", level=messages.WARNING)
            else:
                closed += 1
        self.message_user(request, f"Closed {closed} support case(s).")


# --- tasks -------------------------------------------------------------------------------------


class TaskAdminForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ["customer", "title", "notes", "due_at", "assignee"]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.instance.pk and self.instance.state != TaskState.OPEN:
            raise ValidationError(f"This task is {self.instance.state}; it can no longer change.")
        return data


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    form = TaskAdminForm
    list_display = ["title", "customer", "assignee", "due_at", "state", "created_by_kind"]
    list_filter = ["state", "created_by_kind"]
    list_select_related = ["customer", "assignee"]
    search_fields = ["title", "customer__email", "assignee__username"]
    raw_id_fields = ["customer", "assignee"]
    date_hierarchy = "due_at"
    actions = ["complete_tasks", "cancel_tasks"]
    derived_fields = [
        "state",
        "completed_at",
        "created_by_kind",
        "created_by",
        "created_at",
        "updated_at",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Task | None = None) -> Any:
        if obj is None:
            return self.derived_fields
        if obj.state != TaskState.OPEN:  # done and cancelled tasks are history
            return ["customer", *TASK_EDITABLE, *self.derived_fields]
        return ["customer", *self.derived_fields]

    def save_model(self, request: HttpRequest, obj: Task, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            changed = [name for name in form.changed_data if name in TASK_EDITABLE]
            if changed:
                task_update(
                    task=Task.objects.get(pk=obj.pk), data={name: data[name] for name in changed}
                )
            return
        created = task_create(
            customer=data["customer"],
            title=data["title"],
            due_at=data["due_at"],
            assignee=data["assignee"],
            created_by=_actor(request),
            notes=data["notes"],
        )
        obj.pk = created.pk

    def _finish(self, request: HttpRequest, queryset: QuerySet[Task], finish: Any) -> int:
        count = 0
        for task in queryset:
            try:
                finish(task=task)
            except ApplicationError as error:
                self.message_user(request, f"{task}: {error.message}", level=messages.WARNING)
            else:
                count += 1
        return count

    @admin.action(description="Mark the selected tasks done")
    def complete_tasks(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        self.message_user(request, f"{self._finish(request, queryset, task_complete)} done.")

    @admin.action(description="Cancel the selected tasks")
    def cancel_tasks(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        self.message_user(request, f"{self._finish(request, queryset, task_cancel)} cancelled.")


# --- purchases ---------------------------------------------------------------------------------


class PurchaseAdminForm(forms.ModelForm):
    class Meta:
        model = Purchase
        fields = [
            "customer",
            "amount",
            "currency",
            "occurred_at",
            "description",
            "source",
            "external_id",
        ]

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        if currency not in ISO_4217:
            raise ValidationError(f"Unknown currency '{currency}' (ISO 4217).")
        return currency

    def clean_occurred_at(self) -> Any:
        occurred_at = self.cleaned_data["occurred_at"]
        _not_in_future(occurred_at)
        return occurred_at

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        external_id = data.get("external_id")
        if external_id:
            source = data.get("source", "")
            # An integration sending an order twice gets the first record back; a person
            # entering it twice made a mistake worth showing.
            if Purchase.objects.filter(source=source, external_id=external_id).exists():
                self.add_error(
                    "external_id",
                    f"Order '{external_id}' from '{source or 'no source'}' is already recorded.",
                )
        return data


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin):
    """Purchases are recorded, never edited: there is no service that corrects one."""

    form = PurchaseAdminForm
    list_display = [
        "occurred_at",
        "customer",
        "amount",
        "currency",
        "source",
        "external_id",
        "recorded_by",
    ]
    list_filter = ["currency", "source"]
    list_select_related = ["customer", "recorded_by"]
    search_fields = ["external_id", "description", "customer__email"]
    raw_id_fields = ["customer"]
    date_hierarchy = "occurred_at"
    readonly_fields = ["recorded_by", "created_at", "updated_at"]

    def has_change_permission(self, request: HttpRequest, obj: Purchase | None = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Purchase, form: Any, change: bool) -> None:
        data = form.cleaned_data
        purchase, _ = purchase_record(
            customer=data["customer"],
            amount=data["amount"],
            currency=data["currency"],
            recorded_by=_actor(request),
            occurred_at=data["occurred_at"],
            description=data["description"],
            source=data["source"],
            external_id=data["external_id"] or None,
        )
        obj.pk = purchase.pk
