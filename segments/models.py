"""Saved segments: a dynamic filter over customers (segments.definition) or a static list; and
the audience snapshots that fix whom a bulk send goes to."""

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


class AudienceSnapshot(models.Model):
    """The customers a bulk send was confirmed for, fixed at `frozen_at`.

    A campaign (when it starts sending) and a bulk survey send (when it is asked for) resolve
    their audience — a segment, filters or a list of customers — once, into a snapshot, and
    then walk its customer ids in order, chunk by chunk (`segments.selectors.audience_chunk`).
    Whoever joins the segment afterwards is not part of the send; whoever leaves it still is.
    `total` is the number of customers fixed. Written by `segments.services.audience_freeze`.
    """

    frozen_at = models.DateTimeField()
    total = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-frozen_at", "-id"]

    def __str__(self) -> str:
        return f"{self.total} customers fixed on {self.frozen_at:%Y-%m-%d %H:%M}"


class AudienceSnapshotMember(models.Model):
    """One customer of a snapshot. The primary key (snapshot, customer) is also the order a
    send walks in, so a million members cost one row and one index entry each.

    `customer_id` is a plain id, not a foreign key: the snapshot records whom the user
    confirmed, a customer deleted since is passed over when their chunk comes, and deleting a
    customer need not search every snapshot for them.
    """

    pk = models.CompositePrimaryKey("snapshot_id", "customer_id")
    snapshot = models.ForeignKey(
        AudienceSnapshot, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    customer_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.snapshot_id}: {self.customer_id}"
