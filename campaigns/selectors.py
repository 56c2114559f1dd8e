"""Reads for campaigns: lists, the audience, per-variant results with the A/B verdict, costs.

Every number here is defined in docs/metrics.md (Campaigns) and computed from the raw rows:
`Recipient`, its outbox message's state, `TrackingEvent`, consent history, customers and
purchases.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from campaigns.models import (
    AbMetric,
    Campaign,
    CampaignState,
    Recipient,
    RecipientState,
    TrackingEvent,
    TrackingKind,
    Variant,
)
from common.exceptions import ApplicationError
from customers.models import Customer
from messaging.models import MessageState
from segments.selectors import segment_customers
from stages.models import Phase

# A/B: a winner needs at least this many sends in every variant, and p below ALPHA
# (Bonferroni-corrected when more than two variants are compared).
AB_MIN_SENDS = 100
AB_ALPHA = 0.05
Z_95 = 1.959963984540054
# A campaign is a retention campaign when at least this share of the customers it queued
# a message for were in a Delight stage then.
RETENTION_SHARE = 0.5


def campaign_queryset() -> QuerySet[Campaign]:
    return Campaign.objects.select_related(
        "segment", "created_by", "audience_snapshot"
    ).prefetch_related("variants")


def campaign_audience(campaign: Campaign) -> QuerySet[Customer]:
    """The customers the campaign's audience holds now: its explicit list, or its segment's
    customers. What starting the campaign fixes, and what the confirmation counts; once the
    campaign has started, its recipients are its snapshot's, not these."""
    if campaign.customer_ids is not None:
        return Customer.objects.filter(pk__in=campaign.customer_ids)
    if campaign.segment is not None:
        return segment_customers(campaign.segment)
    raise ApplicationError("Choose a segment or customers to send to.", field="segment")


