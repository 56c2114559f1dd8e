"""Writes for surveys: inviting a customer, bulk sends, and recording an answer.

- `survey_invite` records one invitation (once per idempotency key) and queues its email
  through the outbox (`messaging.services.message_queue`, key `survey-invitation:<id>`), so
  that an invitation is emailed at most once however often it is retried.
- `survey_send_bulk` records a `SurveyBatch` and fixes its audience in the same transaction
  (`segments.services.audience_freeze`): the customers matching then are the send, whatever
  the segment or the customers do afterwards. `survey_batch_run` (in a Celery task) works
  through that snapshot in chunks, in customer id order. Each chunk — its invitations, their
  emails, the batch's cursor and counts — commits as one transaction, so a worker that dies
  loses nothing and repeats nothing: the chunk rolls back whole, and the next run starts
  after the last committed one.
- `survey_answer` records the answer once and lets it move the wheel: a promoter in a Delight
  stage moves to `settings.FLYWHEEL_PROMOTER_STAGE`, a detractor gets a call-back task, and
  `survey.answered` is announced after commit.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone
from django.utils.html import escape

from accounts.roles import SUPPORT
from common.events import event_emit
from common.exceptions import ApplicationError
from common.queue import enqueue
from customers.filters import CustomerFilter
from customers.models import Customer
from interactions.models import CreatorKind, TaskState
from interactions.services import task_create
from messaging.models import Channel, MessageKind
from messaging.services import MessageSpec, message_enqueue, message_queue, message_queue_many
from segments.definition import DefinitionInvalidError
from segments.models import Segment
from segments.selectors import AudienceChunk, audience_chunk, segment_customers
from segments.services import audience_freeze
from stages.models import ActorKind, Phase, Stage
from stages.services import customer_move_stage
from surveys.models import (
    MAX_COMMENT_LENGTH,
    Invitation,
    InvitationSource,
    InvitationState,
    Response,
    Survey,
    SurveyBatch,
)
from surveys.scoring import CATEGORY_EFFECT, Category, categorize, scale_of, score_in_range
from surveys.tokens import invitation_url

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

EVENT_SURVEY_ANSWERED = "survey.answered"

# A chunk of a bulk send: this many customers per transaction.
BATCH_CHUNK_SIZE = 200
# A task works on a batch this long, then hands the rest to a fresh task (time limits).
BATCH_TIME_BUDGET_SECONDS = 60.0
# How long after the answer a detractor's call-back task is due.
CALL_BACK_DELAY = timedelta(days=1)
# The states in which an invitation still takes an answer, until `expires_at`.
OPEN_STATES = (InvitationState.PENDING, InvitationState.SENT, InvitationState.FAILED)


class InvitationAnsweredError(ApplicationError):
    """The invitation has been answered already: a link is single-use."""

    def __init__(self) -> None:
        super().__init__("This survey has already been answered.", field="invitation")


class InvitationExpiredError(ApplicationError):
    """The invitation's link has expired."""

    def __init__(self) -> None:
        super().__init__("This survey link has expired.", field="invitation")


class InvitationNotSentError(ApplicationError):
    """The invitation was skipped: its link was never sent, so it takes no answer."""

    def __init__(self) -> None:
        super().__init__("This survey was never sent.", field="invitation")


def promoter_stage_slug() -> str:
    """The stage a promoter moves to (settings.FLYWHEEL_PROMOTER_STAGE); "" disables it."""
    return getattr(settings, "FLYWHEEL_PROMOTER_STAGE", "advocacy")


def invitation_is_expired(invitation: Invitation, *, now: datetime | None = None) -> bool:
    """Expired: marked so by the sweep, or still open past `expires_at`."""
    if invitation.state == InvitationState.EXPIRED:
        return True
    now = now or timezone.now()
    return invitation.state in OPEN_STATES and invitation.expires_at <= now


# --- one invitation ----------------------------------------------------------------------------


