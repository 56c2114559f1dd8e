"""Queue and deliver outgoing messages.

`message_queue` writes the message to the outbox and hands it to a worker once the
transaction commits; `message_deliver` (run by the worker) sends it at most once per
success: the row is locked while it is sent, and a sent message is never sent again. If a worker
dies between the provider accepting a message and the commit, the retry sends it again
with the same Message-ID, which providers use to drop duplicates (docs/operations.md).

Consent is checked at send time, not when queued: a marketing message to a customer who
has since withdrawn consent on that channel, or to a suppressed address, is suppressed, never
sent (`consent.services.marketing_allowed`). Every marketing email carries an unsubscribe
link in its body and the one-click `List-Unsubscribe` headers of RFC 8058.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import escape

from common.exceptions import ApplicationError, InvalidFieldsError
from common.queue import enqueue
from customers.models import Customer
from messaging.models import Channel, MessageKind, MessageState, MessageTemplate, OutboundMessage
from messaging.sms import get_sms_backend
from messaging.templating import (
    Rendered,
    template_context,
    template_problems,
    template_render_parts,
)

logger = logging.getLogger(__name__)


def _message_id(idempotency_key: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"<{digest}@{settings.FLYWHEEL_MESSAGE_ID_DOMAIN}>"


def message_queue(
    *,
    channel: str,
    kind: str,
    to: str,
    body_text: str,
    idempotency_key: str,
    customer: Customer | None = None,
    subject: str = "",
    body_html: str = "",
    headers: dict[str, str] | None = None,
    enqueue: bool = True,
) -> tuple[OutboundMessage, bool]:
    """Put a message in the outbox (once per `idempotency_key`) and send it after commit.

    Returns the message and whether it is new; an existing one is returned unchanged. A bulk
    sender passes `enqueue=False` and hands its new messages to `message_enqueue` together,
    which publishes them in chunks.
    """
    existing = OutboundMessage.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    if kind == MessageKind.MARKETING and channel == Channel.EMAIL:
        body_text, body_html, headers = _with_unsubscribe(
            customer_id=customer.pk if customer is not None else None,
            to=to,
            body_text=body_text,
            body_html=body_html,
            headers=headers,
        )
    try:
        with transaction.atomic():
            message = OutboundMessage.objects.create(
                channel=channel,
                kind=kind,
                to=to,
                subject=subject,
                body_text=body_text,
                body_html=body_html,
                headers=headers or {},
                customer=customer,
                idempotency_key=idempotency_key,
                message_id=_message_id(idempotency_key),
            )
            if enqueue:
                message_enqueue(message_ids=[message.pk])
    except IntegrityError:
        return OutboundMessage.objects.get(idempotency_key=idempotency_key), False
    return message, True


@dataclass(frozen=True)
class MessageSpec:
    """One message for `message_queue_many`: what `message_queue` takes, for a bulk sender."""

    channel: str
    kind: str
    to: str
    body_text: str
    idempotency_key: str
    customer_id: int | None = None
    subject: str = ""
    body_html: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def message_queue_many(specs: list[MessageSpec]) -> dict[str, int]:
    """Put many messages in the outbox at once; returns message ids by idempotency key.

    One INSERT … ON CONFLICT DO NOTHING and one SELECT, whatever the count: a key that is
    already in the outbox keeps its first message. Nothing is published: the caller hands
    the ids to `message_enqueue` in the same transaction.
    """
    if not specs:
        return {}
    rows = []
    for spec in specs:
        body_text, body_html, headers = spec.body_text, spec.body_html, dict(spec.headers)
        if spec.kind == MessageKind.MARKETING and spec.channel == Channel.EMAIL:
            body_text, body_html, headers = _with_unsubscribe(
                customer_id=spec.customer_id,
                to=spec.to,
                body_text=body_text,
                body_html=body_html,
                headers=headers,
            )
        rows.append(
            OutboundMessage(
                channel=spec.channel,
                kind=spec.kind,
                to=spec.to,
                subject=spec.subject,
                body_text=body_text,
                body_html=body_html,
                headers=headers,
                customer_id=spec.customer_id,
                idempotency_key=spec.idempotency_key,
                message_id=_message_id(spec.idempotency_key),
            )
        )
    OutboundMessage.objects.bulk_create(rows, ignore_conflicts=True)
    return dict(
        OutboundMessage.objects.filter(
            idempotency_key__in=[spec.idempotency_key for spec in specs]
        ).values_list("idempotency_key", "pk")
    )


# Bulk sends hand messages to the workers in chunks: one task per chunk costs the broker a
# fraction of one task per message, and each message is still locked and sent on its own.
SEND_CHUNK_SIZE = 50


def message_enqueue(*, message_ids: list[int]) -> None:
    """Hand messages to the workers once the current transaction commits (common/queue.py
    keeps them for later if the broker is down)."""
    from messaging.tasks import message_send, message_send_chunk

    if not message_ids:
        return

    if len(message_ids) == 1:
        enqueue(message_send, (message_ids[0],))
        return
    enqueue(
        message_send_chunk,
        *[
            (message_ids[start : start + SEND_CHUNK_SIZE],)
            for start in range(0, len(message_ids), SEND_CHUNK_SIZE)
        ],
    )


class DeliveryError(Exception):
    """Sending failed in a way worth retrying; the message stays queued."""


def _with_unsubscribe(
    *,
    customer_id: int | None,
    to: str,
    body_text: str,
    body_html: str,
    headers: dict[str, str] | None,
) -> tuple[str, str, dict[str, str]]:
    """A marketing email's body with an unsubscribe link (unless it has one) and its RFC 8058
    headers: `List-Unsubscribe` pointing at the one-click endpoint, `List-Unsubscribe-Post`."""
    from consent.tokens import unsubscribe_url

    url = unsubscribe_url(
        channel=Channel.EMAIL,
        customer_id=customer_id,
        address="" if customer_id is not None else to.strip().lower(),
    )
    if url not in body_text:
        body_text = f"{body_text}\n\n-- \nUnsubscribe: {url}\n"
    if body_html and url not in body_html:
        link = f'<p style="font-size:12px"><a href="{escape(url)}">Unsubscribe</a></p>'
        closing = body_html.lower().rfind("</body>")
        if closing == -1:
            body_html = body_html + link
        else:
            body_html = body_html[:closing] + link + body_html[closing:]
    return (
        body_text,
        body_html,
        {
            **(headers or {}),
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def _consent_withdrawn(message: OutboundMessage) -> str:
    """Why a marketing message may not go out now ("" when it may, or is not marketing)."""
    if message.kind != MessageKind.MARKETING:
        return ""
    from consent.services import marketing_allowed

    allowed, reason = marketing_allowed(
        customer=message.customer, channel=message.channel, address=message.to
    )
    return "" if allowed else reason


_connection: Any = None
_connection_settings: tuple[Any, ...] = ()


def _email_connection() -> Any:
    """One email connection per worker process, reopened when it breaks or the settings change."""
    global _connection, _connection_settings  # a per-process cache of a network connection
    current = (settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT)
    if _connection is None or current != _connection_settings:
        _connection, _connection_settings = get_connection(), current
    return _connection


def _send_email(message: OutboundMessage) -> None:
    global _connection
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        to=[message.to],
        headers={"Message-ID": message.message_id, **message.headers},
        connection=_email_connection(),
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    try:
        email.send()
    except Exception:
        _connection = None  # a broken connection is not reused
        raise


def message_deliver(*, message_id: int) -> OutboundMessage | None:
    """Send one queued message. Returns it, or None if it no longer exists.

    Sent, suppressed and failed messages are left alone (a failed one is retried only by
    `message_retry`). A provider error is recorded on the message and raised as
    DeliveryError so that the caller can retry later.
    """
    error: Exception | None = None
    with transaction.atomic():
        message = (
            OutboundMessage.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(pk=message_id)
            .first()
        )
        if message is None or message.state != MessageState.QUEUED:
            return message
        message.attempts += 1
        refusal = _consent_withdrawn(message)
        if refusal:
            message.state = MessageState.SUPPRESSED
            message.error = refusal
        else:
            try:
                if message.channel == Channel.EMAIL:
                    _send_email(message)
                else:
                    get_sms_backend().send(
                        to=message.to, body=message.body_text, message_id=message.message_id
                    )
            except Exception as exc:  # the provider's failure, recorded, then retried
                error = exc
                message.error = f"{type(exc).__name__}: {exc}"[:2000]
            else:
                message.state = MessageState.SENT
                message.sent_at = timezone.now()
                message.error = ""
        message.save(update_fields=["state", "attempts", "error", "sent_at", "updated_at"])
    if error is not None:
        raise DeliveryError(message.error) from error
    return message


def message_mark_failed(*, message_id: int, error: str) -> None:
    """Give up on a message after its last retry; it shows as failed with its error."""
    OutboundMessage.objects.filter(pk=message_id, state=MessageState.QUEUED).update(
        state=MessageState.FAILED, error=error[:2000], updated_at=timezone.now()
    )


def message_retry(*, message: OutboundMessage) -> OutboundMessage:
    """Queue a failed message again (the retry button)."""
    with transaction.atomic():
        updated = OutboundMessage.objects.filter(pk=message.pk, state=MessageState.FAILED).update(
            state=MessageState.QUEUED, updated_at=timezone.now()
        )
        if updated:
            message_enqueue(message_ids=[message.pk])
    message.refresh_from_db()
    return message


def messages_requeue_stale(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Hand again to the workers the messages still queued long after they were written.

    A process can die between committing a message and publishing its task; this periodic
    sweep (Celery beat) makes sure no message is silently left behind.
    """
    cutoff = timezone.now() - older_than
    stale = list(
        OutboundMessage.objects.filter(
            state=MessageState.QUEUED, updated_at__lt=cutoff
        ).values_list("pk", flat=True)[:10_000]
    )
    if stale:
        OutboundMessage.objects.filter(pk__in=stale).update(updated_at=timezone.now())
        with transaction.atomic():
            message_enqueue(message_ids=stale)
    return len(stale)