# --- statistics ---------------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion (0, 0 for no trials)."""
    if n <= 0:
        return 0.0, 0.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p_value(s1: int, n1: int, s2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (1.0 when undefined)."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    pooled = (s1 + s2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return 1.0
    z = (s1 / n1 - s2 / n2) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


@dataclass
class Counts:
    recipients: int = 0
    queued: int = 0
    skipped: int = 0
    failed: int = 0
    sent: int = 0
    suppressed: int = 0
    delivered: int = 0
    opens: int = 0
    clicks: int = 0
    unsubscribes: int = 0
    bounces: int = 0
    complaints: int = 0
    conversions: int = 0
    delivered_reported: int = 0

    def rate(self, count: int) -> float | None:
        return count / self.sent if self.sent else None

    @property
    def rates(self) -> dict[str, float | None]:
        return {
            "delivery": self.rate(self.delivered),
            "open": self.rate(self.opens),
            "click": self.rate(self.clicks),
            "unsubscribe": self.rate(self.unsubscribes),
            "bounce": self.rate(self.bounces),
            "complaint": self.rate(self.complaints),
            "conversion": self.rate(self.conversions),
        }

    def metric(self, metric: str) -> int:
        return {
            AbMetric.OPEN: self.opens,
            AbMetric.CLICK: self.clicks,
            AbMetric.CONVERSION: self.conversions,
        }[AbMetric(metric)]


@dataclass
class VariantResult:
    variant: Variant
    counts: Counts
    metric_successes: int = 0
    metric_rate: float | None = None
    interval: tuple[float, float] = (0.0, 0.0)


@dataclass
class Verdict:
    winner: Variant | None
    p_value: float | None
    message: str


@dataclass
class CampaignResults:
    campaign: Campaign
    total: Counts
    variants: list[VariantResult] = field(default_factory=list)
    verdict: Verdict | None = None


_EVENT_FIELDS = {
    TrackingKind.DELIVERED: "delivered_reported",
    TrackingKind.OPEN: "opens",
    TrackingKind.CLICK: "clicks",
    TrackingKind.BOUNCE: "bounces",
    TrackingKind.COMPLAINT: "complaints",
    TrackingKind.CONVERSION: "conversions",
}


def _unsubscribed_recipients(campaign: Campaign) -> QuerySet[Recipient]:
    """Recipients who unsubscribed: a withdrawal of consent on the campaign's channel by an
    unsubscribe link or one-click header within the attribution window after the message was
    queued, or an `unsubscribe` event reported by the provider."""
    recipients = Recipient.objects.filter(campaign=campaign, state=RecipientState.QUEUED)
    condition = Q(Exists(TrackingEvent.objects.filter(
        recipient=OuterRef("pk"), kind=TrackingKind.UNSUBSCRIBE
    )))  # fmt: skip
    try:
        from consent.models import ConsentEvent, ConsentMethod
    except ImportError:  # pragma: no cover - the consent app is installed
        return recipients.filter(condition)
    withdrawn = ConsentEvent.objects.filter(
        customer_id=OuterRef("customer_id"),
        channel=campaign.channel,
        granted=False,
        method__in=[ConsentMethod.UNSUBSCRIBE_LINK, ConsentMethod.ONE_CLICK],
        occurred_at__gte=OuterRef("created_at"),
        occurred_at__lte=OuterRef("created_at") + timedelta(days=campaign.attribution_window_days),
    )
    return recipients.filter(condition | Q(Exists(withdrawn)))


def campaign_results(*, campaign: Campaign) -> CampaignResults:
    """Per-variant and total counts and rates, the chosen metric's interval per variant, and
    the A/B verdict (docs/metrics.md)."""
    variants = list(campaign.variants.order_by("pk"))
    counts = {variant.pk: Counts() for variant in variants}
    rows = (
        Recipient.objects.filter(campaign=campaign)
        .order_by()
        .values_list("variant_id", "state", "message__state")
        .annotate(n=Count("pk"))
    )
    for variant_id, state, message_state, n in rows:
        c = counts.setdefault(variant_id, Counts())
        c.recipients += n
        if state == RecipientState.SKIPPED:
            c.skipped += n
        elif state == RecipientState.FAILED or message_state == MessageState.FAILED:
            c.failed += n
        elif message_state == MessageState.SENT:
            c.sent += n
        elif message_state == MessageState.SUPPRESSED:
            c.suppressed += n
        else:
            c.queued += n
    events = (
        TrackingEvent.objects.filter(recipient__campaign=campaign)
        .order_by()
        .values_list("recipient__variant_id", "kind")
        .annotate(n=Count("recipient_id", distinct=True))
    )
    for variant_id, kind, n in events:
        name = _EVENT_FIELDS.get(kind)
        if name:
            setattr(counts[variant_id], name, n)
    for variant_id, n in (
        _unsubscribed_recipients(campaign)
        .order_by()
        .values_list("variant_id")
        .annotate(n=Count("pk"))
    ):
        counts[variant_id].unsubscribes = n
    for c in counts.values():
        # A provider that reports deliveries is believed; otherwise sent minus bounced.
        c.delivered = c.delivered_reported or max(0, c.sent - c.bounces)
    total = Counts()
    for c in counts.values():
        for name in Counts.__dataclass_fields__:
            setattr(total, name, getattr(total, name) + getattr(c, name))
    results = []
    for variant in variants:
        c = counts[variant.pk]
        successes = c.metric(campaign.ab_metric)
        results.append(
            VariantResult(
                variant=variant,
                counts=c,
                metric_successes=successes,
                metric_rate=c.rate(successes),
                interval=wilson_interval(successes, c.sent),
            )
        )
    return CampaignResults(
        campaign=campaign, total=total, variants=results, verdict=ab_verdict(results)
    )


def ab_verdict(results: list[VariantResult]) -> Verdict:
    """A winner only when every variant has at least AB_MIN_SENDS sends and the best rate
    beats each other variant's with a two-proportion z-test p below AB_ALPHA ÷ (variants - 1)."""
    if len(results) < 2:
        return Verdict(None, None, "One variant only: nothing to compare.")
    short = [r for r in results if r.counts.sent < AB_MIN_SENDS]
    if short:
        return Verdict(
            None,
            None,
            f"Not enough data yet: each variant needs at least {AB_MIN_SENDS} sends "
            f"({', '.join(f'{r.variant.name}: {r.counts.sent}' for r in short)}).",
        )
    best = max(results, key=lambda r: (r.metric_rate or 0.0, -r.variant.pk))
    alpha = AB_ALPHA / (len(results) - 1)
    p_worst = max(
        two_proportion_p_value(
            best.metric_successes, best.counts.sent, other.metric_successes, other.counts.sent
        )
        for other in results
        if other is not best
    )
    if p_worst < alpha:
        return Verdict(
            best.variant,
            p_worst,
            f"{best.variant.name} wins (p = {p_worst:.4f} < {alpha:.3g}).",
        )
    return Verdict(
        None,
        p_worst,
        f"Not enough data yet: no significant difference (p = {p_worst:.3f}, needs < {alpha:.3g}).",
    )


# --- costs --------------------------------------------------------------------------------------


def _end(campaign: Campaign) -> datetime:
    return (campaign.finished_at or timezone.now()) + timedelta(
        days=campaign.attribution_window_days
    )


def campaign_acquired_ids(*, campaign: Campaign) -> set[int]:
    """The new customers a campaign acquired (docs/metrics.md): (a) created with its
    utm_campaign tag between its start and the end of its attribution window, and (b) its
    recipients whose conversion for it left the Attract phase and is their first such
    conversion for any campaign (a tie goes to the most recent send)."""
    start = campaign.started_at
    if start is None:
        return set()
    acquired: set[int] = set()
    if campaign.utm_campaign:
        acquired |= set(
            Customer.objects.filter(
                utm_campaign__iexact=campaign.utm_campaign,
                created_at__gte=start,
                created_at__lte=_end(campaign),
            ).values_list("pk", flat=True)
        )
    earlier = TrackingEvent.objects.filter(
        kind=TrackingKind.CONVERSION,
        meta__from_phase=Phase.ATTRACT,
        recipient__customer_id=OuterRef("recipient__customer_id"),
    ).filter(
        Q(occurred_at__lt=OuterRef("occurred_at"))
        | Q(occurred_at=OuterRef("occurred_at"), recipient_id__gt=OuterRef("recipient_id"))
    )
    acquired |= set(
        TrackingEvent.objects.filter(
            recipient__campaign=campaign,
            kind=TrackingKind.CONVERSION,
            meta__from_phase=Phase.ATTRACT,
        )
        .filter(~Exists(earlier))
        .values_list("recipient__customer_id", flat=True)
    )
    return acquired


def campaign_retained_ids(*, campaign: Campaign) -> set[int]:
    """The customers a retention campaign retained: recipients in Delight when sent who,
    within the attribution window after it, bought again or converted for it."""
    from interactions.models import Purchase

    recipients = Recipient.objects.filter(
        campaign=campaign, state=RecipientState.QUEUED, phase=Phase.DELIGHT
    )
    window = timedelta(days=campaign.attribution_window_days)
    converted = set(
        TrackingEvent.objects.filter(
            recipient__in=recipients, kind=TrackingKind.CONVERSION
        ).values_list("recipient__customer_id", flat=True)
    )
    bought = set()
    for customer_id, sent_at in recipients.values_list("customer_id", "created_at"):
        if customer_id in converted:
            continue
        bought.add((customer_id, sent_at))
    if bought:
        ids = [customer_id for customer_id, _ in bought]
        purchases = defaultdict(list)
        for customer_id, at in Purchase.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "occurred_at"
        ):
            purchases[customer_id].append(at)
        converted |= {
            customer_id
            for customer_id, sent_at in bought
            if any(sent_at <= at <= sent_at + window for at in purchases[customer_id])
        }
    return converted


