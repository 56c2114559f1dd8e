"""Admin for lead forms: read-only. Forms are built in the dashboard and the API (their
fields validated by `leadforms.services`); submissions are what visitors sent."""

from __future__ import annotations

from django.contrib import admin

from common.admin import ReadOnlyAdmin
from leadforms.models import LeadForm, Submission


@admin.register(LeadForm)
class LeadFormAdmin(ReadOnlyAdmin):
    list_display = ("name", "slug", "is_active", "double_opt_in", "created_at")
    list_filter = ("is_active", "double_opt_in")
    search_fields = ("name", "slug")


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = ("id", "form", "customer", "state", "created_customer", "created_at")
    list_filter = ("state", "created_customer", "consent_given", "form")
    list_select_related = ("form", "customer")
    search_fields = ("customer__email", "utm_campaign")
    raw_id_fields = ("form", "customer")