def message_send_template(
    *, template: MessageTemplate, customer: Customer, idempotency_key: str
) -> tuple[OutboundMessage, bool]:
    """Personalise `template` for `customer` and queue it (once per `idempotency_key`)."""
    if template.channel == Channel.EMAIL:
        to = customer.email
    else:
        to = customer.phone
        if not to:
            raise ApplicationError("The customer has no phone number for an SMS.", field="phone")
    rendered = template_preview(template=template, customer=customer)
    return message_queue(
        channel=template.channel,
        kind=template.kind,
        to=to,
        subject=rendered.subject,
        body_text=rendered.body_text,
        body_html=rendered.body_html,
        idempotency_key=idempotency_key,
        customer=customer,
    )


# --- the template library -----------------------------------------------------------------------

TEMPLATE_FIELDS_WRITABLE = ("name", "channel", "kind", "subject", "body_text", "body_html")


class TemplateInvalidError(InvalidFieldsError):
    """A template that cannot be saved; `errors` holds every problem, by field."""


def _template_clean(data: dict[str, Any], *, exclude_pk: int | None = None) -> dict[str, Any]:
    """Validate a whole template; raises TemplateInvalidError naming every field at fault."""
    from stages.models import Stage

    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {name: data.get(name) for name in TEMPLATE_FIELDS_WRITABLE}
    for name in ("name", "subject", "body_text", "body_html"):
        value = cleaned[name]
        cleaned[name] = "" if value is None else str(value)
    cleaned["name"] = cleaned["name"].strip()
    cleaned["subject"] = cleaned["subject"].strip()
    if not cleaned["name"]:
        errors.setdefault("name", []).append("Give the template a name.")
    elif len(cleaned["name"]) > 200:
        errors.setdefault("name", []).append("Keep the name to 200 characters.")
    else:
        taken = MessageTemplate.objects.filter(name__iexact=cleaned["name"])
        if exclude_pk is not None:
            taken = taken.exclude(pk=exclude_pk)
        if taken.exists():
            errors.setdefault("name", []).append(
                f"A template named '{cleaned['name']}' already exists."
            )
    if cleaned["channel"] not in Channel.values:
        errors.setdefault("channel", []).append("Choose email or sms.")
    if cleaned["kind"] not in MessageKind.values:
        errors.setdefault("kind", []).append("Choose marketing or transactional.")
    if len(cleaned["subject"]) > 300:
        errors.setdefault("subject", []).append("Keep the subject to 300 characters.")
    if cleaned["channel"] == Channel.SMS:
        if cleaned["subject"]:
            errors.setdefault("subject", []).append("An SMS has no subject: leave it empty.")
        if cleaned["body_html"].strip():
            errors.setdefault("body_html", []).append("An SMS has no HTML body: leave it empty.")
        if not cleaned["body_text"].strip():
            errors.setdefault("body_text", []).append("An SMS needs a text.")
    elif cleaned["channel"] == Channel.EMAIL:
        if not cleaned["subject"]:
            errors.setdefault("subject", []).append("An email needs a subject.")
        if not cleaned["body_text"].strip():
            errors.setdefault("body_text", []).append(
                "An email needs a plain-text body (for mail apps that do not show HTML)."
            )
    stage_slugs = set(Stage.objects.values_list("slug", flat=True))
    for name in ("subject", "body_text", "body_html"):
        for problem in template_problems(cleaned[name], stage_slugs=stage_slugs):
            errors.setdefault(name, []).append(problem)
    if errors:
        raise TemplateInvalidError(errors)
    return cleaned


