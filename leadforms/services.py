"""Writes for lead forms: building a form, taking a submission, confirming a double opt-in.

`form_submit` is the one path a submission takes, from the public page, an embed or the API:
validate everything first (nothing is written for bad input), then in one transaction match
the customer by email (case-insensitive) or create them in Attract, store the submission,
settle consent and emit `form.submitted`. Anyone can type anyone's email, so an existing
customer only gains (empty fields filled, new attribute keys, tags) and their consent is never
granted nor their unsubscribe lifted but by a confirmation link sent to their own address.
"""

from __future__ import annotations

import enum
import re
from datetime import timedelta
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from common.events import event_emit
from common.exceptions import ApplicationError, InvalidFieldsError
from common.validators import text_errors
from consent.models import ConsentMethod
from consent.services import consent_record, suppression_of
from customers.models import Customer
from customers.services import (
    customer_create,
    customer_email_lock,
    customer_update,
    normalize_tags,
)
from leadforms.events import EVENT_FORM_SUBMITTED
from leadforms.models import LeadForm, Submission, SubmissionState
from leadforms.tokens import confirm_url
from messaging.models import Channel, MessageKind
from messaging.services import message_queue
from stages.models import ActorKind

Errors = dict[str, list[str]]

FIELD_TYPES = ("text", "email", "tel", "textarea", "select", "checkbox")
CUSTOMER_FIELDS = {"first_name": 150, "last_name": 150, "phone": 32, "company": 200}
UTM_FIELDS = {
    "utm_source": 100,
    "utm_medium": 100,
    "utm_campaign": 200,
    "utm_term": 200,
    "utm_content": 200,
}


# At most one confirmation email per customer in this time (`_confirmation_send`).
CONFIRMATION_QUIET = timedelta(hours=24)


class UtmValues(TypedDict):
    """A submission's campaign parameters, cut to the customer fields' lengths (UTM_FIELDS)."""

    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str


EMAIL_FIELD = "email"
CONSENT_FIELD = "consent"
# Hidden from people (CSS, aria-hidden, tabindex -1); bots fill it in.
HONEYPOT_FIELD = "website"
RESERVED_NAMES = {EMAIL_FIELD, CONSENT_FIELD, HONEYPOT_FIELD, "referrer", *UTM_FIELDS}
MAX_FIELDS = 30
MAX_LENGTH = {"textarea": 5000}
DEFAULT_MAX_LENGTH = 500
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_TEL = re.compile(r"^\+?[0-9\s().\-/]{5,32}$")
TRUE_VALUES = {"on", "true", "1", "yes"}
FORM_EDITABLE = (
    "name",
    "slug",
    "is_active",
    "fields",
    "consent_text",
    "double_opt_in",
    "success_message",
    "redirect_url",
    "tags",
    "default_source",
)


class InvalidInputError(InvalidFieldsError):
    """Several fields at fault at once: `errors` maps each (or its path) to its messages."""


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


# --- building forms ------------------------------------------------------------------------------


