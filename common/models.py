"""Abstract models shared by the domain apps."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class TimeStampedModel(models.Model):
    """Adds `created_at` and `updated_at`, maintained by the database layer on save."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Event(models.Model):
    """A domain event, written in the same transaction as the change it announces.

    Subscribers run right after the commit; `dispatched_at` is set once all of them have
    succeeded. An event whose dispatch never happened (the process died after the commit) or
    failed is dispatched again by a periodic sweep, so subscribers must be idempotent (they
    are: each keys what it creates by the event).
    """

    name = models.CharField(max_length=100)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="event_undispatched_idx",
                condition=models.Q(dispatched_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class IdempotencyKey(models.Model):
    """A write to the API sent with an `Idempotency-Key` header, and the answer it got.

    The row is inserted before the view runs and completed with the answer in the same
    transaction as the view's writes (common/idempotency.py): it is committed exactly when
    they are. A resend finds it and gets the stored answer instead of writing again; while the
    first request is still running, the unique constraint makes the resend wait for it.
    Only successful answers are ever committed. Pruned after `RETENTION` by a beat task.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.TextField()
    # sha256 of the request body (canonical JSON when it is JSON), hex.
    request_hash = models.CharField(max_length=64)
    # Null only while the request runs, inside its own transaction: never seen committed.
    response_status = models.PositiveSmallIntegerField(null=True)
    response_content_type = models.CharField(max_length=255, blank=True)
    response_body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"
