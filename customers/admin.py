"""Admin for customers. Writes go through `customer_create_with_consent` and
`customer_update_with_consent` (consent.services): a consent box changed here is recorded in
the consent history like one changed in the dashboard (method dashboard, source admin,
recorded by the admin user).

The admin form checks what those services would refuse (a duplicate email in any case, a
customer referring themselves, attributes that are not an object) so that the refusal is an
error on the field rather than a failed request.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import ForeignKey
from django.http import HttpRequest

from common.admin import ReadOnlyAdmin
from common.validators import validate_no_nul
from consent.models import ConsentMethod
from consent.services import customer_create_with_consent, customer_update_with_consent
from customers.models import MAX_TAGS, Customer, Referral
from customers.services import CONSENT_FIELDS, EDITABLE_FIELDS
from stages.models import ActorKind, Stage

UPDATABLE_FIELDS = frozenset({"email", *EDITABLE_FIELDS, *CONSENT_FIELDS})
# Where a consent changed in the admin says it came from, next to its method (dashboard).
ADMIN_SOURCE = "admin"


def _actor(request: HttpRequest) -> User | None:
    """The admin user making the change (the admin site requires a login)."""
    return request.user if isinstance(request.user, User) else None


class CustomerAdminForm(forms.ModelForm):
    """The model's fields with the services' rules checked up front, each on its field."""

    class Meta:
        model = Customer
        fields = [
            "email",
            "first_name",
            "last_name",
            "phone",
            "company",
            "owner",
            "stage",
            "source",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "tags",
            "attributes",
            "email_consent",
            "sms_consent",
            "referred_by",
        ]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        others = Customer.objects.filter(email__iexact=email).exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(f"A customer with the email '{email}' already exists.")
        return email

    def clean_tags(self) -> list[str]:
        tags = self.cleaned_data["tags"] or []
        if len(tags) > MAX_TAGS:
            raise ValidationError(f"At most {MAX_TAGS} tags, not {len(tags)}.")
        return tags

    def clean_attributes(self) -> dict[str, Any]:
        attributes = self.cleaned_data["attributes"]
        if attributes in (None, ""):
            return {}
        if not isinstance(attributes, dict):
            raise ValidationError('Attributes must be a JSON object, like {"plan": "pro"}.')
        validate_no_nul(attributes)
        return attributes

    def clean_referred_by(self) -> Customer | None:
        referrer = self.cleaned_data["referred_by"]
        if referrer is not None and self.instance.pk and referrer.pk == self.instance.pk:
            raise ValidationError("A customer cannot refer themselves.")
        return referrer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerAdminForm
    list_display = ["email", "first_name", "last_name", "company", "stage", "owner", "created_at"]
    list_filter = ["stage__phase", "stage"]
    list_select_related = ["stage", "owner"]
    search_fields = ["email", "first_name", "last_name", "company"]
    raw_id_fields = ["referred_by", "owner"]
    # Derived or written only by the services. The stage is chosen on creation; after that it
    # changes only by a move (dashboard, API), never by editing the row.
    derived_fields = [
        "stage_entered_at",
        "email_consent_at",
        "sms_consent_at",
        "last_activity_at",
        "created_at",
        "updated_at",
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Customer | None = None) -> Any:
        return ["stage", *self.derived_fields] if obj else self.derived_fields

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        default = Stage.objects.filter(slug=settings.FLYWHEEL_DEFAULT_STAGE).first()
        if default is not None:
            initial.setdefault("stage", str(default.pk))
        return initial

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "stage":
            kwargs["queryset"] = Stage.objects.filter(is_archived=False).order_by("position")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        if change:
            changed = [name for name in form.changed_data if name in UPDATABLE_FIELDS]
            if changed:
                # The service compares with the stored row, so it gets a fresh one.
                customer_update_with_consent(
                    customer=Customer.objects.get(pk=obj.pk),
                    data={name: form.cleaned_data[name] for name in changed},
                    consent_method=ConsentMethod.DASHBOARD,
                    consent_source=ADMIN_SOURCE,
                    actor_user=_actor(request),
                )
                obj.refresh_from_db()
            return
        fields = {name: getattr(obj, name) for name in EDITABLE_FIELDS}
        created = customer_create_with_consent(
            consent_method=ConsentMethod.DASHBOARD,
            consent_source=ADMIN_SOURCE,
            email_consent=obj.email_consent,
            sms_consent=obj.sms_consent,
            email=obj.email,
            stage=obj.stage,
            actor_kind=ActorKind.USER,
            actor_user=_actor(request),
            **fields,
        )
        obj.pk = created.pk
        obj.stage_entered_at = created.stage_entered_at


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    """Who brought whom: written by the services when a referred customer arrives."""

    list_display = ("id", "referrer", "referred", "referrer_phase", "occurred_at")
    list_filter = ("referrer_phase",)
    list_select_related = ("referrer", "referred")
    search_fields = ("referrer__email", "referred__email")
    raw_id_fields = ("referrer", "referred", "referrer_stage")