def template_create(
    *,
    name: str,
    body_text: str,
    channel: str = Channel.EMAIL,
    kind: str = MessageKind.MARKETING,
    subject: str = "",
    body_html: str = "",
) -> MessageTemplate:
    """Save a new template once it is valid: known fields only, balanced stage and phase
    blocks, an email with a subject and a text body, an SMS with a text alone."""
    cleaned = _template_clean(
        {
            "name": name,
            "channel": channel,
            "kind": kind,
            "subject": subject,
            "body_text": body_text,
            "body_html": body_html,
        }
    )
    try:
        with transaction.atomic():
            return MessageTemplate.objects.create(**cleaned)
    except IntegrityError:  # the same name saved at the same moment
        raise TemplateInvalidError(
            {"name": [f"A template named '{cleaned['name']}' already exists."]}
        ) from None


def template_update(*, template: MessageTemplate, data: dict[str, Any]) -> MessageTemplate:
    """Change some of a template's fields; the result is validated whole."""
    unknown = sorted(set(data) - set(TEMPLATE_FIELDS_WRITABLE))
    if unknown:
        raise ApplicationError(f"Unknown field '{unknown[0]}'.", field=unknown[0])
    try:
        with transaction.atomic():
            locked = MessageTemplate.objects.select_for_update().get(pk=template.pk)
            merged = {name: getattr(locked, name) for name in TEMPLATE_FIELDS_WRITABLE}
            merged.update(data)
            cleaned = _template_clean(merged, exclude_pk=locked.pk)
            for name, value in cleaned.items():
                setattr(locked, name, value)
            locked.save()
    except IntegrityError:
        raise TemplateInvalidError(
            {"name": ["A template with this name already exists."]}
        ) from None
    return locked


