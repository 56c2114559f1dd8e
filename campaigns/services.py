"""Writes for campaigns: drafting, the state machine, the chunked send, tracking, attribution.

- `campaign_create` / `campaign_update` write a draft and its variants (splits add up to 100);
  only a draft can be changed.
- The state machine: draft → scheduled (`campaign_schedule`) → sending (`campaign_send_now`,
  or the beat sweep `campaigns_start_due` at `scheduled_at`) → sent; sending ⇄ paused
  (`campaign_pause` / `campaign_resume`); draft, scheduled, sending or paused → cancelled
  (`campaign_cancel`). Each change locks the campaign row, so a double click on "Send now"
  starts it once and the second click gets a clear error.
- Starting to send fixes the audience (`_start`): the customers of the segment or list at
  that moment are copied into an `AudienceSnapshot` (`segments.services.audience_freeze`,
  one INSERT … SELECT in the transaction that starts the campaign), and the chunks walk that
  snapshot in customer id order. A scheduled campaign's audience is fixed when it starts,
  not when it is scheduled.
- `campaign_send_step` sends one chunk in one transaction, under the campaign's row lock:
  the chunk's `Recipient` rows (INSERT … ON CONFLICT DO NOTHING on UNIQUE (campaign,
  customer)), their outbox messages (`message_queue`, key `campaign:<id>:customer:<id>`,
  unique in the outbox), the cursor and the counts commit together or not at all. A worker
  that dies loses the chunk whole and the next run redoes it; two workers take turns. The
  database, not the code path, makes a second message to the same customer impossible.
- `send_rate_per_minute` is kept by `next_chunk_at`: a chunk of n customers holds the next
  one back n x 60 / rate seconds, whichever worker (or sweep) picks it up.
- Tracking (`tracking_record`, `provider_event_record`) records the first of each kind per
  recipient; a stage advance after an open or click inside the attribution window records a
  conversion (`attribution_on_stage_changed`, subscribed to `customer.stage_changed`).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from campaigns.models import (
    MAX_ATTRIBUTION_DAYS,
    MAX_SEND_RATE_PER_MINUTE,
    AbMetric,
    Campaign,
    CampaignState,
    ProviderEvent,
    Recipient,
    RecipientState,
    TrackingEvent,
    TrackingKind,
    Variant,
)
from campaigns.selectors import campaign_audience
from campaigns.tracking import html_track
from common.exceptions import ApplicationError
from customers.models import Customer
from messaging.models import Channel, MessageKind, OutboundMessage
from messaging.services import message_enqueue, message_queue
from messaging.templating import Rendered, template_context, template_render_parts
from segments.selectors import AudienceChunk, audience_chunk
from segments.services import audience_freeze
from stages.models import Direction, Stage

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# Customers per chunk (one transaction); a chunk is never larger than a minute's rate.
CHUNK_SIZE = 500
# A task works on a campaign this long, then hands the rest to a fresh task (time limits).
SEND_TIME_BUDGET_SECONDS = 60.0
# Stage moves that count as a conversion (an advance on the wheel, or a new round of it).
ATTRIBUTABLE_DIRECTIONS = (Direction.FORWARD, Direction.SKIP, Direction.NEW_CYCLE)
EDITABLE_FIELDS = (
    "name",
    "channel",
    "send_rate_per_minute",
    "cost",
    "currency",
    "utm_source",
    "utm_campaign",
    "attribution_window_days",
    "ab_metric",
)
VARIANT_FIELDS = ("name", "split", "subject", "body_text", "body_html")
MAX_VARIANTS = 10


class CampaignStateError(ApplicationError):
    """The action does not apply to the campaign in its current state."""

    def __init__(self, campaign: Campaign, action: str) -> None:
        super().__init__(
            f"A {campaign.get_state_display().lower()} campaign cannot be {action}.",
            field="state",
        )


def campaign_key(campaign_id: int, customer_id: int) -> str:
    """The outbox idempotency key of a campaign's message to a customer."""
    return f"campaign:{campaign_id}:customer:{customer_id}"


# --- drafting -----------------------------------------------------------------------------------


