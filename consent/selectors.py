"""Reads for consent: a customer's history and current state, the suppression list."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from consent.models import ConsentEvent, Suppression
from consent.services import CONSENT_FLAG, customer_address, suppression_of
from customers.models import Customer
from messaging.models import Channel


@dataclass(frozen=True)
class ChannelConsent:
    """Where a customer stands on one channel: the flag, since when, and any suppression."""

    channel: str
    label: str
    granted: bool
    changed_at: object
    address: str
    suppression: Suppression | None

    @property
    def marketing_allowed(self) -> bool:
        return self.granted and self.suppression is None


def consent_current(*, customer: Customer) -> list[ChannelConsent]:
    result = []
    for channel, label in Channel.choices:
        flag = CONSENT_FLAG[channel]
        address = customer_address(customer, channel)
        result.append(
            ChannelConsent(
                channel=channel,
                label=label,
                granted=getattr(customer, flag),
                changed_at=getattr(customer, f"{flag}_at"),
                address=address,
                suppression=suppression_of(channel=channel, address=address),
            )
        )
    return result


def consent_history(*, customer: Customer) -> QuerySet[ConsentEvent]:
    return ConsentEvent.objects.filter(customer=customer).select_related("recorded_by")


def suppression_queryset() -> QuerySet[Suppression]:
    return Suppression.objects.select_related("created_by")