def template_delete(*, template: MessageTemplate) -> None:
    """Delete a template no automation rule uses; otherwise say which rules do."""
    from automation.selectors import rules_using_template

    with transaction.atomic():
        locked = MessageTemplate.objects.select_for_update().get(pk=template.pk)
        rules = list(rules_using_template(template_id=locked.pk)[:6])
        if rules:
            names = ", ".join(f"“{rule.name}”" for rule in rules[:5])
            more = " and others" if len(rules) > 5 else ""
            rule_word = "rule" if len(rules) == 1 else "rules"
            raise ApplicationError(
                f"The automation {rule_word} {names}{more} send this template; change or "
                "delete them first.",
                field="template",
            )
        locked.delete()


def template_preview(*, template: MessageTemplate, customer: Customer) -> Rendered:
    """The template as `customer` would receive it (before any unsubscribe footer)."""
    return template_render_parts(
        channel=template.channel,
        subject=template.subject,
        body_text=template.body_text,
        body_html=template.body_html,
        context=template_context(customer),
    )


def template_test_send(
    *, template: MessageTemplate, customer: Customer, to: str
) -> OutboundMessage:
    """Email the template, personalised for `customer`, to `to` (the user's own address),
    with "[Test]" before its subject. An SMS template's text comes by email too (users have
    no phone number here). Transactional, so consent rules never hold back a self-test; each
    call is a new message."""
    import uuid

    if "@" not in (to or ""):
        raise ApplicationError(
            "Your user has no email address to send the test to; add one to your account.",
            field="to",
        )
    rendered = template_preview(template=template, customer=customer)
    if template.channel == Channel.SMS:
        subject = f"[Test] SMS “{template.name}”"
    else:
        subject = f"[Test] {rendered.subject}"
    message, _ = message_queue(
        channel=Channel.EMAIL,
        kind=MessageKind.TRANSACTIONAL,
        to=to.strip(),
        subject=subject[:300],
        body_text=rendered.body_text,
        body_html=rendered.body_html,
        idempotency_key=f"template-test:{template.pk}:{uuid.uuid4().hex}",
    )
    return message
