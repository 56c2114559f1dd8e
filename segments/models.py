"""Saved segments: a dynamic filter over customers (segments.definition) or a static list."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from common.models import TimeStampedModel


class SegmentKind(models.TextChoices):
    """Dynamic: whoever matches the definition right now. Static: a fixed list of members."""

    DYNAMIC = "dynamic", "Dynamic"
    STATIC = "static", "Static list"


class Segment(TimeStampedModel):
    """A named set of customers that campaigns, automations, survey sends and exports target.

    A dynamic segment stores its filter in `definition` (the format of segments.definition)
    and is evaluated each time it is used; a static one lists its members in SegmentMember
    and keeps `definition` empty. The kind is fixed once the segment exists.
    """

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, max_length=2000)
    kind = models.CharField(max_length=8, choices=SegmentKind.choices)
    definition = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="segments_created",
    )

    class Meta:
        ordering = ["name", "id"]
        permissions = [("export_segment", "Can export a segment's customers as CSV")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_dynamic(self) -> bool:
        return self.kind == SegmentKind.DYNAMIC


class SegmentMember(models.Model):
    """One customer on a static list, and when they were added."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="segment_memberships"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-added_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer"], name="segment_member_unique"),
        ]
        # (segment, customer) is covered by the constraint's index; this one serves
        # "which lists is this customer on" and the cascade when a customer is deleted.
        indexes = [models.Index(fields=["customer"], name="segment_member_customer_idx")]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.customer_id}"