def _clean_fields(data: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name not in EDITABLE_FIELDS:
            raise ApplicationError(f"Unknown field '{name}'.", field=name)
        cleaned[name] = value
    if "name" in cleaned:
        cleaned["name"] = str(cleaned["name"] or "").strip()
        if not cleaned["name"]:
            raise ApplicationError("Give the campaign a name.", field="name")
    if "channel" in cleaned and cleaned["channel"] not in Channel.values:
        raise ApplicationError("Choose email or sms.", field="channel")
    if "ab_metric" in cleaned and cleaned["ab_metric"] not in AbMetric.values:
        raise ApplicationError(f"Choose one of {', '.join(AbMetric.values)}.", field="ab_metric")
    if "send_rate_per_minute" in cleaned:
        rate = cleaned["send_rate_per_minute"]
        if (
            isinstance(rate, bool)
            or not isinstance(rate, int)
            or not (1 <= rate <= MAX_SEND_RATE_PER_MINUTE)
        ):
            raise ApplicationError(
                f"Give a whole number from 1 to {MAX_SEND_RATE_PER_MINUTE}.",
                field="send_rate_per_minute",
            )
    if "attribution_window_days" in cleaned:
        days = cleaned["attribution_window_days"]
        if (
            isinstance(days, bool)
            or not isinstance(days, int)
            or not (1 <= days <= MAX_ATTRIBUTION_DAYS)
        ):
            raise ApplicationError(
                f"Give a whole number of days from 1 to {MAX_ATTRIBUTION_DAYS}.",
                field="attribution_window_days",
            )
    if "cost" in cleaned:
        try:
            cost = Decimal(str(cleaned["cost"]))
        except (InvalidOperation, ValueError):
            raise ApplicationError("Give the cost as a number.", field="cost") from None
        if not cost.is_finite() or cost < 0 or cost >= Decimal("1e10"):
            raise ApplicationError("Give a cost from 0 to 9,999,999,999.99.", field="cost")
        cleaned["cost"] = cost.quantize(Decimal("0.01"))
    if "currency" in cleaned:
        currency = str(cleaned["currency"] or "").strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise ApplicationError("Give a three-letter currency code.", field="currency")
        cleaned["currency"] = currency
    return cleaned


def _clean_variants(variants: list[dict[str, Any]], *, channel: str) -> list[dict[str, Any]]:
    """Validate the variants as a whole: names unique, splits add up to 100, texts present."""
    if not isinstance(variants, list) or not variants:
        raise ApplicationError("Give at least one variant.", field="variants")
    if len(variants) > MAX_VARIANTS:
        raise ApplicationError(f"Give at most {MAX_VARIANTS} variants.", field="variants")
    cleaned: list[dict[str, Any]] = []
    names: set[str] = set()
    for index, raw in enumerate(variants):
        where = f"variants[{index}]"
        if not isinstance(raw, dict):
            raise ApplicationError("Give each variant as an object.", field=where)
        unknown = sorted(set(raw) - set(VARIANT_FIELDS) - {"id", "template"})
        if unknown:
            raise ApplicationError(f"Unknown field '{unknown[0]}'.", field=f"{where}.{unknown[0]}")
        if raw.get("template") is not None:
            raw = {
                **variant_texts_from_template(raw["template"], channel=channel, where=where),
                **{name: value for name, value in raw.items() if name in VARIANT_TEXTS and value},
                **{name: value for name, value in raw.items() if name not in VARIANT_TEXTS},
            }
        name = str(raw.get("name") or "").strip() or chr(ord("A") + index)
        if name in names:
            raise ApplicationError(f"Two variants are named '{name}'.", field=f"{where}.name")
        names.add(name)
        split = raw.get("split", 100 if len(variants) == 1 else None)
        if isinstance(split, bool) or not isinstance(split, int) or not 0 <= split <= 100:
            raise ApplicationError(
                "Give the split as a whole percentage from 0 to 100.", field=f"{where}.split"
            )
        subject = str(raw.get("subject") or "").strip()
        body_text = str(raw.get("body_text") or "")
        body_html = str(raw.get("body_html") or "")
        if channel == Channel.EMAIL:
            if not subject:
                raise ApplicationError("An email needs a subject.", field=f"{where}.subject")
            if not body_text.strip() and not body_html.strip():
                raise ApplicationError(
                    "Give a plain-text body, an HTML body or both.", field=f"{where}.body_text"
                )
        else:
            if not body_text.strip():
                raise ApplicationError("An SMS needs a text.", field=f"{where}.body_text")
            subject, body_html = "", ""
        cleaned.append(
            {
                "name": name[:100],
                "split": split,
                "subject": subject[:300],
                "body_text": body_text,
                "body_html": body_html,
            }
        )
    total = sum(variant["split"] for variant in cleaned)
    if total != 100:
        raise ApplicationError(
            f"The variants' splits add up to {total}%; they must add up to 100%.",
            field="variants",
        )
    return cleaned


VARIANT_TEXTS = ("subject", "body_text", "body_html")


def variant_texts_from_template(
    template_id: Any, *, channel: str, where: str = "variants[0]"
) -> dict[str, str]:
    """A copy of a message template's texts to start a variant from (the variant keeps its
    own copy: editing the template later does not change the campaign). The template's
    channel must be the campaign's."""
    from messaging.models import MessageTemplate

    field = f"{where}.template"
    if isinstance(template_id, bool) or not str(template_id).isdigit():
        raise ApplicationError("Give the message template's id.", field=field)
    template = MessageTemplate.objects.filter(pk=int(template_id)).first()
    if template is None:
        raise ApplicationError(f"Unknown message template {template_id}.", field=field)
    if template.channel != channel:
        words: dict[str, str] = {Channel.EMAIL: "email", Channel.SMS: "SMS"}
        raise ApplicationError(
            f"“{template.name}” is an {words[template.channel]} template; this campaign "
            f"sends {words.get(channel, channel)}.",
            field=field,
        )
    return {name: getattr(template, name) for name in VARIANT_TEXTS}


def _clean_audience(*, segment: Any, customer_ids: list[int] | None) -> list[int] | None:
    if segment is not None and customer_ids is not None:
        raise ApplicationError(
            "Give either a segment or a list of customers, not both.", field="segment"
        )
    if customer_ids is None:
        return None
    ids = sorted({int(pk) for pk in customer_ids})
    if not ids:
        raise ApplicationError("Give at least one customer.", field="customer_ids")
    known = set(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True))
    unknown = [pk for pk in ids if pk not in known]
    if unknown:
        shown = ", ".join(str(pk) for pk in unknown[:10])
        raise ApplicationError(f"Unknown customers: {shown}.", field="customer_ids")
    return ids