def survey_invite(
    *,
    survey: Survey,
    customer: Customer,
    source: str,
    sent_by: User | None = None,
    idempotency_key: str | None = None,
    batch: SurveyBatch | None = None,
    skip_if_open: bool = False,
) -> Invitation:
    """Invite `customer` to answer `survey`; the invitation (see `survey_invite_or_get`)."""
    invitation, _ = survey_invite_or_get(
        survey=survey,
        customer=customer,
        source=source,
        sent_by=sent_by,
        idempotency_key=idempotency_key,
        batch=batch,
        skip_if_open=skip_if_open,
    )
    return invitation


def survey_invite_or_get(
    *,
    survey: Survey,
    customer: Customer,
    source: str,
    sent_by: User | None = None,
    idempotency_key: str | None = None,
    batch: SurveyBatch | None = None,
    skip_if_open: bool = False,
) -> tuple[Invitation, bool]:
    """Invite `customer` to answer `survey` and queue the email with the link.

    Returns the invitation and whether this call made it. Of concurrent calls with one key,
    exactly one made it: the one whose insert won the key's unique index; the others find
    its row after the IntegrityError and say False.

    Idempotent on `idempotency_key` (default `<source>:<random>`, i.e. a new invitation each
    call): the same key returns the invitation it made, whatever its state. A key already
    used for another survey or customer is a 400 on `idempotency_key`. With `skip_if_open`,
    a customer who already holds an open invitation to this survey is recorded as skipped,
    not emailed again. An inactive survey sends nothing (400 on `survey`).
    """
    if source not in InvitationSource.values:
        raise ApplicationError(f"Unknown source {source!r}.", field="source")
    key = idempotency_key or f"{source}:{uuid.uuid4().hex}"
    existing = _invitation_for_key(key, survey=survey, customer=customer)
    if existing is not None:
        return existing, False
    if not survey.is_active:
        raise ApplicationError(f"The survey '{survey.name}' is not active.", field="survey")
    now = timezone.now()
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                survey=survey,
                customer=customer,
                batch=batch,
                source=source,
                sent_by=sent_by,
                idempotency_key=key,
                expires_at=now + timedelta(days=survey.expiry_days),
            )
            _invitation_send(invitation, skip_if_open=skip_if_open, now=now)
    except IntegrityError:
        # The same key, committed by a concurrent call between the check and the insert.
        found = _invitation_for_key(key, survey=survey, customer=customer)
        if found is None:
            raise
        return found, False
    return invitation, True


def _invitation_for_key(key: str, *, survey: Survey, customer: Customer) -> Invitation | None:
    existing = Invitation.objects.filter(idempotency_key=key).first()
    if existing is not None and (
        existing.survey_id != survey.pk or existing.customer_id != customer.pk
    ):
        raise ApplicationError(
            "This idempotency key was already used for another invitation.",
            field="idempotency_key",
        )
    return existing


def _invitation_send(
    invitation: Invitation, *, skip_if_open: bool, now: datetime, enqueue: bool = True
) -> int | None:
    """Queue the email of a pending invitation, or record why it is skipped.

    Runs inside the caller's transaction: the invitation's state and its outbox message
    commit together, and the outbox sends only after that commit.
    """
    customer = invitation.customer
    reason = ""
    if not customer.email:
        reason = "The customer has no email address."
    elif skip_if_open:
        earlier = (
            Invitation.objects.filter(
                survey_id=invitation.survey_id,
                customer_id=customer.pk,
                state=InvitationState.SENT,
                expires_at__gt=now,
            )
            .exclude(pk=invitation.pk)
            .order_by("pk")
            .first()
        )
        if earlier is not None:
            reason = f"An earlier invitation to this survey (#{earlier.pk}) is still open."
    if reason:
        invitation.state = InvitationState.SKIPPED
        invitation.reason = reason
        invitation.save(update_fields=["state", "reason", "updated_at"])
        return None
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=invitation.survey.expiry_days)
    subject, body_text, body_html = invitation_email(invitation)
    message, _ = message_queue(
        channel=Channel.EMAIL,
        kind=MessageKind.TRANSACTIONAL,
        to=customer.email,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        idempotency_key=f"survey-invitation:{invitation.pk}",
        customer=customer,
        enqueue=enqueue,
    )
    invitation.message = message
    invitation.state = InvitationState.SENT
    invitation.save(update_fields=["message", "state", "sent_at", "expires_at", "updated_at"])
    return message.pk