def fields_validate(fields: Any) -> tuple[list[dict[str, Any]], Errors]:
    """Check a form's field list; returns it cleaned and the errors keyed by path
    (`fields[2].maps_to`)."""
    errors: Errors = {}
    if not isinstance(fields, list):
        return [], {"fields": ["Give a list of fields."]}
    # First, and alone: a NUL or lone surrogate cannot be stored, nor shown in a message
    # quoting it (an unknown setting's name).
    unstorable = text_errors(fields, path="fields")
    if unstorable:
        return [], unstorable
    if len(fields) > MAX_FIELDS:
        _add(errors, "fields", f"A form has at most {MAX_FIELDS} fields besides the email.")
    clean: list[dict[str, Any]] = []
    seen_names: set[str] = set()
    seen_targets: set[str] = set()
    for index, spec in enumerate(fields):
        path = f"fields[{index}]"
        if not isinstance(spec, dict):
            _add(errors, path, "Each field is an object with name, label, type…")
            continue
        unknown = set(spec) - {"name", "label", "type", "required", "maps_to", "choices"}
        for key in sorted(unknown):
            _add(errors, f"{path}.{key}", f"Unknown setting '{key}'.")
        name = spec.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            _add(errors, f"{path}.name", "Use lower-case letters, digits and _ (start a letter).")
        elif name in RESERVED_NAMES:
            _add(errors, f"{path}.name", f"'{name}' is reserved; choose another name.")
        elif name in seen_names:
            _add(errors, f"{path}.name", f"Another field is already named '{name}'.")
        else:
            seen_names.add(name)
        label = spec.get("label", name)
        if not isinstance(label, str) or not label.strip() or len(label) > 200:
            _add(errors, f"{path}.label", "Give a label of up to 200 characters.")
        kind = spec.get("type", "text")
        if kind not in FIELD_TYPES:
            _add(errors, f"{path}.type", f"Use one of: {', '.join(FIELD_TYPES)}.")
        required = spec.get("required", False)
        if not isinstance(required, bool):
            _add(errors, f"{path}.required", "Use true or false.")
        maps_to = spec.get("maps_to", "")
        if not isinstance(maps_to, str):
            _add(errors, f"{path}.maps_to", "Give a customer field or attributes.<key>.")
            maps_to = ""
        elif maps_to and maps_to not in CUSTOMER_FIELDS:
            key = maps_to.removeprefix("attributes.")
            if not maps_to.startswith("attributes.") or not _NAME.match(key):
                _add(
                    errors,
                    f"{path}.maps_to",
                    f"Use one of {', '.join(CUSTOMER_FIELDS)} or attributes.<key> "
                    "(lower-case letters, digits, _).",
                )
        if maps_to in seen_targets:
            _add(errors, f"{path}.maps_to", f"Another field already fills '{maps_to}'.")
        elif maps_to:
            seen_targets.add(maps_to)
        if maps_to in CUSTOMER_FIELDS and kind == "checkbox":
            _add(errors, f"{path}.maps_to", "A checkbox can only fill an attribute.")
        choices = spec.get("choices", [])
        if kind == "select":
            if (
                not isinstance(choices, list)
                or not choices
                or not all(isinstance(c, str) and c.strip() for c in choices)
            ):
                _add(errors, f"{path}.choices", "A select needs a list of non-empty choices.")
        elif choices:
            _add(errors, f"{path}.choices", "Only a select has choices.")
        clean.append(
            {
                "name": name,
                "label": label.strip() if isinstance(label, str) else label,
                "type": kind,
                "required": required,
                "maps_to": maps_to,
                **({"choices": choices} if kind == "select" else {}),
            }
        )
    return clean, errors


def _form_clean(data: dict[str, Any], *, instance: LeadForm | None) -> tuple[dict, Errors]:
    errors: Errors = {}
    clean: dict[str, Any] = {}
    unstorable = text_errors(data)
    if unstorable:
        return clean, unstorable
    unknown = set(data) - set(FORM_EDITABLE)
    for key in sorted(unknown):
        _add(errors, key, "Unknown field.")
    if "name" in data or instance is None:
        name = data.get("name") or ""
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
            _add(errors, "name", "Give a name of up to 200 characters.")
            name = ""
        clean["name"] = name.strip()
    if "slug" in data or instance is None:
        given = data.get("slug") or clean.get("name") or ""
        slug = slugify(given)[:80] if isinstance(given, str) else ""
        if not slug:
            _add(errors, "slug", "Give a slug (letters, digits, hyphens).")
        else:
            taken = LeadForm.objects.filter(slug=slug)
            if instance is not None:
                taken = taken.exclude(pk=instance.pk)
            if taken.exists():
                _add(errors, "slug", f"Another form already uses the slug '{slug}'.")
        clean["slug"] = slug
    if "fields" in data:
        clean["fields"], field_errors = fields_validate(data["fields"])
        errors.update(field_errors)
    for key in ("is_active", "double_opt_in"):
        if key in data:
            if not isinstance(data[key], bool):
                _add(errors, key, "Use true or false.")
            clean[key] = data[key]
    for key, limit in (("consent_text", 500), ("success_message", 500), ("default_source", 100)):
        if key in data:
            value = data[key] if data[key] is not None else ""
            if not isinstance(value, str) or len(value) > limit:
                _add(errors, key, f"Give text of up to {limit} characters.")
            clean[key] = value.strip() if isinstance(value, str) else value
    if "redirect_url" in data:
        url = data["redirect_url"] or ""
        if not isinstance(url, str):
            _add(errors, "redirect_url", "Give an http:// or https:// address.")
            url = ""
        url = url.strip()
        if url:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except ValidationError:
                _add(errors, "redirect_url", "Give an http:// or https:// address.")
        clean["redirect_url"] = url
    if "tags" in data:
        tags = data["tags"] or []
        if not isinstance(tags, list) or not all(isinstance(t, str) and len(t) <= 50 for t in tags):
            _add(errors, "tags", "Give a list of tags of up to 50 characters each.")
        else:
            clean["tags"] = normalize_tags(tags)
    double_opt_in = clean.get("double_opt_in", getattr(instance, "double_opt_in", False))
    consent_text = clean.get("consent_text", getattr(instance, "consent_text", ""))
    if double_opt_in and not consent_text:
        _add(errors, "double_opt_in", "Double opt-in needs a consent checkbox: give its text.")
    return clean, errors