def campaign_create(
    *,
    name: str,
    variants: list[dict[str, Any]],
    created_by: User | None = None,
    segment: Any = None,
    customer_ids: list[int] | None = None,
    **fields: Any,
) -> Campaign:
    """Write a draft campaign with its variants. The audience is `segment` or `customer_ids`
    (it may be left out of a draft, but a campaign cannot be scheduled or sent without one)."""
    cleaned = _clean_fields({"name": name, **fields})
    channel = cleaned.get("channel", Channel.EMAIL)
    clean_variants = _clean_variants(variants, channel=channel)
    ids = _clean_audience(segment=segment, customer_ids=customer_ids)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            segment=segment, customer_ids=ids, created_by=created_by, **cleaned
        )
        Variant.objects.bulk_create(
            Variant(campaign=campaign, **variant) for variant in clean_variants
        )
    return campaign


_UNSET: Any = object()


def campaign_update(
    *,
    campaign: Campaign,
    data: dict[str, Any] | None = None,
    variants: list[dict[str, Any]] | None = None,
    segment: Any = _UNSET,
    customer_ids: Any = _UNSET,
) -> Campaign:
    """Change a draft: its fields, its audience, and (when given) all its variants at once."""
    cleaned = _clean_fields(data or {})
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.state != CampaignState.DRAFT:
            raise CampaignStateError(locked, "edited")
        for name, value in cleaned.items():
            setattr(locked, name, value)
        if segment is not _UNSET or customer_ids is not _UNSET:
            new_segment = locked.segment if segment is _UNSET else segment
            new_ids = locked.customer_ids if customer_ids is _UNSET else customer_ids
            if segment is not _UNSET and segment is not None and customer_ids is _UNSET:
                new_ids = None
            if customer_ids is not _UNSET and customer_ids is not None and segment is _UNSET:
                new_segment = None
            locked.customer_ids = _clean_audience(segment=new_segment, customer_ids=new_ids)
            locked.segment = new_segment
        if variants is not None:
            clean_variants = _clean_variants(variants, channel=locked.channel)
            locked.variants.all().delete()
            Variant.objects.bulk_create(
                Variant(campaign=locked, **variant) for variant in clean_variants
            )
        elif "channel" in cleaned:
            _clean_variants(
                [
                    {field: getattr(v, field) for field in VARIANT_FIELDS}
                    for v in locked.variants.order_by("pk")
                ],
                channel=locked.channel,
            )
        locked.save()
    return locked