def invitation_email(invitation: Invitation) -> tuple[str, str, str]:
    """The subject, plain text and HTML of the invitation's email.

    The HTML offers each score as a link that opens the page with it chosen; the answer is
    only recorded when the customer presses Send (link scanners open links too).
    """
    survey = invitation.survey
    customer = invitation.customer
    scale = scale_of(survey.kind)
    url = invitation_url(invitation.pk)
    until = invitation.expires_at.strftime("%Y-%m-%d")
    greeting = f"Hello {customer.first_name}," if customer.first_name else "Hello,"
    low = survey.low_label or scale.low_label
    high = survey.high_label or scale.high_label
    body_text = (
        f"{greeting}\n\n{survey.question}\n"
        f"({scale.low} = {low}, {scale.high} = {high})\n\n"
        f"Answer here, no login needed:\n{url}\n\n"
        f"The link works until {until}. Thank you!\n"
    )
    score_links = " ".join(
        f'<a href="{escape(url)}?score={score}" style="display:inline-block;min-width:28px;'
        f"padding:6px;margin:2px;border:1px solid #1d4ed8;border-radius:4px;text-align:center;"
        f'text-decoration:none">{score}</a>'
        for score in scale.scores
    )
    body_html = (
        f"<p>{escape(greeting)}</p>"
        f"<p><strong>{escape(survey.question)}</strong></p>"
        f"<p>{score_links}</p>"
        f"<p>{scale.low} = {escape(low)}, {scale.high} = {escape(high)}</p>"
        f'<p><a href="{escape(url)}">Answer here</a>, no login needed. '
        f"The link works until {until}. Thank you!</p>"
    )
    return survey.email_subject, body_text, body_html


# --- answers ---------------------------------------------------------------------------------


def survey_answer(*, invitation: Invitation, score: int, comment: str = "") -> Response:
    """Record the customer's answer to `invitation`, once, and let it move the wheel.

    Refuses a second answer (InvitationAnsweredError), an expired link
    (InvitationExpiredError), a skipped invitation (InvitationNotSentError), a score off the
    survey's scale (400 on `score`) and an overlong comment (400 on `comment`); a refusal
    writes nothing. Effects, in the same transaction:

    - a promoter whose stage is in Delight and before the promoter stage moves there
      (`customer_move_stage`, actor `survey`);
    - a detractor opens a task "Call back: <KIND> <score>" due a day later, for the
      customer's owner or else the Support user with the fewest open tasks;
    - `survey.answered` is announced after commit.
    """
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT_LENGTH:
        raise ApplicationError(
            f"Keep the comment under {MAX_COMMENT_LENGTH} characters.", field="comment"
        )
    with transaction.atomic():
        locked = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("survey")
            .get(pk=invitation.pk)
        )
        now = timezone.now()
        if locked.state == InvitationState.ANSWERED:
            raise InvitationAnsweredError()
        if locked.state == InvitationState.SKIPPED:
            raise InvitationNotSentError()
        if invitation_is_expired(locked, now=now):
            raise InvitationExpiredError()
        survey = locked.survey
        scale = scale_of(survey.kind)
        if isinstance(score, bool) or not isinstance(score, int):
            raise ApplicationError("Give the score as a whole number.", field="score")
        if not score_in_range(survey.kind, score):
            raise ApplicationError(
                f"Choose a score from {scale.low} to {scale.high}.", field="score"
            )
        customer = (
            Customer.objects.select_for_update(of=("self",))
            .select_related("stage", "owner")
            .get(pk=locked.customer_id)
        )
        category = categorize(survey.kind, score)
        effect, weight = CATEGORY_EFFECT[category]
        response = Response.objects.create(
            invitation=locked,
            survey=survey,
            customer=customer,
            kind=survey.kind,
            score=score,
            comment=comment,
            category=category,
            effect=effect,
            weight=weight,
            stage=customer.stage,
            answered_at=now,
        )
        locked.state = InvitationState.ANSWERED
        locked.answered_at = now
        locked.save(update_fields=["state", "answered_at", "updated_at"])
        if category == Category.PROMOTER:
            _promoter_move(response=response, customer=customer)
        elif category == Category.DETRACTOR:
            _detractor_call_back(response=response, customer=customer)
        event_emit(
            EVENT_SURVEY_ANSWERED,
            {
                "response_id": response.pk,
                "invitation_id": locked.pk,
                "survey_id": survey.pk,
                "customer_id": customer.pk,
                "kind": survey.kind,
                "score": score,
                "category": category,
                "answered_at": now.isoformat(),
            },
        )
    invitation.state = locked.state
    invitation.answered_at = locked.answered_at
    return response