def form_create(**data: Any) -> LeadForm:
    """Create a lead form; InvalidInputError names every field at fault."""
    clean, errors = _form_clean(data, instance=None)
    if errors:
        raise InvalidInputError(errors)
    return LeadForm.objects.create(**clean)


def form_update(*, form: LeadForm, data: dict[str, Any]) -> LeadForm:
    clean, errors = _form_clean(data, instance=form)
    if errors:
        raise InvalidInputError(errors)
    for key, value in clean.items():
        setattr(form, key, value)
    form.save()
    return form


def form_delete(*, form: LeadForm) -> None:
    """Delete a form nobody has submitted; one with submissions is deactivated instead."""
    if form.submissions.exists():
        raise ApplicationError(
            "The form has submissions; deactivate it instead (is_active: false).",
            field="non_field_errors",
        )
    form.delete()


# --- submitting ----------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in TRUE_VALUES


def submission_validate(*, form: LeadForm, data: dict[str, Any]) -> tuple[dict[str, Any], Errors]:
    """The submitted values cleaned (email, each field, consent), and the errors by field."""
    errors: Errors = {}
    clean: dict[str, Any] = {}
    email = _text(data.get(EMAIL_FIELD))
    if not email:
        _add(errors, EMAIL_FIELD, "Enter your email address.")
    else:
        try:
            validate_email(email)
            if len(email) > 254:
                raise ValidationError("too long")
        except ValidationError:
            _add(errors, EMAIL_FIELD, "Enter a valid email address.")
    clean[EMAIL_FIELD] = email or ""
    for spec in form.fields:
        name, kind = spec["name"], spec["type"]
        raw = data.get(name)
        if kind == "checkbox":
            ticked = _truthy(raw)
            if spec.get("required") and not ticked:
                _add(errors, name, "Tick this box to continue.")
            clean[name] = ticked
            continue
        value = _text(raw)
        if value is None:
            _add(errors, name, "Give text.")
            continue
        clean[name] = value
        if not value:
            if spec.get("required"):
                _add(errors, name, "This field is required.")
            continue
        limit = CUSTOMER_FIELDS.get(spec.get("maps_to", ""), MAX_LENGTH.get(kind, 500))
        if len(value) > limit:
            _add(errors, name, f"Use at most {limit} characters.")
        elif kind == "email":
            try:
                validate_email(value)
            except ValidationError:
                _add(errors, name, "Enter a valid email address.")
        elif kind == "tel" and not _TEL.match(value):
            _add(errors, name, "Enter a phone number (digits, spaces, + and dashes).")
        elif kind == "select" and value not in spec.get("choices", []):
            _add(errors, name, "Choose one of the options.")
    clean[CONSENT_FIELD] = bool(form.consent_text) and _truthy(data.get(CONSENT_FIELD))
    return clean, errors


def _customer_values(form: LeadForm, clean: dict[str, Any]) -> tuple[dict, dict]:
    """The customer fields and attributes the submission fills (empty input fills nothing)."""
    fields: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for spec in form.fields:
        target, value = spec.get("maps_to"), clean.get(spec["name"])
        if not target or value in ("", None, False):
            continue
        if target in CUSTOMER_FIELDS:
            fields[target] = value
        else:
            attributes[target.removeprefix("attributes.")] = value
    return fields, attributes