def campaign_delete(*, campaign: Campaign) -> None:
    """Delete a draft (a campaign that sent anything is history: cancel it instead)."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.state != CampaignState.DRAFT:
            raise CampaignStateError(locked, "deleted (cancel it instead)")
        locked.delete()


# --- the variant --------------------------------------------------------------------------------


def variant_for(campaign_id: int, customer_id: int, variants: list[Variant]) -> Variant:
    """The variant a customer gets: a hash of (campaign, customer) placed on the splits.

    Deterministic (a resend or a retry picks the same variant), independent between
    campaigns, and uniform, so each variant gets close to its split.
    """
    digest = hashlib.sha256(f"{campaign_id}:{customer_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % 10_000  # basis points, 0..9999
    edge = 0
    for variant in variants:
        edge += variant.split * 100
        if point < edge:
            return variant
    return variants[-1]


# --- the state machine --------------------------------------------------------------------------


def _lock(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update(of=("self",)).get(pk=campaign.pk)


def _check_ready(campaign: Campaign) -> None:
    variants = [
        {field: getattr(v, field) for field in VARIANT_FIELDS}
        for v in campaign.variants.order_by("pk")
    ]
    _clean_variants(variants, channel=campaign.channel)
    campaign_audience(campaign)  # raises when there is none


def campaign_schedule(*, campaign: Campaign, at: datetime) -> Campaign:
    """Draft → scheduled: the beat sweep starts it at `at` (which must be in the future).
    Its audience is fixed then, when it starts, not now."""
    if timezone.is_naive(at):
        raise ApplicationError("Give the time with its time zone.", field="scheduled_at")
    if at <= timezone.now():
        raise ApplicationError("Choose a time in the future.", field="scheduled_at")
    with transaction.atomic():
        locked = _lock(campaign)
        if locked.state != CampaignState.DRAFT:
            raise CampaignStateError(locked, "scheduled")
        _check_ready(locked)
        locked.state = CampaignState.SCHEDULED
        locked.scheduled_at = at
        locked.save(update_fields=["state", "scheduled_at", "updated_at"])
    return locked


def _start(locked: Campaign, *, now: datetime) -> None:
    """Sending starts: the audience is fixed now, in this transaction, once."""
    _check_ready(locked)
    locked.state = CampaignState.SENDING
    locked.started_at = now
    locked.audience_snapshot = audience_freeze(customers=campaign_audience(locked), at=now)
    locked.total = locked.audience_snapshot.total
    locked.processed = locked.skipped = 0
    locked.cursor = 0
    locked.next_chunk_at = None
    locked.error = ""
    locked.save()
    campaign_enqueue(campaign_id=locked.pk)


def campaign_send_now(*, campaign: Campaign) -> Campaign:
    """Draft or scheduled → sending, at once, to the customers its audience holds now (fixed
    for the whole send). A second call (a double click) is refused: the campaign is no
    longer a draft."""
    with transaction.atomic():
        locked = _lock(campaign)
        if locked.state not in (CampaignState.DRAFT, CampaignState.SCHEDULED):
            raise CampaignStateError(locked, "sent again")
        _start(locked, now=timezone.now())
    return locked


def campaign_pause(*, campaign: Campaign) -> Campaign:
    """Sending or scheduled → paused: no further chunk starts; what is queued goes out."""
    with transaction.atomic():
        locked = _lock(campaign)
        if locked.state not in (CampaignState.SENDING, CampaignState.SCHEDULED):
            raise CampaignStateError(locked, "paused")
        locked.state = CampaignState.PAUSED
        locked.save(update_fields=["state", "updated_at"])
    return locked


def campaign_resume(*, campaign: Campaign) -> Campaign:
    """Paused → sending (where it stopped), or back to scheduled if it had not started."""
    with transaction.atomic():
        locked = _lock(campaign)
        if locked.state != CampaignState.PAUSED:
            raise CampaignStateError(locked, "resumed")
        if locked.started_at is None:
            locked.state = CampaignState.SCHEDULED
            locked.save(update_fields=["state", "updated_at"])
        else:
            locked.state = CampaignState.SENDING
            locked.save(update_fields=["state", "updated_at"])
            campaign_enqueue(campaign_id=locked.pk)
    return locked


def campaign_cancel(*, campaign: Campaign) -> Campaign:
    """Any unsent campaign → cancelled, for good. Messages already queued still go out (each
    checks consent when it is sent)."""
    with transaction.atomic():
        locked = _lock(campaign)
        if locked.state in (CampaignState.SENT, CampaignState.CANCELLED):
            raise CampaignStateError(locked, "cancelled")
        locked.state = CampaignState.CANCELLED
        locked.finished_at = timezone.now()
        locked.save(update_fields=["state", "finished_at", "updated_at"])
    return locked


def campaigns_start_due(*, now: datetime | None = None) -> int:
    """Start the scheduled campaigns whose time has come (beat, every minute); how many."""
    now = now or timezone.now()
    started = 0
    due = list(
        Campaign.objects.filter(state=CampaignState.SCHEDULED, scheduled_at__lte=now)
        .order_by("scheduled_at")
        .values_list("pk", flat=True)[:100]
    )
    for pk in due:
        with transaction.atomic():
            locked = Campaign.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if locked is None or locked.state != CampaignState.SCHEDULED:
                continue
            try:
                _start(locked, now=now)
            except ApplicationError as error:
                locked.state = CampaignState.PAUSED
                locked.error = f"Could not start: {error.message}"
                locked.save(update_fields=["state", "error", "updated_at"])
                continue
            started += 1
    return started


def campaign_enqueue(*, campaign_id: int, countdown: float = 0) -> None:
    """Hand the campaign's next chunk to a worker once the current transaction commits."""
    from campaigns.tasks import campaign_send_chunk

    def publish() -> None:
        if countdown > 0:
            campaign_send_chunk.apply_async((campaign_id,), countdown=countdown)
        else:
            campaign_send_chunk.delay(campaign_id)

    transaction.on_commit(publish)


