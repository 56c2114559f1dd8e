"""Writes for customers. Stage changes are not here: they belong to `stages.services`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from common.events import event_emit
from common.exceptions import ApplicationError
from customers.models import Customer, Referral
from stages.models import Stage, StageTransition
from stages.services import customer_stage_enter

if TYPE_CHECKING:
    from django.contrib.auth.models import User

EVENT_CUSTOMER_CREATED = "customer.created"

# Fields a caller may set directly on create and update.
EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "company",
    "owner",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "tags",
    "attributes",
    "referred_by",
)
# Consent flags are not set here: `consent.services.consent_record` changes them together with
# the ConsentEvent that is their evidence (docs/consent.md lists every path that calls it).
CONSENT_FIELDS = ("email_consent", "sms_consent")


def normalize_tags(tags: list[str]) -> list[str]:
    """Trim, lower-case and de-duplicate tags, keeping their first-seen order."""
    seen: dict[str, None] = {}
    for tag in tags:
        clean = tag.strip().lower()
        if clean:
            seen.setdefault(clean, None)
    return list(seen)


def _email_taken(email: str, *, exclude_pk: int | None = None) -> bool:
    others = Customer.objects.filter(email__iexact=email)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    return others.exists()


def _duplicate_email(email: str) -> ApplicationError:
    return ApplicationError(f"A customer with the email '{email}' already exists.", field="email")


def _refuse_consent(fields: Any, *, service: str) -> None:
    """Refuse a consent flag by name: a flag changed without its history entry is no evidence."""
    for field in CONSENT_FIELDS:
        if field in fields:
            raise ApplicationError(
                f"{service}() does not set '{field}': consent is recorded with its evidence by "
                "consent.services.consent_record.",
                field=field,
            )


def _default_stage() -> Stage:
    stage = Stage.objects.filter(slug=settings.FLYWHEEL_DEFAULT_STAGE, is_archived=False).first()
    if stage is None:
        stage = Stage.objects.filter(is_archived=False).order_by("position", "id").first()
    if stage is None:
        raise ApplicationError("No live stage exists to place the customer in.", field="stage")
    return stage


def customer_create(
    *,
    email: str,
    actor_kind: str,
    actor_user: User | None = None,
    stage: Stage | None = None,
    created_at: datetime | None = None,
    entry_reason: str = "",
    referral_code: str | None = None,
    **fields: Any,
) -> Customer:
    """Create a customer in `stage` (default: the configured entry stage) and record the entry.

    The entry is the customer's first StageTransition. `created_at` lets imports keep the
    date a customer was really acquired. The customer starts without consent: the callers that
    take a consent record it next through `consent.services.customer_create_with_consent`.
    """
    _refuse_consent(fields, service="customer_create")
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"customer_create() got unexpected fields: {sorted(unknown)}")
    email = email.strip()
    if _email_taken(email):
        raise _duplicate_email(email)
    if referral_code:
        referrer = customer_by_referral_code(referral_code)
        if fields.get("referred_by") not in (None, referrer):
            raise ApplicationError(
                "The referral code belongs to another customer than referred_by.",
                field="referral_code",
            )
        fields["referred_by"] = referrer
    stage = stage or _default_stage()
    if stage.is_archived:
        raise ApplicationError(
            f"The stage '{stage.slug}' is archived and accepts no customers.", field="stage"
        )
    if "tags" in fields:
        fields["tags"] = normalize_tags(fields["tags"] or [])
    if created_at is not None and created_at > timezone.now():
        raise ApplicationError("A customer cannot be created in the future.", field="created_at")
    now = created_at or timezone.now()
    customer = Customer(
        email=email,
        stage=stage,
        stage_entered_at=now,
        **fields,
    )
    try:
        with transaction.atomic():
            customer.save()
            if created_at is not None:
                # auto_now_add ignores a given value; an import keeps its real acquisition date.
                Customer.objects.filter(pk=customer.pk).update(created_at=created_at)
                customer.created_at = created_at
            customer_stage_enter(
                customer=customer,
                stage=stage,
                actor_kind=actor_kind,
                actor_user=actor_user,
                reason=entry_reason,
            )
            if customer.referred_by is not None:
                _referral_record(customer=customer, at=customer.created_at)
            event_emit(EVENT_CUSTOMER_CREATED, {"customer_id": customer.pk})
    except IntegrityError as exc:
        # Two requests raced past the check above; the database's unique index decided.
        raise _duplicate_email(email) from exc
    return customer


def customer_update(
    *, customer: Customer, data: dict[str, Any], actor_user: User | None = None
) -> Customer:
    """Change a customer's details. `stage` is not accepted here: a move is a transition. Nor
    are the consent flags: `consent.services.consent_record` changes them with their evidence.
    """
    _refuse_consent(data, service="customer_update")
    if "stage" in data:
        raise ApplicationError(
            "The stage is changed by moving the customer (POST .../transitions/).",
            field="stage",
        )
    allowed = set(EDITABLE_FIELDS) | {"email"}
    unknown = set(data) - allowed
    if unknown:
        raise TypeError(f"customer_update() got unexpected fields: {sorted(unknown)}")
    if "email" in data:
        data["email"] = data["email"].strip()
        if _email_taken(data["email"], exclude_pk=customer.pk):
            raise _duplicate_email(data["email"])
    if data.get("referred_by") is not None and data["referred_by"].pk == customer.pk:
        raise ApplicationError("A customer cannot refer themselves.", field="referred_by")
    if "tags" in data:
        data["tags"] = normalize_tags(data["tags"] or [])
    changed: list[str] = []
    for field, value in data.items():
        if getattr(customer, field) == value:
            continue
        setattr(customer, field, value)
        changed.append(field)
    if not changed:
        return customer
    try:
        with transaction.atomic():
            customer.save(update_fields=[*changed, "updated_at"])
            if "referred_by" in changed:
                Referral.objects.filter(referred=customer).delete()
                if customer.referred_by is not None:
                    _referral_record(customer=customer, at=timezone.now())
    except IntegrityError as exc:
        raise _duplicate_email(customer.email) from exc
    return customer


def customer_delete(*, customer: Customer) -> None:
    """Delete a customer and their history; customers they referred keep existing."""
    customer.delete()


def customer_email_lock(*, email: str) -> None:
    """Hold, until the current transaction ends, the right to find or create the customer
    with `email` (any case).

    A path that matches by email and creates when nothing matched (a public form, an import)
    takes it first: a second request for the same address then waits, and finds the customer
    the first one created instead of failing on the unique index.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("customer_email_lock holds only inside a transaction.")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('customer-email:' || lower(%s), 0))",
            [email],
        )


