"""Admin pages: personal API tokens, and failed sign-ins with the action that unlocks them."""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import ApiToken
from accounts.services import api_token_create


class ApiTokenAddForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("user", "name")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens by user, name and expiry; deleting one revokes it. A new one is shown once."""

    list_display = ("user", "name", "created", "expiry", "public_id")
    list_select_related = ("user",)
    search_fields = ("user__username", "name", "public_id")
    readonly_fields = ("user", "name", "public_id", "created", "expiry")
    raw_id_fields = ("user",)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ("user", "name")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        token, secret = api_token_create(user=obj.user, name=obj.name)
        # The admin goes on to show the object it saved: hand it the row the service wrote.
        obj.pk, obj.public_id, obj.created, obj.expiry = (
            token.pk,
            token.public_id,
            token.created,
            token.expiry,
        )
        obj._state.adding = False
        self.message_user(
            request,
            f"The token for {obj.user}, shown only now: {secret}",
            messages.WARNING,
        )


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class FailedSignInAdmin(AccessAttemptAdmin):
    """axes' failed sign-ins, with an action that unlocks what they lock."""

    actions = ["unlock", *AccessAttemptAdmin.actions]

    @admin.action(description="Unlock: forget these failed sign-ins", permissions=["delete"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        count, _ = queryset.delete()
        self.message_user(request, f"Unlocked: {count} failed sign-in records forgotten.")