def campaigns_resume_stalled(*, older_than: timedelta = timedelta(minutes=5)) -> int:
    """Re-publish sending campaigns that stopped moving (a lost task); how many. Safe while
    a task still works on one: chunks take turns on the row lock, and the rate holds."""
    stale = list(
        Campaign.objects.filter(
            state=CampaignState.SENDING, updated_at__lt=timezone.now() - older_than
        ).values_list("pk", flat=True)[:1000]
    )
    if stale:
        Campaign.objects.filter(pk__in=stale).update(updated_at=timezone.now())
        with transaction.atomic():
            for pk in stale:
                campaign_enqueue(campaign_id=pk)
    return len(stale)


# --- rendering ----------------------------------------------------------------------------------


def campaign_render(
    *, campaign: Campaign, variant: Variant, customer: Customer, recipient_id: int | None = None
) -> Rendered:
    """The variant personalised for `customer` (sandboxed, HTML escaped). With a recipient,
    the HTML's links become tracking links and the open pixel is added."""
    rendered = template_render_parts(
        channel=campaign.channel,
        subject=variant.subject,
        body_text=variant.body_text,
        body_html=variant.body_html,
        context=template_context(customer),
    )
    if rendered.body_html and recipient_id is not None:
        utm = {
            "source": campaign.utm_source or campaign.channel,
            "medium": campaign.channel,
            "campaign": campaign.utm_campaign,
        }
        body_html = html_track(rendered.body_html, recipient_id=recipient_id, utm=utm)
        rendered = Rendered(rendered.subject, rendered.body_text, body_html)
    return rendered


def campaign_preview(*, campaign: Campaign, variant: Variant, customer: Customer) -> Rendered:
    """What `customer` would receive (links not yet tracked)."""
    return campaign_render(campaign=campaign, variant=variant, customer=customer)


def campaign_test_send(
    *, campaign: Campaign, variant: Variant, customer: Customer, to: str
) -> OutboundMessage:
    """Send the variant, personalised for `customer`, to `to` (the user's own address),
    marked as a test. Each test send is a new message; it is transactional (the user asked
    for it), has no tracking and counts in no statistic."""
    import uuid

    if campaign.channel == Channel.EMAIL and "@" not in (to or ""):
        raise ApplicationError("Your user has no email address to send the test to.", field="to")
    if campaign.channel == Channel.SMS and not (to or "").strip():
        raise ApplicationError("Give a phone number to send the test SMS to.", field="to")
    rendered = campaign_preview(campaign=campaign, variant=variant, customer=customer)
    message, _ = message_queue(
        channel=campaign.channel,
        kind=MessageKind.TRANSACTIONAL,
        to=to.strip(),
        subject=f"[Test] {rendered.subject}" if rendered.subject else "",
        body_text=rendered.body_text,
        body_html=rendered.body_html,
        idempotency_key=f"campaign-test:{campaign.pk}:{uuid.uuid4().hex}",
    )
    return message