def _promoter_move(*, response: Response, customer: Customer) -> None:
    slug = promoter_stage_slug()
    if not slug:
        return
    target = Stage.objects.filter(slug=slug, is_archived=False).first()
    if target is None:
        logger.warning("FLYWHEEL_PROMOTER_STAGE %r is not a live stage; promoter not moved", slug)
        return
    current = customer.stage
    # Only forward within Delight: a customer elsewhere on the wheel, already there, or in a
    # Delight stage beyond it keeps their stage.
    if current.phase != Phase.DELIGHT or current.position >= target.position:
        return
    try:
        customer_move_stage(
            customer=customer,
            to_stage=target,
            actor_kind=ActorKind.SURVEY,
            reason=f"{response.get_kind_display()} {response.score}: promoter",
        )
    except ApplicationError as error:  # a concurrent move got there first
        logger.info("Promoter %s not moved: %s", customer.pk, error.message)


def _call_back_assignee(customer: Customer) -> Any:
    """The customer's owner if active, else the Support user with the fewest open tasks."""
    owner = customer.owner
    if owner is not None and owner.is_active:
        return owner
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=SUPPORT)
        .annotate(
            open_tasks=Count("assigned_tasks", filter=Q(assigned_tasks__state=TaskState.OPEN))
        )
        .order_by("open_tasks", "pk")
        .first()
    )


def _detractor_call_back(*, response: Response, customer: Customer) -> None:
    kind = response.get_kind_display()
    notes = f"{kind} answer {response.score} to “{response.survey.question}”."
    if response.comment:
        notes += f"\n\nTheir comment: {response.comment}"
    task_create(
        customer=customer,
        title=f"Call back: {kind} {response.score}",
        due_at=response.answered_at + CALL_BACK_DELAY,
        assignee=_call_back_assignee(customer),
        created_by_kind=CreatorKind.AUTOMATION,
        notes=notes[:5000],
    )


def invitations_expire(*, now: datetime | None = None) -> int:
    """Mark sent invitations past their expiry as expired (a periodic sweep); how many."""
    now = now or timezone.now()
    return Invitation.objects.filter(
        state__in=[InvitationState.PENDING, InvitationState.SENT], expires_at__lte=now
    ).update(state=InvitationState.EXPIRED, updated_at=now)


# --- bulk sends --------------------------------------------------------------------------------

FILTER_KEYS = frozenset(CustomerFilter.base_filters)


def batch_invitation_key(batch_id: int, customer_id: int) -> str:
    return f"batch:{batch_id}:{customer_id}"


def _clean_filters(filters: dict[str, Any]) -> dict[str, str]:
    """The customer list's filters as query parameters; an unknown one is an error (a typo
    must never widen a send to every customer)."""
    if not isinstance(filters, dict):
        raise ApplicationError("Give the filters as an object.", field="filters")
    unknown = sorted(set(filters) - FILTER_KEYS)
    if unknown:
        raise ApplicationError(
            f"Unknown filters: {', '.join(unknown)}. Use: {', '.join(sorted(FILTER_KEYS))}.",
            field="filters",
        )
    cleaned = {}
    for name, value in filters.items():
        if value is None or value == "":
            continue
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ApplicationError(f"The filter '{name}' takes a single value.", field="filters")
        cleaned[name] = str(value)
    filterset = CustomerFilter(cleaned, queryset=Customer.objects.all())
    if not filterset.is_valid():
        problems = "; ".join(
            f"{name}: {' '.join(str(message) for message in messages)}"
            for name, messages in filterset.errors.items()
        )
        raise ApplicationError(f"Invalid filters ({problems}).", field="filters")
    return cleaned


