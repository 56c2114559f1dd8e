"""Consent writes: recording consent, the suppression list, unsubscribing; and the one check
every marketing send goes through (`marketing_allowed`).

`consent_record` is the one way a consent flag changes: it writes the flag, the time it
changed and the ConsentEvent in the same transaction. `customers.services` refuses the flags;
a caller that creates or edits a customer together with their consent (the API, the dashboard,
the admin, the referral page, the demo data) calls `customer_create_with_consent` or
`customer_update_with_consent`, which do both in one transaction.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.exceptions import ApplicationError
from consent.models import ConsentEvent, ConsentMethod, Suppression, SuppressionReason
from customers.models import Customer
from customers.services import customer_create, customer_update
from messaging.models import Channel

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Keyed by the plain channel value the callers hold (a TextChoices member hashes as its value).
CONSENT_FLAG: dict[str, str] = {Channel.EMAIL: "email_consent", Channel.SMS: "sms_consent"}
# The one method that proves the person reads the address: a confirmation link opened from its
# mailbox. Only it lifts an earlier unsubscribe of that address. A form's tick does not: anyone
# can type anyone's address into a public form.
MAILBOX_CONFIRMED = (ConsentMethod.DOUBLE_OPT_IN,)
WITHDRAWAL_SUPPRESSION: dict[str, SuppressionReason] = {
    ConsentMethod.UNSUBSCRIBE_LINK: SuppressionReason.UNSUBSCRIBE,
    ConsentMethod.ONE_CLICK: SuppressionReason.UNSUBSCRIBE,
    ConsentMethod.COMPLAINT: SuppressionReason.COMPLAINT,
    ConsentMethod.BOUNCE: SuppressionReason.BOUNCE,
}
_PHONE_NOISE = re.compile(r"[\s().\-/]")
MAX_USER_AGENT = 400


def _channel(channel: str) -> str:
    if channel not in Channel.values:
        raise ApplicationError(f"Unknown channel '{channel}'; use email or sms.", field="channel")
    return channel


def address_normalize(*, channel: str, address: str) -> str:
    """A lower-case email; a phone reduced to digits with a leading `+` (`00` becomes `+`)."""
    address = (address or "").strip()
    if _channel(channel) == Channel.EMAIL:
        return address.lower()
    digits = _PHONE_NOISE.sub("", address)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    return digits


def customer_address(customer: Customer, channel: str) -> str:
    return customer.email if channel == Channel.EMAIL else customer.phone


def consent_record(
    *,
    customer: Customer,
    channel: str,
    granted: bool,
    method: str,
    source: str = "",
    ip: str | None = None,
    user_agent: str = "",
    recorded_by: User | None = None,
) -> ConsentEvent:
    """Set the customer's consent on `channel` and write its history entry, together.

    A grant confirmed from the address's own mailbox (double opt-in) also lifts an earlier
    unsubscribe of that address. No other grant does: not a form's tick (anyone can type an
    address), not staff (an admin removes the suppression explicitly).
    """
    _channel(channel)
    if method not in ConsentMethod.values:
        raise ApplicationError(f"Unknown consent method '{method}'.", field="method")
    flag = CONSENT_FLAG[channel]
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if getattr(locked, flag) != granted:
            # `<flag>_at` says when the flag last changed; a confirmation of the same state
            # is only history.
            setattr(locked, flag, granted)
            setattr(locked, f"{flag}_at", timezone.now())
            locked.save(update_fields=[flag, f"{flag}_at", "updated_at"])
        for field in (flag, f"{flag}_at"):
            setattr(customer, field, getattr(locked, field))
        event = ConsentEvent.objects.create(
            customer=customer,
            channel=channel,
            granted=granted,
            method=method,
            source=source[:200],
            ip=ip or None,
            user_agent=(user_agent or "")[:MAX_USER_AGENT],
            occurred_at=timezone.now(),
            recorded_by=recorded_by,
        )
        address = customer_address(customer, channel)
        if granted and method in MAILBOX_CONFIRMED and address:
            Suppression.objects.filter(
                channel=channel,
                address=address_normalize(channel=channel, address=address),
                reason=SuppressionReason.UNSUBSCRIBE,
            ).delete()
    return event


def customer_create_with_consent(
    *,
    consent_method: str,
    email_consent: bool = False,
    sms_consent: bool = False,
    consent_source: str = "",
    ip: str | None = None,
    user_agent: str = "",
    **create: Any,
) -> Customer:
    """Create a customer (`customers.services.customer_create`, which takes `create`) and
    record each consent granted with them, in one transaction.

    A flag left false records nothing: a new customer has no consent, so nothing changed. The
    consent is recorded as given by `actor_user` (none on a public page).
    """
    granted = {Channel.EMAIL: email_consent, Channel.SMS: sms_consent}
    with transaction.atomic():
        customer = customer_create(**create)
        for channel, grant in granted.items():
            if grant:
                consent_record(
                    customer=customer,
                    channel=channel,
                    granted=True,
                    method=consent_method,
                    source=consent_source,
                    ip=ip,
                    user_agent=user_agent,
                    recorded_by=create.get("actor_user"),
                )
    return customer


def customer_update_with_consent(
    *,
    customer: Customer,
    data: dict[str, Any],
    consent_method: str,
    actor_user: User | None = None,
    consent_source: str = "",
) -> Customer:
    """Change a customer's details (`customers.services.customer_update`) and the consent flags
    `data` holds, in one transaction; a flag whose value changes gets its history entry.

    A flag sent with the value it already has records nothing: a form or a PUT repeats every
    field, and repeating is not a new consent.
    """
    details = {name: value for name, value in data.items() if name not in CONSENT_FLAG.values()}
    with transaction.atomic():
        # Locked so that two edits sending the same change record it once.
        stored = Customer.objects.select_for_update().get(pk=customer.pk)
        customer = customer_update(customer=customer, data=details, actor_user=actor_user)
        for channel, flag in CONSENT_FLAG.items():
            if flag in data and bool(data[flag]) != getattr(stored, flag):
                consent_record(
                    customer=customer,
                    channel=channel,
                    granted=bool(data[flag]),
                    method=consent_method,
                    source=consent_source,
                    recorded_by=actor_user,
                )
    return customer


def suppression_add(
    *,
    channel: str,
    address: str,
    reason: str,
    note: str = "",
    created_by: User | None = None,
) -> tuple[Suppression, bool]:
    """Suppress `address` on `channel`; returns the entry and whether it is new."""
    normalized = address_normalize(channel=channel, address=address)
    if not normalized:
        raise ApplicationError("Give an address.", field="address")
    if channel == Channel.EMAIL and "@" not in normalized:
        raise ApplicationError("Enter a valid email address.", field="address")
    if channel == Channel.SMS and not re.fullmatch(r"\+?\d{5,16}", normalized):
        raise ApplicationError("Enter a phone number (digits, optionally +).", field="address")
    if reason not in SuppressionReason.values:
        raise ApplicationError(f"Unknown reason '{reason}'.", field="reason")
    existing = Suppression.objects.filter(channel=channel, address=normalized).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            entry = Suppression.objects.create(
                channel=channel,
                address=normalized,
                reason=reason,
                note=note[:500],
                created_by=created_by,
            )
    except IntegrityError:  # added concurrently: the same outcome
        return Suppression.objects.get(channel=channel, address=normalized), False
    return entry, True


def suppression_remove(*, suppression: Suppression) -> None:
    """Lift a suppression. The customer's consent flag is unchanged: still needed to send."""
    suppression.delete()