# --- sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    campaign: Campaign | None
    wait_seconds: float = 0.0  # > 0: the rate holds the next chunk back this long

    @property
    def more(self) -> bool:
        return self.campaign is not None and self.campaign.state == CampaignState.SENDING


def _skip_reason(campaign: Campaign, customer: Customer) -> str:
    if campaign.channel == Channel.EMAIL:
        if not customer.email:
            return "The customer has no email address."
        if not customer.email_consent:
            return "The customer has not consented to marketing email."
    else:
        if not customer.phone:
            return "The customer has no phone number."
        if not customer.sms_consent:
            return "The customer has not consented to marketing SMS."
    return ""


def campaign_send_step(*, campaign_id: int, chunk_size: int = CHUNK_SIZE) -> StepResult:
    """Send one chunk of a sending campaign in one transaction (see the module docstring)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update(of=("self",)).filter(pk=campaign_id).first()
        if campaign is None or campaign.state != CampaignState.SENDING:
            return StepResult(campaign)
        now = timezone.now()
        if campaign.next_chunk_at is not None and campaign.next_chunk_at > now:
            return StepResult(campaign, (campaign.next_chunk_at - now).total_seconds())
        size = max(1, min(chunk_size, campaign.send_rate_per_minute))
        if campaign.audience_snapshot_id is None:  # cannot happen once started; never guess
            campaign.state = CampaignState.PAUSED
            campaign.error = "The campaign has no fixed audience: cancel it and start a new one."
            campaign.save()
            return StepResult(campaign)
        chunk = audience_chunk(
            snapshot_id=campaign.audience_snapshot_id, after=campaign.cursor, size=size
        )
        if chunk is None:
            _finish(campaign, now=now)
            campaign.save()
            return StepResult(campaign)
        _send_chunk(campaign, chunk, now=now)
        wait = len(chunk.customer_ids) * 60.0 / campaign.send_rate_per_minute
        campaign.next_chunk_at = now + timedelta(seconds=wait)
        campaign.save()
    return StepResult(campaign, wait)


def _send_chunk(campaign: Campaign, chunk: AudienceChunk, *, now: datetime) -> None:
    """The chunk's customers (those of the snapshot still existing) get their recipient row
    and message; consent and the address are checked now, at send time."""
    customer_ids = chunk.customer_ids
    variants = list(campaign.variants.order_by("pk"))
    customers = list(
        Customer.objects.filter(pk__in=customer_ids).select_related("stage", "owner").order_by("pk")
    )
    done = set(
        Recipient.objects.filter(campaign=campaign, customer_id__in=customer_ids).values_list(
            "customer_id", flat=True
        )
    )
    rows = []
    for customer in customers:
        if customer.pk in done:
            continue
        reason = _skip_reason(campaign, customer)
        rows.append(
            Recipient(
                campaign=campaign,
                customer=customer,
                variant=variant_for(campaign.pk, customer.pk, variants),
                state=RecipientState.SKIPPED if reason else RecipientState.QUEUED,
                reason=reason,
                phase=customer.stage.phase,
            )
        )
    # ON CONFLICT DO NOTHING: UNIQUE (campaign, customer) is the guarantee.
    Recipient.objects.bulk_create(rows, ignore_conflicts=True)
    by_customer = {customer.pk: customer for customer in customers}
    by_variant = {variant.pk: variant for variant in variants}
    pending = list(
        Recipient.objects.filter(
            campaign=campaign,
            customer_id__in=[row.customer_id for row in rows if not row.reason],
            state=RecipientState.QUEUED,
            message__isnull=True,
        ).order_by("pk")
    )
    queued: list[int] = []
    for recipient in pending:
        customer = by_customer[recipient.customer_id]
        try:
            rendered = campaign_render(
                campaign=campaign,
                variant=by_variant[recipient.variant_id],
                customer=customer,
                recipient_id=recipient.pk,
            )
            message, _ = message_queue(
                channel=campaign.channel,
                kind=MessageKind.MARKETING,
                to=customer.email if campaign.channel == Channel.EMAIL else customer.phone,
                subject=rendered.subject,
                body_text=rendered.body_text,
                body_html=rendered.body_html,
                idempotency_key=campaign_key(campaign.pk, customer.pk),
                customer=customer,
                enqueue=False,
            )
        except Exception as error:  # one bad row must not stall the campaign: it is recorded
            logger.exception("Campaign %s: message to %s not queued", campaign.pk, customer.pk)
            recipient.state = RecipientState.FAILED
            recipient.reason = f"{type(error).__name__}: {error}"[:500]
            continue
        recipient.message = message
        recipient.message_ref = message.message_id
        queued.append(message.pk)
    Recipient.objects.bulk_update(pending, ["message", "message_ref", "state", "reason"])
    # The chunk's messages go to the workers together, after the chunk commits.
    message_enqueue(message_ids=queued)
    campaign.processed += chunk.walked  # customers deleted since count as handled
    campaign.skipped += sum(1 for row in rows if row.reason)
    campaign.cursor = chunk.last_id


def _finish(campaign: Campaign, *, now: datetime) -> None:
    """Every customer of the snapshot is handled; the skips are recounted from the
    recipients themselves, so that the final numbers are exact. `total` stays the number
    of customers fixed when the campaign started."""
    skipped = Recipient.objects.filter(campaign=campaign, state=RecipientState.SKIPPED).count()
    campaign.processed = campaign.total
    campaign.skipped = skipped
    campaign.state = CampaignState.SENT
    campaign.finished_at = now


def campaign_send_run(
    *, campaign_id: int, time_budget: float = SEND_TIME_BUDGET_SECONDS
) -> StepResult:
    """Send chunk after chunk until the campaign is done, held back by its rate, or
    `time_budget` seconds have passed; the caller re-publishes one still sending."""
    deadline = time.monotonic() + time_budget
    while True:
        result = campaign_send_step(campaign_id=campaign_id)
        if not result.more or result.wait_seconds > 0.5 or time.monotonic() >= deadline:
            return result
        if result.wait_seconds > 0:
            time.sleep(result.wait_seconds)


def campaign_fail(*, campaign_id: int, error: str) -> None:
    """After the send task's last retry: pause the campaign with the error (resumable)."""
    Campaign.objects.filter(pk=campaign_id, state=CampaignState.SENDING).update(
        state=CampaignState.PAUSED, error=error[:2000], updated_at=timezone.now()
    )