def batch_customers(batch: SurveyBatch) -> QuerySet[Customer]:
    """The customers a bulk send's filters, ids or segment hold now: what `survey_send_bulk`
    fixes as its audience, once. Raises ApplicationError when the filters or the segment's
    rules do not validate (a stage deleted meanwhile): a send must be refused rather than
    widened."""
    if batch.customer_ids is not None:
        return Customer.objects.filter(pk__in=batch.customer_ids)
    if batch.segment is not None:
        try:
            return segment_customers(batch.segment)
        except DefinitionInvalidError as error:
            problems = "; ".join(" ".join(m) for m in error.as_dict().values())
            raise ApplicationError(
                f"The rules of the segment “{batch.segment.name}” are not valid ({problems}).",
                field="segment",
            ) from error
    filterset = CustomerFilter(batch.filters, queryset=Customer.objects.all())
    if not filterset.is_valid():
        raise ApplicationError(f"The filters are not valid: {dict(filterset.errors)}")
    return filterset.qs


def survey_send_bulk(
    *,
    survey: Survey,
    sent_by: User | None,
    filters: dict[str, Any] | None = None,
    customer_ids: list[int] | None = None,
    segment: Segment | None = None,
) -> SurveyBatch:
    """Ask for `survey` to be sent to one audience: the customers matching `filters` (the
    customer list's filters, e.g. {"stage": "post_purchase", "tag": "vip"}; {} is every
    customer), `customer_ids`, or the customers in `segment`.

    Exactly one audience is given, else an ApplicationError (on `segment` when a segment
    comes with another one). Records the batch with its audience fixed — the customers it
    holds now, `total` of them, in an `AudienceSnapshot` written in the same transaction —
    and hands it to a worker after commit (`surveys.tasks.survey_batch_process`). Customers
    who match only afterwards are not included; those who stop matching still are.
    """
    if not survey.is_active:
        raise ApplicationError(f"The survey '{survey.name}' is not active.", field="survey")
    if segment is not None and (filters is not None or customer_ids is not None):
        raise ApplicationError(
            "Send to a segment, or to filters or customer ids, not both.", field="segment"
        )
    if segment is None and filters is None and customer_ids is None:
        raise ApplicationError(
            "Choose whom to send to: filters ({} for every customer), customer ids or a segment."
        )
    if customer_ids is not None and filters:
        raise ApplicationError("Give either filters or customer ids, not both.", field="filters")
    cleaned: dict[str, str] = {}
    ids: list[int] | None = None
    if customer_ids is not None:
        ids = sorted(set(customer_ids))
        if not ids:
            raise ApplicationError("Give at least one customer.", field="customer_ids")
        known = set(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True))
        unknown = [pk for pk in ids if pk not in known]
        if unknown:
            shown = ", ".join(str(pk) for pk in unknown[:10])
            raise ApplicationError(f"Unknown customers: {shown}.", field="customer_ids")
    elif segment is None:
        cleaned = _clean_filters(filters or {})
    with transaction.atomic():
        if segment is not None:
            # segment_delete takes this lock before it looks for sends in progress.
            locked = Segment.objects.select_for_update().filter(pk=segment.pk).first()
            if locked is None:
                raise ApplicationError("The segment was deleted meanwhile.", field="segment")
            segment = locked
        batch = SurveyBatch(
            survey=survey,
            filters=cleaned,
            customer_ids=ids,
            segment=segment,
            segment_name=segment.name if segment is not None else "",
            created_by=sent_by,
        )
        batch.audience_snapshot = audience_freeze(customers=batch_customers(batch))
        batch.total = batch.audience_snapshot.total
        batch.save()
        survey_batch_enqueue(batch_id=batch.pk)
    return batch


