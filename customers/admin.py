"""Admin for customers. New customers go through `customer_create` so their entry is recorded."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from customers.models import Customer
from customers.services import EDITABLE_FIELDS, customer_create
from stages.models import ActorKind


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "company", "stage", "owner", "created_at"]
    list_filter = ["stage__phase", "stage"]
    list_select_related = ["stage", "owner"]
    search_fields = ["email", "first_name", "last_name", "company"]
    raw_id_fields = ["referred_by", "owner"]
    # The stage changes only by a move (dashboard, API), never by editing the row.
    readonly_fields = ["stage", "stage_entered_at", "last_activity_at", "created_at", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        fields = {name: getattr(obj, name) for name in EDITABLE_FIELDS}
        created = customer_create(
            email=obj.email,
            email_consent=obj.email_consent,
            sms_consent=obj.sms_consent,
            actor_kind=ActorKind.USER,
            actor_user=request.user,
            **fields,
        )
        obj.pk = created.pk
        obj.stage = created.stage
        obj.stage_entered_at = created.stage_entered_at