# --- tracking -----------------------------------------------------------------------------------


def tracking_record(
    *,
    recipient_id: int,
    kind: str,
    url: str = "",
    occurred_at: datetime | None = None,
    meta: dict[str, Any] | None = None,
) -> bool:
    """Record the first `kind` (per URL for clicks) of a recipient; whether it is new."""
    try:
        with transaction.atomic():
            TrackingEvent.objects.create(
                recipient_id=recipient_id,
                kind=kind,
                url=url if kind == TrackingKind.CLICK else "",
                occurred_at=occurred_at or timezone.now(),
                meta=meta or {},
            )
    except IntegrityError:
        return False
    return True


def tracking_open(*, recipient_id: int) -> bool:
    """The pixel was loaded: the first open counts; an unknown recipient records nothing."""
    if not Recipient.objects.filter(pk=recipient_id).exists():
        return False
    return tracking_record(recipient_id=recipient_id, kind=TrackingKind.OPEN)


def tracking_click(*, recipient_id: int, url: str) -> bool:
    """A tracked link was followed. A click also counts as an open (images may be off)."""
    if not Recipient.objects.filter(pk=recipient_id).exists():
        return False
    now = timezone.now()
    tracking_record(recipient_id=recipient_id, kind=TrackingKind.OPEN, occurred_at=now)
    return tracking_record(
        recipient_id=recipient_id, kind=TrackingKind.CLICK, url=url[:2000], occurred_at=now
    )


PROVIDER_EVENTS = {
    "delivered": TrackingKind.DELIVERED,
    "bounce": TrackingKind.BOUNCE,
    "complaint": TrackingKind.COMPLAINT,
    "unsubscribe": TrackingKind.UNSUBSCRIBE,
}


@dataclass(frozen=True)
class ProviderResult:
    recorded: bool
    detail: str