def _utm_clean(utm: dict[str, str] | None) -> UtmValues:
    given = utm or {}

    def value(key: str) -> str:
        return str(given.get(key) or "").strip()[: UTM_FIELDS[key]]

    return UtmValues(
        utm_source=value("utm_source"),
        utm_medium=value("utm_medium"),
        utm_campaign=value("utm_campaign"),
        utm_term=value("utm_term"),
        utm_content=value("utm_content"),
    )


def _confirmation_send(*, submission: Submission, customer: Customer, form: LeadForm) -> None:
    """Email the confirmation link to the customer's address on record, unless one went out
    in the last CONFIRMATION_QUIET: anybody can post anybody's email, and the form must not
    become a way to flood someone (who may have unsubscribed) with confirmation requests. The
    earlier link still confirms."""
    recent = Submission.objects.filter(
        customer=customer,
        state=SubmissionState.PENDING_CONFIRMATION,
        created_at__gte=timezone.now() - CONFIRMATION_QUIET,
    ).exclude(pk=submission.pk)
    if recent.exists():
        return
    url = confirm_url(submission.pk)
    message_queue(
        channel=Channel.EMAIL,
        kind=MessageKind.TRANSACTIONAL,  # the person asked for it, seconds ago
        to=customer.email,
        subject="Please confirm your subscription",
        body_text=(
            f'You signed up on our form "{form.name}" and asked to hear from us by email.\n\n'
            f"Please confirm by opening this link:\n{url}\n\n"
            "If this was not you, ignore this email: you will not be subscribed."
        ),
        idempotency_key=f"leadform-confirm:{submission.pk}",
        customer=customer,
    )


class ConsentStep(enum.Enum):
    """What a ticked consent box leads to (`_consent_step`)."""

    NOTHING = "nothing"  # the customer already consents
    GRANT = "grant"  # recorded at once, method form
    CONFIRM = "confirm"  # a confirmation email; consent once it is opened


# Fields a submission may fill on a customer who already exists, and only while they are empty.
# The phone is not among them: it is where we would reach the person, and an anonymous form
# cannot show that the number belongs to them. It stays on the submission for staff to apply.
FILL_WHEN_EMPTY = ("first_name", "last_name", "company")


def _existing_customer_additions(
    customer: Customer, form: LeadForm, fields: dict[str, Any], attributes: dict[str, Any]
) -> dict[str, Any]:
    """What a submission adds to a customer who already exists: empty fields of
    FILL_WHEN_EMPTY, attribute keys they do not have, the form's tags. Anyone can type anyone's
    email into a public form, so nothing the customer or staff recorded is overwritten; every
    submitted value stays on the Submission for staff to see and apply."""
    changes: dict[str, Any] = {
        name: value
        for name, value in fields.items()
        if name in FILL_WHEN_EMPTY and not getattr(customer, name)
    }
    current = customer.attributes or {}
    new_keys = {key: value for key, value in attributes.items() if key not in current}
    if new_keys:
        changes["attributes"] = {**current, **new_keys}
    if set(form.tags) - set(customer.tags):
        changes["tags"] = [*customer.tags, *form.tags]
    return changes


def _consent_step(*, customer: Customer, form: LeadForm, created: bool) -> ConsentStep:
    """What a ticked consent box does for `customer`.

    Only a customer the form has just created, on a form without double opt-in, is granted at
    once. An existing customer's consent is theirs: the tick of an anonymous visitor who may
    not be them never grants it, and never lifts an unsubscribe or a suppression; a
    confirmation sent to the address on record does, once opened (`submission_confirm`). The
    same holds for a new customer whose address is suppressed.
    """
    suppressed = suppression_of(channel=Channel.EMAIL, address=customer.email) is not None
    if created and not form.double_opt_in and not suppressed:
        return ConsentStep.GRANT
    if not created and customer.email_consent and not suppressed:
        return ConsentStep.NOTHING
    return ConsentStep.CONFIRM