def unsubscribe(
    *,
    channel: str,
    method: str,
    customer: Customer | None = None,
    address: str = "",
    source: str = "",
    ip: str | None = None,
    user_agent: str = "",
) -> None:
    """Withdraw consent and suppress the address. Repeating it changes nothing more.

    With a customer, their consent on the channel is withdrawn (one history entry, unless it
    already was) and their address suppressed; with a bare address, the address is suppressed.
    """
    _channel(channel)
    reason = WITHDRAWAL_SUPPRESSION.get(method, SuppressionReason.UNSUBSCRIBE)
    with transaction.atomic():
        if customer is not None:
            customer = Customer.objects.select_for_update().get(pk=customer.pk)
            address = customer_address(customer, channel) or address
            if getattr(customer, CONSENT_FLAG[channel]):
                consent_record(
                    customer=customer,
                    channel=channel,
                    granted=False,
                    method=method,
                    source=source,
                    ip=ip,
                    user_agent=user_agent,
                )
        if address:
            suppression_add(channel=channel, address=address, reason=reason, note=source)


def suppression_of(*, channel: str, address: str) -> Suppression | None:
    if not address:
        return None
    normalized = address_normalize(channel=channel, address=address)
    return Suppression.objects.filter(channel=channel, address=normalized).first()


def marketing_allowed(*, customer: Customer | None, channel: str, address: str) -> tuple[bool, str]:
    """May marketing go to `address` on `channel` now? (allowed, the reason when not).

    Needs the customer's consent on the channel AND the address not suppressed. Marketing to
    an address with no customer behind it has no consent: it is refused.
    """
    if customer is None:
        if channel == Channel.EMAIL and address:
            customer = Customer.objects.filter(email__iexact=address.strip()).first()
        if customer is None:
            return False, f"No customer with {channel} consent for this address."
    if not getattr(customer, CONSENT_FLAG[channel]):
        return False, f"No {channel} consent at send time: marketing not sent."
    suppression = suppression_of(channel=channel, address=address)
    if suppression is not None:
        return (
            False,
            f"The address is on the suppression list ({suppression.get_reason_display()}): "
            "marketing not sent.",
        )
    return True, ""