def provider_event_record(*, payload: Any) -> ProviderResult:
    """Record one event of the email provider's webhook (see campaigns.views.ProviderWebhook
    for the JSON shape). A hard bounce and a complaint also put the address on the
    suppression list (consent), so that no marketing goes to it again."""
    if not isinstance(payload, dict):
        raise ApplicationError("Send a JSON object.", field="body")
    event = payload.get("event")
    if event not in PROVIDER_EVENTS:
        raise ApplicationError(
            f"Unknown event; use one of {', '.join(PROVIDER_EVENTS)}.", field="event"
        )
    ref = payload.get("message_id")
    if not isinstance(ref, str) or not ref.strip() or len(ref) > 200:
        raise ApplicationError("Give the Message-ID of the email.", field="message_id")
    ref = ref.strip()
    if not ref.startswith("<"):
        ref = f"<{ref}>"
    occurred_at = timezone.now()
    if payload.get("occurred_at") is not None:
        parsed = parse_datetime(str(payload["occurred_at"]))
        if parsed is None or timezone.is_naive(parsed):
            raise ApplicationError(
                "Give occurred_at as an ISO 8601 time with its zone.", field="occurred_at"
            )
        occurred_at = parsed
    bounce_type = str(payload.get("bounce_type") or "hard").lower()
    if event == "bounce" and bounce_type not in ("hard", "soft"):
        raise ApplicationError("bounce_type is hard or soft.", field="bounce_type")
    with transaction.atomic():
        recipient = (
            Recipient.objects.select_related("customer", "campaign").filter(message_ref=ref).first()
        )
        ProviderEvent.objects.create(
            event=event, message_ref=ref, recipient=recipient, payload=payload
        )
        if recipient is None:
            return ProviderResult(False, "No campaign message has this Message-ID.")
        meta = {"bounce_type": bounce_type} if event == "bounce" else {}
        if payload.get("reason"):
            meta["reason"] = str(payload["reason"])[:500]
        created = tracking_record(
            recipient_id=recipient.pk,
            kind=PROVIDER_EVENTS[event],
            occurred_at=occurred_at,
            meta=meta,
        )
        if event == "complaint" or (event == "bounce" and bounce_type == "hard"):
            _suppress(recipient, reason=event)
    return ProviderResult(created, "Recorded." if created else "Already recorded.")


def _suppress(recipient: Recipient, *, reason: str) -> None:
    try:
        from consent.services import suppression_add
    except ImportError:  # the consent app not installed: the event is recorded only
        logger.warning("No consent.services.suppression_add: %s not suppressed", reason)
        return
    address = (
        recipient.customer.email
        if recipient.campaign.channel == Channel.EMAIL
        else recipient.customer.phone
    )
    if not address:
        return
    suppression_add(
        channel=recipient.campaign.channel,
        address=address,
        reason=reason,
        note=f"campaign:{recipient.campaign_id}",
    )


# --- attribution --------------------------------------------------------------------------------


def attribution_on_stage_changed(event: str, payload: dict[str, Any]) -> None:
    """`customer.stage_changed` subscriber (see `conversions_record`)."""
    conversions_record(payload=payload)


def conversions_record(*, payload: dict[str, Any]) -> int:
    """A forward move, skip or new cycle made within a campaign's attribution window after
    the customer opened or clicked that campaign's message is a conversion for it, once per
    recipient. Idempotent; returns how many recipients qualified."""
    if payload.get("direction") not in ATTRIBUTABLE_DIRECTIONS:
        return 0
    moved_at = parse_datetime(str(payload.get("occurred_at") or ""))
    customer_id = payload.get("customer_id")
    if moved_at is None or not isinstance(customer_id, int):
        return 0
    engaged = (
        TrackingEvent.objects.filter(
            recipient__customer_id=customer_id,
            kind__in=[TrackingKind.OPEN, TrackingKind.CLICK],
            occurred_at__lte=moved_at,
            occurred_at__gte=moved_at - timedelta(days=MAX_ATTRIBUTION_DAYS),
        )
        .values_list("recipient_id", "occurred_at", "recipient__campaign__attribution_window_days")
        .order_by()
    )
    recipients = {
        recipient_id for recipient_id, at, days in engaged if at >= moved_at - timedelta(days=days)
    }
    if not recipients:
        return 0
    from_slug = payload.get("from_stage")
    from_phase = (
        Stage.objects.filter(slug=from_slug).values_list("phase", flat=True).first()
        if from_slug
        else None
    )
    meta = {
        "transition_id": payload.get("transition_id"),
        "from_stage": from_slug,
        "from_phase": from_phase or "",
        "to_stage": payload.get("to_stage"),
        "direction": payload.get("direction"),
    }
    # ON CONFLICT DO NOTHING: a recipient converts once, and a redelivered event is a no-op.
    TrackingEvent.objects.bulk_create(
        [
            TrackingEvent(
                recipient_id=recipient_id,
                kind=TrackingKind.CONVERSION,
                occurred_at=moved_at,
                meta=meta,
            )
            for recipient_id in sorted(recipients)
        ],
        ignore_conflicts=True,
    )
    return len(recipients)