def survey_batch_enqueue(*, batch_id: int) -> None:
    """Hand the batch to a worker once the current transaction commits."""
    from surveys.tasks import survey_batch_process

    enqueue(survey_batch_process, (batch_id,))


def survey_batch_step(*, batch_id: int, chunk_size: int = BATCH_CHUNK_SIZE) -> SurveyBatch | None:
    """Do one chunk of a bulk send, in one transaction; returns the batch (None if gone).

    The batch row is locked for the chunk, so two workers on the same batch take turns and
    never handle the same customers. For the next `chunk_size` customers of the batch's fixed
    audience after the cursor (customers deleted since are passed over): insert their
    invitations (ON CONFLICT DO NOTHING on the key `batch:<id>:<customer>`), queue the email
    of each one still pending, and add the chunk to the counts. When no customer is left,
    the counts are recomputed from the invitations and the batch is done.
    """
    with transaction.atomic():
        batch = (
            SurveyBatch.objects.select_for_update(of=("self",))
            .select_related("survey")
            .filter(pk=batch_id)
            .first()
        )
        if batch is None or not batch.is_running:
            return batch
        now = timezone.now()
        if batch.state == SurveyBatch.State.QUEUED:
            batch.state = SurveyBatch.State.SENDING
            batch.started_at = now
        if batch.audience_snapshot_id is None:  # cannot happen once recorded; never guess
            batch.state = SurveyBatch.State.FAILED
            batch.error = "The send has no fixed audience."
            batch.finished_at = now
            batch.save()
            return batch
        chunk = audience_chunk(
            snapshot_id=batch.audience_snapshot_id, after=batch.cursor, size=chunk_size
        )
        if chunk is None:
            _batch_finish(batch, now=now)
        else:
            _batch_chunk(batch, chunk, now=now)
        batch.save()
    return batch


def _batch_chunk(batch: SurveyBatch, chunk: AudienceChunk, *, now: datetime) -> None:
    customer_ids = chunk.customer_ids
    survey = batch.survey
    Invitation.objects.bulk_create(
        [
            Invitation(
                survey=survey,
                customer_id=customer_id,
                batch=batch,
                source=InvitationSource.BULK,
                sent_by_id=batch.created_by_id,
                idempotency_key=batch_invitation_key(batch.pk, customer_id),
                expires_at=now + timedelta(days=survey.expiry_days),
            )
            for customer_id in customer_ids
        ],
        ignore_conflicts=True,
    )
    pending = list(
        Invitation.objects.filter(
            batch=batch, customer_id__in=customer_ids, state=InvitationState.PENDING
        )
        .select_related("customer", "survey")
        .order_by("pk")
    )
    # Set-based, a handful of queries per chunk: which customers still have an open
    # invitation to this survey, then every email rendered, queued and recorded at once.
    open_earlier = dict(
        Invitation.objects.filter(
            survey_id=survey.pk,
            customer_id__in=[invitation.customer_id for invitation in pending],
            state=InvitationState.SENT,
            expires_at__gt=now,
        )
        .exclude(pk__in=[invitation.pk for invitation in pending])
        .values("customer_id")
        .annotate(first=Min("pk"))
        .values_list("customer_id", "first")
    )
    changed: list[Invitation] = []
    to_send: list[tuple[Invitation, MessageSpec]] = []
    for invitation in pending:
        customer = invitation.customer
        invitation.updated_at = now
        changed.append(invitation)
        if not customer.email:
            invitation.state = InvitationState.SKIPPED
            invitation.reason = "The customer has no email address."
            continue
        if customer.pk in open_earlier:
            invitation.state = InvitationState.SKIPPED
            invitation.reason = (
                f"An earlier invitation to this survey (#{open_earlier[customer.pk]}) is "
                "still open."
            )
            continue
        try:
            invitation.sent_at = now
            invitation.expires_at = now + timedelta(days=survey.expiry_days)
            subject, body_text, body_html = invitation_email(invitation)
        except Exception as error:  # one bad row must not stall the batch: it is recorded
            logger.exception("Survey invitation %s could not be rendered", invitation.pk)
            invitation.state = InvitationState.FAILED
            invitation.reason = f"{type(error).__name__}: {error}"[:500]
            continue
        to_send.append(
            (
                invitation,
                MessageSpec(
                    channel=Channel.EMAIL,
                    kind=MessageKind.TRANSACTIONAL,
                    to=customer.email,
                    subject=subject,
                    body_text=body_text,
                    body_html=body_html,
                    idempotency_key=f"survey-invitation:{invitation.pk}",
                    customer_id=customer.pk,
                ),
            )
        )
    message_ids = message_queue_many([spec for _, spec in to_send])
    for invitation, spec in to_send:
        invitation.message_id = message_ids[spec.idempotency_key]
        invitation.state = InvitationState.SENT
    Invitation.objects.bulk_update(
        changed, ["state", "reason", "message", "sent_at", "expires_at", "updated_at"]
    )
    # The chunk's emails go to the workers together, after the chunk commits.
    message_enqueue(message_ids=list(message_ids.values()))
    states = Counter(
        Invitation.objects.filter(batch=batch, customer_id__in=customer_ids).values_list(
            "state", flat=True
        )
    )
    _add_counts(batch, states)
    batch.processed += chunk.walked  # customers deleted since count as handled
    batch.cursor = chunk.last_id