def campaign_is_retention(*, campaign: Campaign) -> bool:
    rows = dict(
        Recipient.objects.filter(campaign=campaign, state=RecipientState.QUEUED)
        .order_by()
        .values_list("phase")
        .annotate(n=Count("pk"))
        .values_list("phase", "n")
    )
    queued = sum(rows.values())
    return bool(queued) and rows.get(Phase.DELIGHT, 0) / queued >= RETENTION_SHARE


@dataclass(frozen=True)
class CampaignCosts:
    cost: Decimal
    currency: str
    acquired: int
    acquisition_cost: Decimal | None
    is_retention: bool
    retained: int
    retention_cost: Decimal | None


def _per(cost: Decimal, n: int) -> Decimal | None:
    return (cost / n).quantize(Decimal("0.01")) if n else None


def campaign_costs(*, campaign: Campaign) -> CampaignCosts:
    acquired = len(campaign_acquired_ids(campaign=campaign))
    retention = campaign_is_retention(campaign=campaign)
    retained = len(campaign_retained_ids(campaign=campaign)) if retention else 0
    return CampaignCosts(
        cost=campaign.cost,
        currency=campaign.currency,
        acquired=acquired,
        acquisition_cost=_per(campaign.cost, acquired),
        is_retention=retention,
        retained=retained,
        retention_cost=_per(campaign.cost, retained) if retention else None,
    )


