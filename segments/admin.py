"""Admin for segments: read-only. Segments are defined in the dashboard and the API (their
definition validated by `segments.services`); members and snapshots are what those wrote."""

from __future__ import annotations

from django.contrib import admin

from common.admin import ReadOnlyAdmin
from segments.models import AudienceSnapshot, Segment, SegmentMember


@admin.register(Segment)
class SegmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "created_by", "updated_at")
    list_filter = ("kind",)
    list_select_related = ("created_by",)
    search_fields = ("name", "description")
    raw_id_fields = ("created_by",)


@admin.register(SegmentMember)
class SegmentMemberAdmin(ReadOnlyAdmin):
    list_display = ("id", "segment", "customer", "added_at")
    list_filter = ("segment",)
    list_select_related = ("segment", "customer")
    search_fields = ("customer__email",)
    raw_id_fields = ("segment", "customer")


@admin.register(AudienceSnapshot)
class AudienceSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("id", "frozen_at", "total")