def _add_counts(batch: SurveyBatch, states: Counter[str]) -> None:
    batch.sent += (
        states[InvitationState.SENT]
        + states[InvitationState.ANSWERED]
        + states[InvitationState.EXPIRED]
    )
    batch.skipped += states[InvitationState.SKIPPED]
    batch.failed += states[InvitationState.FAILED]


def _batch_finish(batch: SurveyBatch, *, now: datetime) -> None:
    """Recount from the invitations themselves, so that the final numbers are exact; `total`
    stays the number of customers fixed when the send was asked for."""
    states = Counter(
        dict(
            Invitation.objects.filter(batch=batch)
            .order_by()
            .values_list("state")
            .annotate(n=Count("pk"))
            .values_list("state", "n")
        )
    )
    batch.sent = batch.skipped = batch.failed = 0
    _add_counts(batch, states)
    batch.processed = batch.total  # every customer of the fixed audience has been handled
    batch.state = SurveyBatch.State.DONE
    batch.finished_at = now


def survey_batch_run(
    *, batch_id: int, time_budget: float = BATCH_TIME_BUDGET_SECONDS
) -> SurveyBatch | None:
    """Work through a bulk send chunk by chunk until it is done or `time_budget` seconds have
    passed; the caller hands a batch still running to a new task."""
    deadline = time.monotonic() + time_budget
    while True:
        batch = survey_batch_step(batch_id=batch_id)
        if batch is None or not batch.is_running or time.monotonic() >= deadline:
            return batch


def survey_batch_fail(*, batch_id: int, error: str) -> None:
    """Give up on a bulk send after its task's last retry; what was sent stays sent."""
    SurveyBatch.objects.filter(
        pk=batch_id, state__in=[SurveyBatch.State.QUEUED, SurveyBatch.State.SENDING]
    ).update(
        state=SurveyBatch.State.FAILED,
        error=error[:2000],
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def survey_batches_resume(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Hand again to the workers the bulk sends that stopped moving (a lost task); how many.

    Safe to run while a task still works on one: the chunks take turns on the batch's lock.
    """
    stale = list(
        SurveyBatch.objects.filter(
            state__in=[SurveyBatch.State.QUEUED, SurveyBatch.State.SENDING],
            updated_at__lt=timezone.now() - older_than,
        ).values_list("pk", flat=True)[:1000]
    )
    if stale:
        SurveyBatch.objects.filter(pk__in=stale).update(updated_at=timezone.now())
        with transaction.atomic():
            for batch_id in stale:
                survey_batch_enqueue(batch_id=batch_id)
    return len(stale)