@dataclass(frozen=True)
class SourceCost:
    source: str
    currency: str
    cost: Decimal
    new_customers: int
    cost_per_customer: Decimal | None


def acquisition_cost_by_source(*, start: datetime, end: datetime) -> list[SourceCost]:
    """Per source and currency: the cost of campaigns started in [start, end) whose source
    (utm_source, else the channel) it is, ÷ customers created in [start, end) with that
    source (utm_source, else `source`)."""
    costs: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for campaign in Campaign.objects.filter(started_at__gte=start, started_at__lt=end).exclude(
        state=CampaignState.DRAFT
    ):
        costs[(campaign.source_label.lower(), campaign.currency)] += campaign.cost
    new: dict[str, int] = defaultdict(int)
    for utm_source, source in Customer.objects.filter(
        created_at__gte=start, created_at__lt=end
    ).values_list("utm_source", "source"):
        new[(utm_source or source or "").lower()] += 1
    return [
        SourceCost(source, currency, cost, new[source], _per(cost, new[source]))
        for (source, currency), cost in sorted(costs.items())
    ]


@dataclass(frozen=True)
class RetentionCost:
    currency: str
    cost: Decimal
    retained: int
    cost_per_retained: Decimal | None


def retention_cost(*, start: datetime, end: datetime) -> list[RetentionCost]:
    """Per currency: the cost of retention campaigns started in [start, end) ÷ the distinct
    customers they retained."""
    costs: dict[str, Decimal] = defaultdict(Decimal)
    retained: dict[str, set[int]] = defaultdict(set)
    for campaign in Campaign.objects.filter(started_at__gte=start, started_at__lt=end):
        if not campaign_is_retention(campaign=campaign):
            continue
        costs[campaign.currency] += campaign.cost
        retained[campaign.currency] |= campaign_retained_ids(campaign=campaign)
    return [
        RetentionCost(currency, cost, len(retained[currency]), _per(cost, len(retained[currency])))
        for currency, cost in sorted(costs.items())
    ]


def campaign_list_rates(campaigns: list[Campaign]) -> dict[int, dict[str, Any]]:
    """Key rates for a page of campaigns in three queries: sent, open and click rates."""
    ids = [c.pk for c in campaigns]
    sent = dict(
        Recipient.objects.filter(campaign_id__in=ids, message__state=MessageState.SENT)
        .order_by()
        .values_list("campaign_id")
        .annotate(n=Count("pk"))
        .values_list("campaign_id", "n")
    )
    events: dict[int, dict[str, int]] = defaultdict(dict)
    for campaign_id, kind, n in (
        TrackingEvent.objects.filter(
            recipient__campaign_id__in=ids,
            kind__in=[TrackingKind.OPEN, TrackingKind.CLICK, TrackingKind.CONVERSION],
        )
        .order_by()
        .values_list("recipient__campaign_id", "kind")
        .annotate(n=Count("recipient_id", distinct=True))
    ):
        events[campaign_id][kind] = n
    out = {}
    for pk in ids:
        n = sent.get(pk, 0)
        out[pk] = {
            "sent": n,
            "open_rate": events[pk].get(TrackingKind.OPEN, 0) / n if n else None,
            "click_rate": events[pk].get(TrackingKind.CLICK, 0) / n if n else None,
            "conversions": events[pk].get(TrackingKind.CONVERSION, 0),
        }
    return out