def customer_activity_touch(*, customer_id: int, at: datetime) -> None:
    """Advance `last_activity_at` to `at` unless the customer already has later activity.

    One UPDATE, safe under concurrency: GREATEST keeps the latest of the two.
    """
    Customer.objects.filter(pk=customer_id).update(
        last_activity_at=Greatest(Coalesce(F("last_activity_at"), Value(at)), Value(at))
    )


def customer_by_referral_code(code: str) -> Customer:
    """The customer whose referral code this is (case and spaces ignored)."""
    referrer = Customer.objects.filter(referral_code=code.strip().upper()).first()
    if referrer is None:
        raise ApplicationError(f"Unknown referral code '{code}'.", field="referral_code")
    return referrer


def _referral_record(*, customer: Customer, at: datetime) -> Referral:
    """Record that `customer.referred_by` brought `customer`, and where the referrer stood."""
    assert customer.referred_by_id is not None
    referrer = Customer.objects.select_related("stage").get(pk=customer.referred_by_id)
    # Where the referrer stood at `at`: an import dates referrals in the past.
    move = (
        StageTransition.objects.filter(customer_id=referrer.pk, occurred_at__lte=at)
        .select_related("to_stage")
        .order_by("-occurred_at", "-id")
        .first()
    )
    stage = move.to_stage if move is not None else referrer.stage
    return Referral.objects.create(
        referrer=referrer,
        referred=customer,
        referrer_stage=stage,
        referrer_phase=stage.phase,
        occurred_at=at,
    )