def form_submit(
    *,
    form: LeadForm,
    data: dict[str, Any],
    ip: str | None = None,
    user_agent: str = "",
    utm: dict[str, str] | None = None,
    referrer: str = "",
) -> Submission:
    """Take a submission: InvalidInputError (nothing written) or the stored Submission.

    A filled honeypot is stored as spam and does nothing else.
    """
    if not form.is_active:
        raise ApplicationError("This form is closed.", field="form")
    utm_values = _utm_clean(utm)
    where = {
        "ip": ip or None,
        "user_agent": (user_agent or "")[:400],
        "referrer": (referrer or "")[:1000],
        **utm_values,
    }
    if _text(data.get(HONEYPOT_FIELD)):
        known = {EMAIL_FIELD, CONSENT_FIELD, HONEYPOT_FIELD, *(s["name"] for s in form.fields)}
        kept = {k: str(v)[:500] for k, v in data.items() if k in known}
        return Submission.objects.create(form=form, data=kept, state=SubmissionState.SPAM, **where)
    clean, errors = submission_validate(form=form, data=data)
    if errors:
        raise InvalidInputError(errors)
    fields, attributes = _customer_values(form, clean)
    with transaction.atomic():
        # Two posts of a new address at once: the second waits and adds to the customer the
        # first created, rather than losing its submission on the unique email.
        customer_email_lock(email=clean[EMAIL_FIELD])
        customer = (
            Customer.objects.select_for_update().filter(email__iexact=clean[EMAIL_FIELD]).first()
        )
        created = customer is None
        if customer is None:
            customer = customer_create(
                email=clean[EMAIL_FIELD],
                actor_kind=ActorKind.SYSTEM,
                entry_reason=f"Form {form.name}",
                source=(form.default_source or utm_values["utm_source"] or "form")[:100],
                tags=list(form.tags),
                attributes=attributes,
                **fields,
                **utm_values,
            )
        else:
            customer_update(
                customer=customer,
                data=_existing_customer_additions(customer, form, fields, attributes),
            )
        wants_consent = clean[CONSENT_FIELD]
        step = (
            _consent_step(customer=customer, form=form, created=created)
            if wants_consent
            else ConsentStep.NOTHING
        )
        submission = Submission.objects.create(
            form=form,
            data=clean,
            customer=customer,
            created_customer=created,
            consent_given=wants_consent,
            state=(
                SubmissionState.PENDING_CONFIRMATION
                if step == ConsentStep.CONFIRM
                else SubmissionState.ACCEPTED
            ),
            **where,
        )
        if step == ConsentStep.CONFIRM:
            _confirmation_send(submission=submission, customer=customer, form=form)
        elif step == ConsentStep.GRANT:
            consent_record(
                customer=customer,
                channel=Channel.EMAIL,
                granted=True,
                method=ConsentMethod.FORM,
                source=f"form:{form.slug}",
                ip=ip,
                user_agent=user_agent,
            )
        event_emit(
            EVENT_FORM_SUBMITTED,
            {
                "customer_id": customer.pk,
                "form_id": form.pk,
                "form_slug": form.slug,
                "submission_id": submission.pk,
            },
        )
    return submission


def submission_confirm(
    *, submission: Submission, ip: str | None = None, user_agent: str = ""
) -> Submission:
    """The confirmation link was opened and confirmed: record the consent (method
    double_opt_in), once.

    The person has shown they read the mailbox of the address, so this also lifts its
    unsubscribe suppression (`consent_record`). If the customer's address has changed since
    the email was sent, the link no longer proves anything and changes nothing.
    """
    with transaction.atomic():
        locked = Submission.objects.select_for_update().select_related("form").get(pk=submission.pk)
        if locked.state != SubmissionState.PENDING_CONFIRMATION or locked.customer_id is None:
            return locked
        customer = Customer.objects.get(pk=locked.customer_id)
        if customer.email.lower() != str(locked.data.get(EMAIL_FIELD, "")).lower():
            return locked
        consent_record(
            customer=customer,
            channel=Channel.EMAIL,
            granted=True,
            method=ConsentMethod.DOUBLE_OPT_IN,
            source=f"form:{locked.form.slug}",
            ip=ip,
            user_agent=user_agent,
        )
        locked.state = SubmissionState.CONFIRMED
        locked.confirmed_at = timezone.now()
        locked.save(update_fields=["state", "confirmed_at"])
    return locked
